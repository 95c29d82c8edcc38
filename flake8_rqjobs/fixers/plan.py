"""A fix plan and the one transformer that applies it.

Fixers never transform the tree themselves: they look at the original tree (with positions)
and record what to do, keyed by the *original* node (libcst metadata and identity are only
valid on the original tree; libcst#882). :class:`Applier` then makes one pass:

- ``replace``: a function of the *updated* node, so that nested fixes compose (a fixed
  ``Redis.from_url`` inside an argument of a fixed ``enqueue`` survives);
- ``remove``: statements to delete. Their comments are never dropped: they move to the next
  statement (or the block footer), and a block that becomes empty gets ``pass``;
- ``unwrap``: ``try``/``finally`` statements replaced by their body, whose statements move up
  one level; comments of the removed parts are kept around the moved body;
- ``drop_finally``: ``try``/``except``/``finally`` statements that lose their ``finally``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Set, Union

import libcst as cst

Rewrite = Callable[[cst.CSTNode], cst.CSTNode]
Block = Union[cst.Module, cst.IndentedBlock]


@dataclass
class Plan:
    replace: Dict[int, Rewrite] = field(default_factory=dict)
    remove: Set[int] = field(default_factory=set)
    unwrap: Set[int] = field(default_factory=set)
    drop_finally: Set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.replace or self.remove or self.unwrap or self.drop_finally)


def leading(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    """The blank and comment lines above a statement (every statement class has them)."""
    lines: Sequence[cst.EmptyLine] = getattr(statement, "leading_lines", ())
    return lines


def comment_line(comment: cst.Comment) -> cst.EmptyLine:
    return cst.EmptyLine(indent=True, whitespace=cst.SimpleWhitespace(""), comment=comment)


def comments_of(lines: Sequence[cst.EmptyLine]) -> List[cst.EmptyLine]:
    return [line for line in lines if line.comment is not None]


def header_comment(header: cst.TrailingWhitespace) -> List[cst.EmptyLine]:
    return [comment_line(header.comment)] if header.comment is not None else []


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: List[cst.Comment] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.found.append(node)


def all_comments(node: cst.CSTNode) -> List[cst.Comment]:
    """Every comment inside ``node``, in source order."""
    collector = _CommentCollector()
    node.visit(collector)
    return collector.found


def trailing_comments(statement: cst.BaseStatement) -> List[cst.EmptyLine]:
    """The comments of a statement other than its leading lines, as standalone lines
    (including those inside a multi-line call or a parenthesized import)."""
    own = {id(line.comment) for line in leading(statement) if line.comment is not None}
    return [comment_line(c) for c in all_comments(statement) if id(c) not in own]


def finally_comments(node: cst.Finally) -> List[cst.EmptyLine]:
    return [comment_line(c) for c in all_comments(node)]


def lost_comments(before: cst.CSTNode, after: cst.CSTNode) -> List[cst.Comment]:
    """Comments of ``before`` that ``after`` no longer has (by text, with multiplicity)."""
    kept = Counter(c.value for c in all_comments(after))
    lost = []
    for comment in all_comments(before):
        if kept[comment.value]:
            kept[comment.value] -= 1
        else:
            lost.append(comment)
    return lost


class Applier(cst.CSTTransformer):
    def __init__(self, plan: Plan, needed: Optional[Set[int]] = None) -> None:
        super().__init__()
        self.plan = plan
        self.needed = needed
        # comments of rewritten expressions, waiting for their statement
        self.orphans: List[cst.Comment] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Subtrees without planned nodes are kept as they are, unvisited: much faster.
        if self.needed is not None and id(node) not in self.needed:
            return False
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[no-untyped-def]
        updated = super().on_leave(original_node, updated_node)
        if isinstance(updated, (cst.Module, cst.IndentedBlock)) and isinstance(
            original_node, (cst.Module, cst.IndentedBlock)
        ):
            updated = self._rebuild(original_node, updated)
        if isinstance(updated, cst.Try) and id(original_node) in self.plan.drop_finally:
            updated = self._drop_finally(updated)
        rewrite = self.plan.replace.get(id(original_node))
        if rewrite is not None and isinstance(updated, cst.CSTNode):
            rewritten = rewrite(updated)
            if not isinstance(updated, cst.FunctionDef):  # a deprecated body goes whole
                self.orphans += lost_comments(updated, rewritten)
            updated = rewritten
        if self.orphans and isinstance(
            updated, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
        ):
            lines = [comment_line(c) for c in self.orphans]
            self.orphans = []
            updated = updated.with_changes(leading_lines=[*leading(updated), *lines])
        return updated

    # --- blocks ---------------------------------------------------------------------
    def _rebuild(self, original: Block, updated: Block) -> Block:
        plan = self.plan
        originals = list(original.body)
        updates = list(updated.body)
        if len(originals) != len(updates):  # pragma: no cover - never happens by design
            raise RuntimeError("statement count changed during the fix")
        if not any(id(o) in plan.remove or id(o) in plan.unwrap for o in originals):
            return updated
        body: List[cst.BaseStatement] = []
        pending: List[cst.EmptyLine] = []
        for old, new in zip(originals, updates):
            if id(old) in plan.remove:
                pending += [*leading(new), *trailing_comments(new)]
                continue
            if id(old) in plan.unwrap and isinstance(new, cst.Try):
                moved = list(new.body.body) if isinstance(new.body, cst.IndentedBlock) else []
                head = list(leading(new))
                if isinstance(new.body, cst.IndentedBlock):
                    head += header_comment(new.body.header)
                tail: List[cst.EmptyLine] = []
                if isinstance(new.body, cst.IndentedBlock):
                    tail += comments_of(new.body.footer)
                if new.finalbody is not None:
                    tail += finally_comments(new.finalbody)
                if moved:
                    moved[0] = _prepend(moved[0], pending + head)
                    pending = []
                    body.extend(moved)
                    pending = tail
                else:  # pragma: no cover - a try body is never empty
                    pending += head + tail
                continue
            body.append(_prepend(new, pending) if pending else new)
            pending = []
        if isinstance(updated, cst.IndentedBlock):
            if not body:
                body = [cst.SimpleStatementLine([cst.Pass()], leading_lines=pending)]
                pending = []
            return updated.with_changes(body=body, footer=[*pending, *updated.footer])
        if body and body[0] is not updates[0]:
            # the module's first statements went: do not start the file with blank lines
            lines = list(leading(body[0]))
            while lines and lines[0].comment is None:
                lines.pop(0)
            body[0] = body[0].with_changes(leading_lines=lines)
        return updated.with_changes(body=body, footer=[*comments_of(pending), *updated.footer])

    def _drop_finally(self, node: cst.Try) -> cst.Try:
        comments = finally_comments(node.finalbody) if node.finalbody is not None else []
        if comments and node.handlers:
            last = node.orelse or node.handlers[-1]
            suite = last.body
            if isinstance(suite, cst.IndentedBlock):
                suite = suite.with_changes(footer=[*suite.footer, *comments])
                if node.orelse is not None:
                    node = node.with_changes(orelse=node.orelse.with_changes(body=suite))
                else:
                    handlers = list(node.handlers)
                    handlers[-1] = handlers[-1].with_changes(body=suite)
                    node = node.with_changes(handlers=handlers)
        return node.with_changes(finalbody=None)


def _prepend(statement: cst.BaseStatement, lines: Sequence[cst.EmptyLine]) -> cst.BaseStatement:
    if not lines:
        return statement
    existing = list(leading(statement))
    if existing and not comments_of(lines):
        return statement  # only blank lines pending, and the statement has its own spacing
    return statement.with_changes(leading_lines=[*lines, *existing])


def needed_nodes(plan: Plan, parents: Dict[int, cst.CSTNode]) -> Set[int]:
    """Ids of the planned nodes and of all their ancestors (``parents``: id -> parent)."""
    needed: Set[int] = set()
    for key in (*plan.replace, *plan.remove, *plan.unwrap, *plan.drop_finally):
        while key not in needed:
            needed.add(key)
            parent = parents.get(key)
            if parent is None:
                break
            key = id(parent)
    return needed


def apply(
    module: cst.Module, plan: Plan, parents: Optional[Dict[int, cst.CSTNode]] = None
) -> cst.Module:
    """Apply ``plan``; with the model's ``parents`` map, only the paths to planned nodes
    are visited."""
    needed = needed_nodes(plan, parents) if parents is not None else None
    if needed is not None:
        needed.add(id(module))
    result = module.visit(Applier(plan, needed))
    assert isinstance(result, cst.Module)
    return result
