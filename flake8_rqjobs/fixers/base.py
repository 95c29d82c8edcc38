"""What every fixer gets (:class:`FixContext`) and gives back (fixes and manual fixes).

A fixer looks at the original libcst tree, decides site by site, and either records a fix in
``ctx.plan`` (:meth:`FixContext.fixed`) or explains why it leaves the site alone
(:meth:`FixContext.manual`). When linter results are available (``sites``), a fixer only
touches places that the linter flags with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Set, Tuple

import libcst as cst

from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers.plan import Plan
from flake8_rqjobs.fixers.report import ManualFix, Options
from flake8_rqjobs.fixers.scopes import IMPORT, Model

# The wrapper names that fixed code calls.
WRAPPER_NAMES = ("get_redis", "get_queue", "enqueue")


@dataclass
class FixContext:
    module: cst.Module
    model: Model
    lines: Mapping[cst.CSTNode, int]  # first line of each Call and FunctionDef
    config: Config
    filename: str
    options: Options
    # code -> lines the linter flags; None when the fixers decide alone (unit tests)
    sites: Optional[Dict[str, Set[int]]]
    is_scheduler_file: bool = False
    # (code, line) -> the linter's message there (the first one when a line has several)
    messages: Dict[Tuple[str, int], str] = field(default_factory=dict)
    plan: Plan = field(default_factory=Plan)
    fixes: Set[Tuple[str, int]] = field(default_factory=set)
    manuals: Dict[Tuple[str, int], str] = field(default_factory=dict)
    # wrapper name -> local name used in this module (after conflicts are resolved)
    local_names: Dict[str, Optional[str]] = field(default_factory=dict)
    imports_needed: Set[str] = field(default_factory=set)
    # names whose (side-effect free) assignment goes when the fix leaves them unused
    cleanup_names: Set[str] = field(default_factory=set)

    # --- sites ----------------------------------------------------------------------
    def line(self, node: cst.CSTNode) -> int:
        return self.lines[node]

    def selected(self, code: str) -> bool:
        return code in self.options.select

    def flagged(self, code: str, node: cst.CSTNode) -> bool:
        """Should the fixer act on ``node`` for ``code``? (selected, and flagged by the linter
        when linter results are available)."""
        if not self.selected(code):
            return False
        if self.sites is None:
            return True
        return self.line(node) in self.sites.get(code, set())

    def fixed(self, code: str, node: cst.CSTNode) -> None:
        self.fixes.add((code, self.line(node)))

    def manual(self, code: str, node: cst.CSTNode, reason: str) -> None:
        self.manuals.setdefault((code, self.line(node)), reason)

    def manual_at(self, code: str, line: int, reason: str) -> None:
        self.manuals.setdefault((code, line), reason)

    def manual_list(self) -> List[ManualFix]:
        done = self.fixes
        items = [
            ManualFix(line, code, reason)
            for (code, line), reason in self.manuals.items()
            if (code, line) not in done
        ]
        return sorted(items, key=lambda m: (m.line, m.code))

    # --- wrapper names --------------------------------------------------------------
    def wrapper_name(self, name: str) -> Optional[str]:
        """The local name under which fixed code calls the wrapper's ``name``, importing it
        when needed: ``name`` itself, or ``<module>_<name>`` when the module already uses
        ``name`` for something else; None when both are taken."""
        if name in self.local_names:
            local = self.local_names[name]
            if local is not None:
                self.imports_needed.add(name)
            return local
        module_scope = self.model.module_scope
        assert module_scope is not None
        wrapper = self.config.wrapper_module
        for local, bindings in module_scope.bindings.items():
            if (
                len(bindings) == 1
                and bindings[0].kind == IMPORT
                and bindings[0].qualname == f"{wrapper}.{name}"
                and sum(local in scope.bindings for scope in self.model.scopes) == 1
            ):
                self.local_names[name] = local
                return local
        prefix = wrapper.rsplit(".", 1)[-1]
        chosen: Optional[str] = None
        for candidate in (name, f"{prefix}_{name}"):
            if (
                not self.model.bound_anywhere(candidate)
                and candidate not in self.model.refs_by_name
            ):
                chosen = candidate
                break
        self.local_names[name] = chosen
        if chosen is not None:
            self.imports_needed.add(name)
        return chosen
