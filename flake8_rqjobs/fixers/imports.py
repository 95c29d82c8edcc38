"""After the fixes: import the wrapper's names once, drop what the fixes left unused.

- :func:`remove_unused` deletes the assignments of connection, URL and queue variables that a
  fix made unused (only those the fixers marked as side-effect free), then the import aliases
  that no code reads any more. Only names that were read before the fix and are not read after
  it are touched, and never a name listed in ``__all__``. Which names are read, bound and
  imported is the linter's scope model of the file before and after the fix
  (:class:`Snapshot`).
- :func:`add_wrapper_imports` adds ``from <wrapper> import get_redis, enqueue`` (or extends an
  existing ``from <wrapper> import ...``, keeping its names sorted when they were). When the
  module's leading imports are sorted as isort sorts them, the new line goes where isort
  would put it (:mod:`.import_order`); otherwise after the leading imports, so that it
  always comes before the first use. Existing lines are never moved or reformatted.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

import libcst as cst

from flake8_rqjobs.fixers.import_order import blank_lines_after_imports, member_key, placement
from flake8_rqjobs.fixers.plan import Plan, apply
from flake8_rqjobs.fixers.positions import Positions, char_col
from flake8_rqjobs.names import BindingKind, BindingSite, FileModel, Scope, ScopeKind


@dataclass
class Snapshot:
    """A (fixed) module with the linter's scope model of its text and its positions."""

    module: cst.Module
    model: FileModel
    positions: Positions
    lines: Sequence[str]

    def statement(self, site: BindingSite) -> Optional[cst.SimpleStatementLine]:
        """The line that holds ``site``'s statement and nothing else."""
        node = site.node
        line = getattr(node, "lineno", 0)
        start = (line, char_col(self.lines, line, getattr(node, "col_offset", 0)))
        return self.positions.statements.get(start)


Snap = Callable[[cst.Module], Optional[Snapshot]]  # None: the text does not parse


def _unused(before: FileModel, after: FileModel, names: Set[str]) -> Set[str]:
    return {
        name
        for name in names
        if before.refs_by_name.get(name)
        and not after.refs_by_name.get(name)
        and name not in after.dunder_all
    }


_PURE_CALLS = {"os.getenv", "os.environ.get"}


def _pure(value: Optional[ast.AST], model: FileModel, scope: Scope, calls: Set[str]) -> bool:
    """Can this assigned value be dropped without losing a side effect?"""
    if isinstance(value, ast.Starred):
        value = value.value
    if isinstance(value, ast.Name):
        return True
    if isinstance(value, ast.Constant):
        return value.value is None or isinstance(value.value, (str, bytes, int))
    if isinstance(value, ast.Call):
        arguments = [*value.args, *(kw.value for kw in value.keywords)]
        func = value.func
        if (isinstance(func, ast.Name) and func.id in calls) or model.qualname(
            func, scope
        ) in _PURE_CALLS:
            return all(_pure(arg, model, scope, calls) for arg in arguments)
    if isinstance(value, ast.Subscript):
        return model.qualname(value.value, scope) == "os.environ"
    return False


def _removable(
    after: Snapshot, names: Set[str], pure_calls: Set[str], keep: FrozenSet[str]
) -> Plan:
    plan = Plan()
    for name in names:
        for scope in after.model.scopes:
            if scope.kind is ScopeKind.MODULE and name in keep:
                continue  # another file imports it
            sites = scope.sites.get(name, [])
            if len(sites) != 1 or sites[0].kind is not BindingKind.ASSIGN:
                continue
            statement = after.statement(sites[0])
            if statement is not None and _pure(sites[0].value, after.model, scope, pure_calls):
                plan.remove.add(id(statement))
    return plan


