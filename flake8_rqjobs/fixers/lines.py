"""Line numbers of the nodes the fixers report on, in one cheap code-generation pass.

libcst's ``PositionProvider`` records a full range for every node (about 10x the cost of
printing the module). The fixers only need the first line of calls (to match the linter's
``ast`` line numbers) and of function definitions, so this pass only counts newlines.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

import libcst as cst
from libcst._nodes.internal import CodegenState

_NEWLINES = re.compile(r"\r\n?|\n")


class _LineCounter(CodegenState):
    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.line = 1
        self.lines: Dict[cst.CSTNode, int] = {}

    def add_indent_tokens(self) -> None:
        pass  # indentation never contains a newline

    def add_token(self, value: str) -> None:
        if "\r" in value:
            self.line += len(_NEWLINES.findall(value))
        else:
            self.line += value.count("\n")

    def pop_trailing_newline(self) -> None:
        pass

    def before_codegen(self, node: cst.CSTNode) -> None:
        if type(node) is cst.Call:
            self.lines[node] = self.line

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        if type(node) is cst.FunctionDef and node not in self.lines:
            self.lines[node] = self.line  # the ``def`` line, after decorators
        yield


def node_lines(module: cst.Module) -> Dict[cst.CSTNode, int]:
    """First line (1-based) of every ``Call`` and ``FunctionDef`` in ``module``."""
    counter = _LineCounter(module)
    module._codegen(counter)
    return counter.lines
