"""Where the linter's sites are in the libcst tree, in one cheap code-generation pass.

libcst's ``PositionProvider`` records a full range for every node (about 10x the cost of
printing the module). The fixers need far less: the span of every ``Call`` as stdlib ``ast``
gives it (from the start of the called expression, parentheses around it included, to the
call's own closing parenthesis), so that a site's exact span finds its node, and the first
line of every function definition. This pass counts lines and columns (in characters) while
the module prints itself, and nothing else.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINES = re.compile(r"\r\n?|\n")

CharSpan = Tuple[int, int, int, int]  # line, column, end line, end column (characters)


@dataclass
class Positions:
    calls: Dict[CharSpan, cst.Call] = field(default_factory=dict)
    spans: Dict[int, CharSpan] = field(default_factory=dict)  # id(call) -> its span
    lines: Dict[cst.CSTNode, int] = field(default_factory=dict)  # first line of calls, defs


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

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.col += len(token)  # indentation never contains a newline

    def add_token(self, value: str) -> None:
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
        call = self._func_of.pop(id(node), None)
        if call is not None:
            self._starts[id(call)] = (self.line, self.col)
        if type(node) is cst.Call:
            self.found.lines[node] = self.line
            self._func_of[id(node.func)] = node
            self._open.append((node, []))

    def after_codegen(self, node: cst.CSTNode) -> None:
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
    """The span of every ``Call`` and the first line of every ``Call`` and ``FunctionDef``."""
    counter = _Counter(module)
    module._codegen(counter)
    return counter.found