def remove_unused(
    module: cst.Module,
    before: FileModel,
    cleanup_names: Set[str],
    pure_calls: Set[str],
    snap: Snap,
    keep: FrozenSet[str] = frozenset(),
) -> Tuple[cst.Module, Optional[FileModel]]:
    """Remove assignments of ``cleanup_names`` and imports that the fix left unused.
    An assignment goes only when its value has no side effect (``pure_calls`` are the local
    names of the wrapper's functions, which only build lazy objects). ``snap`` gives the
    linter's model of a module's text. Returns the module and its model (name references are
    unchanged by removing imports; ``None`` when the fixed text does not parse)."""
    after = snap(module)
    for _ in range(3):  # a removed connection can leave its URL variable unused, and so on
        if after is None:
            return module, None
        plan = _removable(after, _unused(before, after.model, cleanup_names), pure_calls, keep)
        if not plan:
            break
        module = apply(module, plan, after.positions.parents)
        after = snap(module)
    if after is None:
        return module, None
    imported = {
        name
        for scope in after.model.scopes
        for name, sites in scope.sites.items()
        if any(site.kind is BindingKind.IMPORT for site in sites)
    }
    dead = _unused(before, after.model, imported)
    if dead:
        module = _remove_import_aliases(module, dead, after.positions)
    return module, after.model


def _alias_name(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    if isinstance(alias.name, cst.Name):
        return alias.name.value
    node: cst.BaseExpression = alias.name
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else ""


def _remove_import_aliases(module: cst.Module, dead: Set[str], positions: Positions) -> cst.Module:
    plan = Plan()
    for node in positions.import_lines:
        if len(node.body) != 1 or not isinstance(node.body[0], (cst.Import, cst.ImportFrom)):
            continue
        statement = node.body[0]
        names = statement.names
        if isinstance(names, cst.ImportStar):
            continue
        keep = [alias for alias in names if _alias_name(alias) not in dead]
        if len(keep) == len(names):
            continue
        if not keep:
            plan.remove.add(id(node))
            continue
        plan.replace[id(statement)] = _keeper([_alias_name(a) for a in keep])
    return apply(module, plan, positions.parents) if plan else module


def _keeper(keep: Sequence[str]) -> Callable[[cst.CSTNode], cst.CSTNode]:
    return lambda node: _keep_aliases(node, keep)


def _keep_aliases(node: cst.CSTNode, keep: Sequence[str]) -> cst.CSTNode:
    assert isinstance(node, (cst.Import, cst.ImportFrom))
    names = node.names
    assert not isinstance(names, cst.ImportStar)
    had_trailing = names[-1].comma is not cst.MaybeSentinel.DEFAULT
    kept = [alias for alias in names if _alias_name(alias) in keep]
    if not had_trailing or isinstance(node, cst.Import):
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return node.with_changes(names=kept)


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _is_future(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.ImportFrom)
        and isinstance(small.module, cst.Name)
        and small.module.value == "__future__"
        for small in statement.body
    )


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _module_dotted(node: Optional[cst.BaseExpression]) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return _module_dotted(node.value) + "." + node.attr.value
    return ""


