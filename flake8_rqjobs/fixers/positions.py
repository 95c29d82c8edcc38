"""Where the linter's sites and scope facts are in the libcst tree, in one cheap
code-generation pass.

libcst's ``PositionProvider`` records a full range for every node (about 10x the cost of
printing the module). The fixers need far less: the span of every ``Call`` as stdlib ``ast``
gives it (from the start of the called expression, parentheses around it included, to the
call's own closing parenthesis), so that a site's exact span finds its node; the start of
every ``Name`` (a reference of the linter's scope model finds its node) and of every statement
line that holds one small statement (a binding site finds the line to remove); the first line
of every call and function definition; and the parent of every node, the ``try`` statements,
function definitions and import lines that the edits need. This pass counts lines and columns
(in characters) while the module prints itself, and nothing else: what a name means and where
it is bound comes from the linter (:class:`flake8_rqjobs.names.FileModel`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINES = re.compile(r"\r\n?|\n")

CharSpan = Tuple[int, int, int, int]  # line, column, end line, end column (characters)
Start = Tuple[int, int]  # line, column (characters)


def char_col(lines: Sequence[str], line: int, col: int) -> int:
    """The character column of ``ast``'s UTF-8 byte column ``col`` on ``line``."""
    if not 0 < line <= len(lines):
        return col
    text = lines[line - 1]
    if text.isascii():
        return col
    return len(text.encode("utf-8")[:col].decode("utf-8", "ignore"))


@dataclass
class Positions:
    calls: Dict[CharSpan, cst.Call] = field(default_factory=dict)
    spans: Dict[int, CharSpan] = field(default_factory=dict)  # id(call) -> its span
    lines: Dict[cst.CSTNode, int] = field(default_factory=dict)  # first line of calls, defs
    names: Dict[Start, cst.Name] = field(default_factory=dict)
    name_starts: Dict[int, Start] = field(default_factory=dict)  # id(name) -> its start
    statements: Dict[Start, cst.SimpleStatementLine] = field(default_factory=dict)
    parents: Dict[int, cst.CSTNode] = field(default_factory=dict)  # id(node) -> parent
    tries: List[cst.Try] = field(default_factory=list)
    functions: List[cst.FunctionDef] = field(default_factory=list)
    import_lines: List[cst.SimpleStatementLine] = field(default_factory=list)

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(id(node))

    def statement_of(self, node: cst.CSTNode) -> Optional[cst.BaseStatement]:
        """The statement (simple line or compound) that contains ``node``."""
        current: Optional[cst.CSTNode] = node
        while current is not None:
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return current
            current = self.parents.get(id(current))
        return None


class _Counter(CodegenState):
    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.line = 1
        self.col = 0
        self.found = Positions()
        self._func_of: Dict[int, cst.Call] = {}
        self._starts: Dict[int, Tuple[int, int]] = {}
        self._open: List[Tuple[cst.Call, List[Tuple[int, int]]]] = []
        self._stack: List[cst.CSTNode] = []
        self._name: Optional[cst.Name] = None  # a Name whose token comes next
        self._line_of: Dict[int, cst.SimpleStatementLine] = {}  # id(small) -> its line

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.col += len(token)  # indentation never contains a newline

    def add_token(self, value: str) -> None:
        name = self._name
        if name is not None and value == name.value:
            self.found.names[(self.line, self.col)] = name
            self.found.name_starts[id(name)] = (self.line, self.col)
            self._name = None
        if "\n" in value or "\r" in value:
            parts = _NEWLINES.split(value)
            self.line += len(parts) - 1
            self.col = len(parts[-1])
        else:
            self.col += len(value)
        if value == ")" and self._open:
            self._open[-1][1].append((self.line, self.col))

    def pop_trailing_newline(self) -> None:
        pass

    def before_codegen(self, node: cst.CSTNode) -> None:
        if self._stack:
            self.found.parents[id(node)] = self._stack[-1]
        self._stack.append(node)
        kind = type(node)
        if kind is cst.Name:
            self._name = node  # type: ignore[assignment]
        elif kind is cst.SimpleStatementLine:
            self._statement_line(node)  # type: ignore[arg-type]
        elif kind is cst.Try:
            self.found.tries.append(node)  # type: ignore[arg-type]
        elif kind is cst.FunctionDef:
            self.found.functions.append(node)  # type: ignore[arg-type]
        line = self._line_of.pop(id(node), None)
        if line is not None:
            self.found.statements[(self.line, self.col)] = line
        call = self._func_of.pop(id(node), None)
        if call is not None:
            self._starts[id(call)] = (self.line, self.col)
        if type(node) is cst.Call:
            self.found.lines[node] = self.line
            self._func_of[id(node.func)] = node
            self._open.append((node, []))

    def _statement_line(self, node: cst.SimpleStatementLine) -> None:
        if len(node.body) == 1:
            self._line_of[id(node.body[0])] = node
        if any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in node.body):
            self.found.import_lines.append(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        self._stack.pop()
        if type(node) is cst.Call:
            call, closes = self._open.pop()
            end = closes[-(len(call.rpar) + 1)]
            start = self._starts.pop(id(call))
            span = (start[0], start[1], end[0], end[1])
            self.found.calls[span] = call
            self.found.spans[id(call)] = span

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        if type(node) is cst.FunctionDef and node not in self.found.lines:
            self.found.lines[node] = self.line  # the ``def`` line, after decorators
        yield


def node_positions(module: cst.Module) -> Positions:
    """Where the nodes the fixers look up are (see the module docstring)."""
    counter = _Counter(module)
    module._codegen(counter)
    return counter.found
