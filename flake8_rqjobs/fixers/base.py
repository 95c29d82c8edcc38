"""What every fixer gets (:class:`FixContext`) and gives back (fixes and manual fixes).

A fixer module (``fixers/<family>.py``, named after its rule family) defines
``analyse(ctx)``. It walks the linter's sites of its family (:meth:`FixContext.sites_of`):
each carries the span, the resolved callee and the facts the rule established; the fixer
finds the libcst node at that span (:meth:`FixContext.node`), and either records a rewrite in
``ctx.plan`` (:meth:`FixContext.fixed`) or says why it leaves the site alone, naming the fact
that makes the rewrite unsafe (:meth:`FixContext.manual`). Every scope fact (what a scope
binds, how often and to what, where a name is read) comes from the linter's own scope model,
``ctx.model`` (:class:`flake8_rqjobs.names.FileModel`, the object the linter built for this
file); libcst only edits, and :mod:`.positions` finds its nodes by exact span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from flake8_rqjobs.config import Config
from flake8_rqjobs.fixers.plan import Plan
from flake8_rqjobs.fixers.positions import CharSpan, Positions, Start, char_col
from flake8_rqjobs.fixers.report import ManualFix, Options
from flake8_rqjobs.names import BindingKind, FileModel, Reference
from flake8_rqjobs.rules.base import Site, Span


@dataclass
class FixContext:
    module: cst.Module
    model: FileModel  # the linter's scope model of this file (the same object)
    positions: Positions
    config: Config
    filename: str
    options: Options
    sites: Sequence[Site]  # the linter's selected, unsilenced sites
    source_lines: Sequence[str] = ()  # the text's lines, to turn byte columns into characters
    plan: Plan = field(default_factory=Plan)
    fixes: Set[Site] = field(default_factory=set)
    extra_fixes: List[Tuple[str, int]] = field(default_factory=list)  # (code, line), no site
    manuals: Dict[Site, Tuple[str, Tuple[int, ...]]] = field(default_factory=dict)
    # wrapper name -> local name used in this module (after conflicts are resolved)
    local_names: Dict[str, Optional[str]] = field(default_factory=dict)
    imports_needed: Set[str] = field(default_factory=set)
    # names whose (side-effect free) assignment goes when the fix leaves them unused
    cleanup_names: Set[str] = field(default_factory=set)
    _by_node: Dict[Tuple[str, int], Site] = field(default_factory=dict)
    _refs: Optional[Dict[Start, Reference]] = None

    def __post_init__(self) -> None:
        for site in self.sites:
            node = self.node(site)
            if node is not None:
                self._by_node.setdefault((site.code, id(node)), site)

    # --- sites ----------------------------------------------------------------------
    def selected(self, code: str) -> bool:
        return code in self.options.select

    def sites_of(self, code: str) -> List[Site]:
        return [site for site in self.sites if site.code == code]

    def char_span(self, span: Span) -> CharSpan:
        return (
            span.line,
            self._chars(span.line, span.col),
            span.end_line,
            self._chars(span.end_line, span.end_col),
        )

    def _chars(self, line: int, col: int) -> int:
        return char_col(self.source_lines, line, col)

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.positions.parent(node)

    def name_node(self, reference: Reference) -> Optional[cst.Name]:
        """The libcst ``Name`` of a read in the linter's model."""
        node = reference.node
        return self.positions.names.get((node.lineno, self._chars(node.lineno, node.col_offset)))

    def reference_of(self, node: cst.Name) -> Optional[Reference]:
        """The linter's record of the read that ``node`` is (``None``: not a read)."""
        if self._refs is None:
            self._refs = {}
            for references in self.model.refs_by_name.values():
                for reference in references:
                    ast_node = reference.node
                    line = ast_node.lineno
                    self._refs[(line, self._chars(line, ast_node.col_offset))] = reference
        start = self.positions.name_starts.get(id(node))
        return self._refs.get(start) if start is not None else None

    def node(self, site: Site) -> Optional[cst.Call]:
        """The call at the site's span (``None`` for a site that is not a call)."""
        return self.call_at(site.span)

    def call_at(self, span: Span) -> Optional[cst.Call]:
        return self.positions.calls.get(self.char_span(span))

    def site_for(self, code: str, node: cst.CSTNode) -> Optional[Site]:
        """The linter's site of ``code`` at ``node``, if it flagged one there."""
        return self._by_node.get((code, id(node)))

    def line(self, node: cst.CSTNode) -> int:
        return self.positions.lines[node]

    def fixed(self, site: Site) -> None:
        self.fixes.add(site)

    def fixed_definition(self, code: str, node: cst.CSTNode) -> None:
        """A rewrite that answers no site (``--deprecate-definitions``)."""
        self.extra_fixes.append((code, self.line(node)))

    def manual(self, site: Site, reason: str, related: Tuple[int, ...] = ()) -> None:
        """Leave ``site`` to a human; ``reason`` may name other lines as ``{0}``... whose
        numbers are ``related`` (they move with the file when it is rewritten)."""
        self.manuals.setdefault(site, (reason, related))

    def manual_list(self) -> List[ManualFix]:
        items = {
            ManualFix(site.line, site.code, reason, related)
            for site, (reason, related) in self.manuals.items()
            if site not in self.fixes
        }
        return sorted(items, key=lambda m: (m.line, m.code, m.reason))

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
        wrapper = self.config.wrapper_module
        for local, sites in self.model.module_scope.sites.items():
            if (
                len(sites) == 1
                and sites[0].kind is BindingKind.IMPORT
                and sites[0].meaning == f"{wrapper}.{name}"
                and sum(local in scope.sites for scope in self.model.scopes) == 1
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