def add_wrapper_imports(
    module: cst.Module,
    wrapper: str,
    names: Dict[str, str],
    original: Optional[cst.Module] = None,
) -> cst.Module:
    """Import ``names`` (wrapper name -> local name) from ``wrapper`` at module level,
    skipping those already imported. ``original`` is the module before the fixes: with it,
    the line goes where isort would put it when that is certain."""
    body = list(module.body)
    existing: Optional[int] = None
    present: Set[str] = set()
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.ImportFrom)
                and not small.relative
                and _module_dotted(small.module) == wrapper
                and not isinstance(small.names, cst.ImportStar)
            ):
                if existing is None and len(statement.body) == 1:
                    existing = index
                for alias in small.names:
                    imported = alias.name.value if isinstance(alias.name, cst.Name) else ""
                    if _alias_name(alias) == names.get(imported):
                        present.add(imported)
    wanted = [(name, local) for name, local in sorted(names.items()) if name not in present]
    if not wanted:
        return module
    aliases = [
        cst.ImportAlias(
            name=cst.Name(name),
            asname=cst.AsName(name=cst.Name(local)) if local != name else None,
        )
        for name, local in wanted
    ]
    if existing is not None:
        line = body[existing]
        assert isinstance(line, cst.SimpleStatementLine)
        small = line.body[0]
        assert isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
        old = list(small.names)
        trailing = old[-1].comma
        if _sorted_names(old) and "#" not in cst.Module([]).code_for_node(small):
            merged = _merge_sorted(old, aliases)
        elif isinstance(trailing, cst.Comma):
            # parenthesized with a trailing comma: keep one-per-line layout
            between = old[-2].comma if len(old) > 1 else cst.MaybeSentinel.DEFAULT
            sep = (
                between
                if isinstance(between, cst.Comma)
                else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
            merged = [
                *old[:-1],
                old[-1].with_changes(comma=sep),
                *[a.with_changes(comma=sep) for a in aliases[:-1]],
                aliases[-1].with_changes(comma=trailing),
            ]
        else:
            merged = [
                *old[:-1],
                old[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            ]
            for alias in aliases[:-1]:
                merged.append(
                    alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                )
            merged.append(aliases[-1])
        body[existing] = line.with_changes(body=[small.with_changes(names=merged)])
        return module.with_changes(body=body)
    for index, alias in enumerate(aliases[:-1]):
        aliases[index] = alias.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        )
    module_expr: cst.BaseExpression = cst.Name(wrapper.split(".")[0])
    for part in wrapper.split(".")[1:]:
        module_expr = cst.Attribute(value=module_expr, attr=cst.Name(part))
    new_line = cst.SimpleStatementLine(
        body=[cst.ImportFrom(module=module_expr, names=aliases)]  # type: ignore[arg-type]
    )
    place = placement(original, module, wrapper) if original is not None else None
    if place is not None:
        index = place.index
        if place.takeover is not None:
            follower = body[index]
            new_line = new_line.with_changes(leading_lines=follower.leading_lines)
            gap = [] if place.takeover == "same" else [cst.EmptyLine()]
            body[index] = follower.with_changes(leading_lines=gap)
        elif place.blank_before:
            new_line = new_line.with_changes(leading_lines=[cst.EmptyLine()])
        if place.last and index < len(body):
            body[index] = _with_blank_lines(body[index], blank_lines_after_imports(body[index]))
        body.insert(index, new_line)
        return module.with_changes(body=body)
    position = 0
    if body and _is_docstring(body[0]):
        position = 1
    while position < len(body) and _is_import_line(body[position]):
        position += 1
    if position > 0 and (not _is_import_line(body[position - 1]) or _is_future(body[position - 1])):
        new_line = new_line.with_changes(leading_lines=[cst.EmptyLine()])
    if position < len(body) and not body[position].leading_lines:
        # keep code visually apart from the import block
        body[position] = body[position].with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new_line)
    return module.with_changes(body=body)


def _alias_key(alias: cst.ImportAlias) -> Tuple[Tuple[int, str, str], str]:
    name = alias.name.value if isinstance(alias.name, cst.Name) else ""
    return member_key(name), _alias_name(alias)


def _sorted_names(aliases: Sequence[cst.ImportAlias]) -> bool:
    keys = [_alias_key(alias) for alias in aliases]
    return keys == sorted(keys)


def _merge_sorted(
    old: Sequence[cst.ImportAlias], new: Sequence[cst.ImportAlias]
) -> List[cst.ImportAlias]:
    """``old`` (sorted) with ``new`` inserted in order; the commas stay where they were (the
    last one, a trailing comma or none, stays last)."""
    merged = list(old)
    for alias in new:
        position = 0
        while position < len(merged) and _alias_key(merged[position]) <= _alias_key(alias):
            position += 1
        merged.insert(position, alias)
    between = next(
        (a.comma for a in old[:-1] if isinstance(a.comma, cst.Comma)),
        cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
    )
    commas = [a.comma for a in old[:-1]] + [between] * len(new) + [old[-1].comma]
    return [alias.with_changes(comma=comma) for alias, comma in zip(merged, commas)]


_Statement = Union[cst.SimpleStatementLine, cst.BaseCompoundStatement]  # a module-level one


def _with_blank_lines(statement: _Statement, count: int) -> _Statement:
    """``statement`` with exactly ``count`` blank lines before it (and before its comments)."""
    lines = list(statement.leading_lines)
    blank = 0
    while blank < len(lines) and lines[blank].comment is None:
        blank += 1
    return statement.with_changes(leading_lines=[cst.EmptyLine()] * count + lines[blank:])


def wrapper_imports(local_names: Dict[str, Optional[str]], needed: Set[str]) -> Dict[str, str]:
    return {name: local for name, local in local_names.items() if local and name in needed}


__all__: List[str] = ["add_wrapper_imports", "remove_unused", "wrapper_imports"]
