"""Where isort (ruff's ``I001``, default settings) would put the wrapper's new from-import.

The answer is only given when it is certain: the module's leading import block must already be
sorted as isort sorts it (sections future, standard library, third party, first party, local
folder, one blank line apart; ``import x`` before ``from x import y`` in a section, modules in
order, one statement per line, no comments inside the block), before and after the fixes
removed imports. The wrapper module is first party, except ``rqjobs``, which is third party.
Which section the other imports belong to is learnt from the block itself: ``rq``, ``redis``
and ``rqjobs`` are third party, the wrapper's package is first party, and when two groups sit
between the standard library and the local imports, the first is third party and the second
first party. Whenever that leaves a doubt, :func:`placement` returns None and the caller keeps
its simple placement (after the leading imports).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

import libcst as cst

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)


def _stdlib_names() -> FrozenSet[str]:
    """Top-level standard-library module names (``sys.stdlib_module_names`` from Python 3.10;
    on 3.9, the modules in the interpreter's stdlib folder plus the built-in ones)."""
    names = getattr(sys, "stdlib_module_names", None)
    if names:
        return frozenset(names)
    import os
    import pkgutil
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    folders = [stdlib, os.path.join(stdlib, "lib-dynload")]
    found = {module.name for module in pkgutil.iter_modules(folders)}
    return frozenset(found | set(sys.builtin_module_names))


STDLIB_NAMES: FrozenSet[str] = _stdlib_names()
KNOWN_THIRD_PARTY: FrozenSet[str] = frozenset({"rq", "redis", "rqjobs"})
WRAPPER = "rqjobs"


@dataclass
class _Entry:
    index: int  # position in module.body
    is_from: bool
    module: str  # dotted module ("" for ``from . import x``)
    level: int  # relative dots
    members: Tuple[str, ...]  # imported names (from-imports)

    @property
    def top(self) -> str:
        return self.module.split(".")[0]

    @property
    def key(self) -> Tuple[int, int, str, str]:
        return (int(self.is_from), -self.level, self.module.lower(), self.module)


@dataclass
class Placement:
    """Insert the new line before ``module.body[index]``.

    ``blank_before``: it starts a section after another (one blank line before it);
    ``takeover``: it goes first, before ``body[index]``, and takes that line's leading blank
    lines; ``body[index]`` then gets none (``"same"`` section) or one (``"separate"``);
    ``last``: it ends the import block, so the next statement gets the blank lines isort
    wants after imports.
    """

    index: int
    blank_before: bool = False
    takeover: Optional[str] = None
    last: bool = False


def member_key(name: str) -> Tuple[int, str, str]:
    """isort's order of imported names: CONSTANTS, Classes, then the rest, case-insensitive."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name)


def _dotted(node: Optional[cst.BaseExpression]) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _is_blank(line: cst.EmptyLine) -> bool:
    return line.comment is None


def _entry(index: int, statement: cst.BaseStatement) -> Optional[_Entry]:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        if len(small.names) != 1:
            return None
        return _Entry(index, False, _dotted(small.names[0].name), 0, ())
    if isinstance(small, cst.ImportFrom):
        if isinstance(small.names, cst.ImportStar):
            members: Tuple[str, ...] = ("*",)
        else:
            members = tuple(_dotted(alias.name) for alias in small.names)
        return _Entry(index, True, _dotted(small.module), len(small.relative), members)
    return None


def _leading_groups(module: cst.Module) -> Optional[Tuple[int, int, List[List[_Entry]]]]:
    """(first index, end index, groups) of the leading import block, or None when it is not
    one statement per line, separated into groups by single blank lines, without comments
    (above its first line is fine)."""
    body = module.body
    start = 1 if body and _is_docstring(body[0]) else 0
    end = start
    groups: List[List[_Entry]] = []
    while end < len(body) and _is_import_statement(body[end]):
        entry = _entry(end, body[end])
        if entry is None:
            return None
        lines = body[end].leading_lines
        if end > start:
            if any(not _is_blank(line) for line in lines) or len(lines) > 1:
                return None
            if lines:
                groups.append([])
        if not groups:
            groups.append([])
        groups[-1].append(entry)
        end += 1
    return start, end, groups


def _is_import_statement(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
    )


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _fixed_section(entry: _Entry) -> Optional[int]:
    if entry.level:
        return LOCAL
    if entry.top == "__future__":
        return FUTURE
    if entry.top in STDLIB_NAMES:
        return STDLIB
    return None


def _sections(groups: Sequence[List[_Entry]], known: Dict[str, int]) -> Optional[List[int]]:
    """The section of each group, or None when the block is not sorted or a section is
    unknown. ``known`` (top-level name -> section) is extended with what is learnt."""
    result: List[Optional[int]] = []
    for group in groups:
        keys = [entry.key for entry in group]
        if any(a >= b for a, b in zip(keys, keys[1:])):
            return None  # out of order, or two lines for one module
        for entry in group:
            members = [member_key(m) for m in entry.members]
            if members != sorted(members) or len(set(members)) != len(members):
                return None
        fixed = {_fixed_section(entry) for entry in group}
        if len(fixed) != 1:
            return None  # a section mixed with another
        section = fixed.pop()
        if section is None:
            guesses = {known[e.top] for e in group if e.top in known}
            if len(guesses) > 1:
                return None
            section = guesses.pop() if guesses else None
        result.append(section)
    others = [i for i, section in enumerate(result) if section in (None, THIRD_PARTY, FIRST_PARTY)]
    if len(others) > 2:
        return None
    if len(others) == 2:
        first, second = others
        if result[first] == FIRST_PARTY or result[second] == THIRD_PARTY:
            return None
        result[first], result[second] = THIRD_PARTY, FIRST_PARTY
    if any(section is None for section in result):
        return None
    sections = [s for s in result if s is not None]
    if any(a >= b for a, b in zip(sections, sections[1:])):
        return None  # sections out of order
    for group, section in zip(groups, sections):
        if section in (THIRD_PARTY, FIRST_PARTY):
            for entry in group:
                known.setdefault(entry.top, section)
    return sections


def _seeds(wrapper: str) -> Dict[str, int]:
    known = {name: THIRD_PARTY for name in KNOWN_THIRD_PARTY}
    top = wrapper.split(".")[0]
    if top != WRAPPER:
        known[top] = FIRST_PARTY
    return known


def placement(original: cst.Module, module: cst.Module, wrapper: str) -> Optional[Placement]:
    """Where to insert ``from <wrapper> import ...`` in ``module`` (the fixed ``original``)
    so that isort accepts the block; None when that is not certain."""
    if not STDLIB_NAMES:
        return None  # Python < 3.10: no list of the standard library's modules
    known = _seeds(wrapper)
    before = _leading_groups(original)
    if before is None or _sections(before[2], known) is None:
        return None
    after = _leading_groups(module)
    if after is None:
        return None
    start, end, groups = after
    sections = _sections(groups, known)
    if sections is None:
        return None
    target = THIRD_PARTY if wrapper.split(".")[0] == WRAPPER else FIRST_PARTY
    new = _Entry(-1, True, wrapper, 0, ())
    for group, section in zip(groups, sections):
        if section != target:
            continue
        if any(entry.key == new.key for entry in group):
            return None  # two lines for one module: not sorted
        later = [entry for entry in group if entry.key > new.key]
        if not later:
            index = group[-1].index + 1
            return Placement(index, last=index == end)
        if later[0] is group[0]:
            return _takeover(module, later[0].index, "same")
        return Placement(later[0].index)
    lower = [group for group, section in zip(groups, sections) if section < target]
    if lower:
        index = lower[-1][-1].index + 1
        return Placement(index, blank_before=True, last=index == end)
    if groups:
        return _takeover(module, start, "separate")
    return Placement(start, blank_before=start > 0, last=True)


def _takeover(module: cst.Module, index: int, gap: str) -> Optional[Placement]:
    """Go first, before ``body[index]``, unless comments above it would then sit above the
    new line (they may be about that import only)."""
    if any(not _is_blank(line) for line in module.body[index].leading_lines):
        return None
    return Placement(index, takeover=gap)


def blank_lines_after_imports(statement: cst.BaseStatement) -> int:
    """Blank lines isort wants between the import block and ``statement``."""
    return 2 if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else 1
