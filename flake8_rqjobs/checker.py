"""One AST pass over a module: name resolution, scopes, and the rule hooks.

The visitor binds names in source order per scope (module, class, function, lambda,
comprehension). Function bodies run after the enclosing scope's body, as Python runs them
later: a module-level import below a function still counts inside it. For every call it asks
each rule family's ``check_call`` hook; for every assignment it asks the ``value_kind`` hooks
what the target now holds (an RQ queue, a Redis lock, a non-deterministic value).
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Union

from flake8_rqjobs import facts as project_facts
from flake8_rqjobs.config import Config
from flake8_rqjobs.names import (
    LOCAL_DEF,
    UNKNOWN,
    BindingKind,
    BindingSite,
    FileModel,
    Scope,
    ScopeKind,
    dotted_name,
    import_bindings,
    module_location,
    same_value,
)
from flake8_rqjobs.names import resolve as resolve_in
from flake8_rqjobs.rules import ALL_RULES, CALL_CHECKS, FINISHERS, VALUE_KINDS, WITH_CHECKS
from flake8_rqjobs.rules.base import EventSource, Facts, Rule, Site, Span, terminal_name
from flake8_rqjobs.rules.dedupe import EVENT_JOB_DECORATOR, event_source
from flake8_rqjobs.rules.queues import RQ_JOB_DECORATORS, TRACKED_CLASSES
from flake8_rqjobs.rules.scheduler_locks import SCHEDULER_WORD


@functools.lru_cache(maxsize=32)
def prefilter_tokens(config: Config) -> Tuple[str, ...]:
    """Every rule's trigger words (:attr:`Rule.triggers` and ``config_triggers``): the ASCII
    substrings that :func:`might_violate` looks for; ``("",)`` when a configured pattern can
    match any name."""
    words: Set[str] = set()
    for rule in ALL_RULES:
        for word in rule.trigger_words(config):
            if not word:
                return ("",)
            words.add(word)
    return tuple(sorted(words))


@functools.lru_cache(maxsize=32)
def scan_tokens(config: Config) -> Tuple[str, ...]:
    """:func:`prefilter_tokens` without the words that contain another one (``redis_om``
    holds ``redis``): the same answer for "any of them in the text", fewer scans."""
    tokens = prefilter_tokens(config)
    return tuple(t for t in tokens if not any(o != t and o in t for o in tokens))


def might_violate(text: str, config: Config, filename: Optional[str] = None) -> bool:
    """Cheap substring prefilter: ``False`` means no rule can fire on this text (except
    that a scheduler path can still hold RQJ200/RQJ201: see :func:`needs_check`)."""
    for token in scan_tokens(config):
        if token in text:
            return True
    return uses_project_facts(text, config, filename)


def uses_project_facts(text: str, config: Config, filename: Optional[str] = None) -> bool:
    """Does ``text`` name a module of the project and one of its facts (an exported RQ
    queue, a subclass of rq.Queue, an event job...)? Such a file can hold a finding without
    any trigger word. A file outside the project's root never uses its facts."""
    facts = project_facts.for_config(config)
    if not facts.exports:
        return False
    relative = config.relative_path(filename) if filename is not None else ""
    if os.path.isabs(relative):
        return False
    return facts.mentioned(text, relative)


_PATH_RULES = any(rule.scheduler_paths for rule in ALL_RULES)
# Nodes without child nodes that a rule could look at: never visited.
_LEAVES = frozenset(
    {ast.Constant, ast.Pass, ast.Break, ast.Continue}
    | {
        cls
        for base in (ast.expr_context, ast.operator, ast.boolop, ast.cmpop, ast.unaryop)
        for cls in base.__subclasses__()
    }
)


def needs_check(text: str, filename: str, config: Config) -> bool:
    """The full prefilter: trigger words, or a scheduler path, and never a sanctioned file."""
    if config.is_sanctioned(filename):
        return False
    if might_violate(text, config, filename):
        return True
    return _PATH_RULES and config.is_scheduler_path(filename)


_Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]
_Key = Tuple[int, str]  # (id of a scope's ast node, name): a followed variable
ASSIGN, PARAM, IMPORT, DEF, OTHER = BindingKind


@dataclass
class Checked:
    """The sites of one file and its scope model (``None`` for a sanctioned file)."""

    sites: List[Site]
    model: Optional[FileModel]


def _same_everywhere(sites: Sequence[BindingSite]) -> bool:
    """Is every binding of a name a plain assignment of the same expression (as good as
    one binding: ``REDIS_URL = os.getenv("REDIS_URL")`` in two branches)?"""
    first = sites[0].value
    return all(
        site.kind is BindingKind.ASSIGN and site.value is not None for site in sites
    ) and all(same_value(first, site.value) for site in sites[1:] if site.value is not None)


class _Visitor:
    def __init__(self, config: Config, filename: str, blocked: FrozenSet[_Key]) -> None:
        self.config = config
        self.filename = filename
        self.module, self.is_package = module_location(config.relative_path(filename))
        self.scheduler_file = config.is_scheduler_path(filename)
        self.project = project_facts.for_config(config)
        self.sites: List[Site] = []
        self._seen: Set[Tuple[int, int, str]] = set()
        self.module_scope = Scope(kind=ScopeKind.MODULE)
        self.scope = self.module_scope
        self.scopes = [self.module_scope]
        self.dunder_all: Set[str] = set()
        # Variables followed to their value are resolved where they were assigned: the reads
        # in a plain assignment's value keep what they saw (id(Name) -> meaning, owner).
        self._snapshot = False
        self._meant: Dict[int, Optional[str]] = {}
        self._owner_at: Dict[int, Optional[Scope]] = {}
        self.blocked = blocked  # followed variables bound more than once in their scope
        self.followed: Dict[_Key, Tuple[Scope, str]] = {}
        self.functions: List[str] = []  # the enclosing defs and classes, outermost first
        self.loop_depth = 0
        # The loop variables of the enclosing ``for`` loops -> what they iterate over.
        self.loop_values: Dict[str, ast.AST] = {}
        self.event_source: Optional[EventSource] = None
        self.state: Dict[str, Any] = {}
        self.event_job_defs: Set[str] = set()
        self.rq_job_defs: Set[str] = set()  # functions decorated with rq's @job(...)
        # What ``self.<attr>`` holds, per class scope, from assignments in its methods.
        self.instance_attrs: Dict[Tuple[int, str], str] = {}
        self.constants: Dict[str, float] = {}
        self._deferred: List[Tuple[_Function, Scope, List[str], Optional[EventSource]]] = []
        self._dispatch: Dict[type, Callable[[ast.AST], None]] = {
            ast.Import: self._import,
            ast.ImportFrom: self._import,
            ast.FunctionDef: self._function,
            ast.AsyncFunctionDef: self._function,
            ast.Lambda: self._lambda,
            ast.ClassDef: self._class,
            ast.Assign: self._assign,
            ast.AnnAssign: self._ann_assign,
            ast.AugAssign: self._aug_assign,
            ast.NamedExpr: self._named_expr,
            ast.For: self._for,
            ast.AsyncFor: self._for,
            ast.While: self._while,
            ast.With: self._with,
            ast.AsyncWith: self._with,
            ast.ExceptHandler: self._except_handler,
            ast.ListComp: self._comprehension,
            ast.SetComp: self._comprehension,
            ast.GeneratorExp: self._comprehension,
            ast.DictComp: self._comprehension,
            ast.Call: self._call,
            ast.Name: self._name,
            ast.Global: self._global,
            ast.Nonlocal: self._nonlocal,
        }
        for match_name in ("MatchAs", "MatchStar", "MatchMapping"):  # Python 3.10+
            match_node = getattr(ast, match_name, None)
            if match_node is not None:
                self._dispatch[match_node] = self._match_capture

    # --- Context API for the rules ------------------------------------------------------
    def resolve(self, expr: ast.AST) -> Optional[str]:
        qualname = resolve_in(expr, self.scope, self._meant)
        if qualname is None or not self.project.modules:
            return qualname
        followed = self.project.follow(qualname)
        tracked = self.project.subclass_of(followed, TRACKED_CLASSES)
        return tracked or followed  # a project subclass of rq.Queue builds RQ queues

    def project_class(self, expr: ast.AST) -> Optional[str]:
        """The path of the project module defining the class ``expr`` names, when that
        class derives from rq.Queue or a Redis client class (``None`` otherwise)."""
        qualname = resolve_in(expr, self.scope, self._meant)
        if qualname is None or not self.project.modules:
            return None
        followed = self.project.follow(qualname)
        if self.project.subclass_of(followed, TRACKED_CLASSES) is None:
            return None
        parts = self.project.split(followed)
        return parts[0].path if parts is not None else None

    def project_object(self, expr: ast.AST) -> Optional[Tuple[str, Optional[str], str]]:
        """(constructor, first string argument, module path) of the module-level object of
        another project module that ``expr`` names (``from app.queues import q``)."""
        if not self.project.modules or not isinstance(expr, (ast.Name, ast.Attribute)):
            return None
        qualname = resolve_in(expr, self.scope, self._meant)
        if qualname is None:
            return None
        built = self.project.built(qualname)
        if built is None:
            return None
        constructor, literal, path = built
        return self.project.subclass_of(constructor, TRACKED_CLASSES) or constructor, literal, path

    def rq_job(self, expr: ast.AST) -> bool:
        """Is ``expr`` a function decorated with rq's (or django-rq's) ``@job(...)``: in this
        module, or in another project module?"""
        if isinstance(expr, ast.Name) and self.binding_of(expr) == LOCAL_DEF:
            if expr.id in self.rq_job_defs:
                return True
        if not self.project.modules or not isinstance(expr, (ast.Name, ast.Attribute)):
            return False
        qualname = self.resolve(expr)
        return qualname is not None and self.project.is_rq_job(qualname)

    def project_event_job(self, expr: ast.AST) -> bool:
        """Is ``expr`` (a name, or a dotted string) a job decorated with ``@event_job`` in
        another project module?"""
        if not self.project.modules:
            return False
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return self.project.is_event_job(expr.value)
        qualname = self.resolve(expr)
        return qualname is not None and self.project.is_event_job(qualname)

    def binding_of(self, expr: ast.AST) -> Optional[str]:
        if isinstance(expr, ast.Name):
            if id(expr) in self._meant:
                return self._meant[id(expr)]
            return self.scope.lookup(expr.id)
        if isinstance(expr, ast.Attribute):
            dotted = dotted_name(expr)
            if dotted is not None:
                kind = self.scope.bindings.get(dotted)
                if kind is None and dotted.startswith("self."):
                    owner = self._instance_owner()
                    if owner is not None:
                        return self.instance_attrs.get((id(owner), dotted))
                elif kind is None and self.scope is not self.module_scope:
                    # app.task_queue = rq.Queue(...) at module level, read in a function
                    root = dotted.split(".", 1)[0]
                    if self.scope.owner(root) is self.module_scope:
                        return self.module_scope.bindings.get(dotted)
                return kind
        return None

    def _instance_owner(self) -> Optional[Scope]:
        """The class scope whose method's own body is being visited (``self.x`` there)."""
        scope = self.scope
        if scope.kind is ScopeKind.FUNCTION and scope.parent is not None:
            if scope.parent.is_class:
                return scope.parent
        return None

    def value_of(self, expr: ast.AST) -> Optional[ast.AST]:
        """The expression a plain name was assigned, when that is its only binding in the
        whole scope it comes from (a local class definition for a local class). A later
        rebinding is only known at the end of the visit: :func:`check_file` then visits
        again with that variable ``blocked``."""
        if not isinstance(expr, ast.Name):
            return None
        if id(expr) in self._owner_at:
            owner = self._owner_at[id(expr)]
        else:
            owner = self.scope.owner(expr.id)
        value = owner.values.get(expr.id) if owner is not None else None
        if owner is None or value is None:
            return None
        key = (id(owner.node), expr.id)
        if key in self.blocked:
            return None
        self.followed[key] = (owner, expr.id)
        return value

    def conflicts(self) -> Set[_Key]:
        """Followed variables that their scope binds more than once after all."""
        return {
            key
            for key, (owner, name) in self.followed.items()
            if len(owner.sites[name]) != 1 and not _same_everywhere(owner.sites[name])
        }

    def model(self) -> FileModel:
        return FileModel(self.scopes, self.dunder_all)

    def owner_is_function(self, name: str) -> bool:
        owner = self.scope.owner(name)
        return owner is not None and owner is not self.module_scope and not owner.is_class

    def coroutine(self) -> Optional[str]:
        """The name of the ``async def`` whose own body runs the code being visited (through
        comprehensions); ``None`` in a plain ``def``, a lambda, a class body or the module."""
        scope = self.scope
        while scope.kind is ScopeKind.COMPREHENSION and scope.parent is not None:
            scope = scope.parent
        if scope.kind is ScopeKind.FUNCTION and isinstance(scope.node, ast.AsyncFunctionDef):
            return scope.node.name
        return None

    def in_scheduler_code(self) -> bool:
        if self.scheduler_file:
            return True
        return any(SCHEDULER_WORD in name.lower() for name in self.functions)

    def number(self, expr: ast.AST) -> Optional[float]:
        if isinstance(expr, ast.Constant):
            value = expr.value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            return None
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
            inner = self.number(expr.operand)
            if inner is None:
                return None
            return -inner if isinstance(expr.op, ast.USub) else inner
        if isinstance(expr, ast.BinOp):
            left, right = self.number(expr.left), self.number(expr.right)
            if left is None or right is None:
                return None
            if isinstance(expr.op, ast.Add):
                return left + right
            if isinstance(expr.op, ast.Sub):
                return left - right
            if isinstance(expr.op, ast.Mult):
                return left * right
            if isinstance(expr.op, ast.Div) and right:
                return left / right
            return None
        if isinstance(expr, ast.Name) and expr.id in self.constants:
            scope: Optional[Scope] = self.scope
            while scope is not None and scope is not self.module_scope:
                if expr.id in scope.bindings:
                    return None  # a local shadows the module constant
                scope = scope.parent
            return self.constants[expr.id]
        return None

    def report(
        self,
        node: ast.AST,
        rule: Rule,
        facts: Optional[Facts] = None,
        callee: Optional[str] = None,
        **fields: object,
    ) -> None:
        span = Span.of(node)
        key = (span.line, span.col, rule.code)
        if key in self._seen:
            return
        self._seen.add(key)
        message = rule.format(wrapper=self.config.wrapper_module, **fields)
        self.sites.append(Site(rule.code, span, message, callee, facts))

    # --- traversal ------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> List[Site]:
        self.module_scope.node = tree
        self._prescan(tree)
        for statement in tree.body:
            self.visit(statement)
        while self._deferred:
            node, parent, functions, handler = self._deferred.pop(0)
            self._function_body(node, parent, functions, handler)
        for finish in FINISHERS:
            finish(self)
        self.sites.sort(key=lambda site: site.sort_key)
        return self.sites

    def visit(self, node: ast.AST) -> None:
        handler = self._dispatch.get(type(node))
        if handler is not None:
            handler(node)
        else:
            self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        # ast.iter_child_nodes without its generator layers; leaves (contexts, operators,
        # constants) are not visited at all.
        dispatch = self._dispatch
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    kind = type(item)
                    if kind in _LEAVES or not isinstance(item, ast.AST):
                        continue
                    handler = dispatch.get(kind)
                    if handler is not None:
                        handler(item)
                    else:
                        self.generic_visit(item)
            elif value is not None:
                kind = type(value)
                if kind in _LEAVES or not isinstance(value, ast.AST):
                    continue
                handler = dispatch.get(kind)
                if handler is not None:
                    handler(value)
                else:
                    self.generic_visit(value)

    def _visit_all(self, nodes: Sequence[Optional[ast.AST]]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def _prescan(self, tree: ast.Module) -> None:
        counts: Dict[str, int] = {}
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in statement.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    if terminal_name(target) == EVENT_JOB_DECORATOR:
                        self.event_job_defs.add(statement.name)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    if isinstance(target, ast.Name):
                        counts[target.id] = counts.get(target.id, 0) + 1
                        value = statement.value
                        if isinstance(statement, ast.Assign) and value is not None:
                            number = self.number(value)
                            if number is not None:
                                self.constants[target.id] = number
        for name in list(self.constants):
            if counts.get(name) != 1:
                del self.constants[name]

    # --- bindings -------------------------------------------------------------------------
    def _kind(self, value: ast.AST) -> str:
        for value_kind in VALUE_KINDS:
            kind = value_kind(self, value)
            if kind:
                return kind
        if isinstance(value, (ast.Name, ast.Attribute)):
            qualname = self.resolve(value)
            if qualname is not None:
                return qualname  # an alias: ``Q = rq.Queue``
        return UNKNOWN

    def _bind_target(self, target: ast.AST, kind: str, value: Optional[ast.AST] = None) -> None:
        if isinstance(target, ast.Name):
            self.scope.bind(target.id, kind, value, OTHER, target)
        elif isinstance(target, ast.Attribute):
            dotted = dotted_name(target)
            if dotted is not None:
                self.scope.bind(dotted, kind)
                owner = self._instance_owner() if dotted.startswith("self.") else None
                if owner is not None:  # self.lock = r.lock(...): seen by the other methods
                    key = (id(owner), dotted)
                    seen = self.instance_attrs.get(key)
                    self.instance_attrs[key] = kind if seen in (None, kind) else UNKNOWN
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._bind_target(element, UNKNOWN)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, UNKNOWN)

    def _import(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        for name, target in import_bindings(node, self.module, self.is_package).items():
            self.scope.bind(name, target, kind=IMPORT, at=node)

    def _assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Assign)
        target = node.targets[0]
        plain = len(node.targets) == 1 and isinstance(target, ast.Name)
        outer, self._snapshot = self._snapshot, plain
        self.visit(node.value)
        self._snapshot = outer
        kind = self._kind(node.value)
        if plain:
            assert isinstance(target, ast.Name)
            self.scope.bind(target.id, kind, node.value, ASSIGN, node)
            self._dunder_all(target, node.value)
            return
        value = node.value if len(node.targets) == 1 else None
        for target in node.targets:
            self.generic_visit(target)
            self._bind_target(target, kind, value)

    def _dunder_all(self, target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Name) and target.id == "__all__":
            if isinstance(value, (ast.List, ast.Tuple)):
                for element in value.elts:
                    if isinstance(element, ast.Constant) and isinstance(element.value, str):
                        self.dunder_all.add(element.value)

    def _ann_assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.AnnAssign)
        self._annotation_refs([node.annotation])
        if node.value is not None:
            self.visit(node.value)
            self._bind_target(node.target, self._kind(node.value))
        elif isinstance(node.target, ast.Name):
            self.scope.record(node.target.id, OTHER, node.target)
        self.generic_visit(node.target)

    def _aug_assign(self, node: ast.AST) -> None:
        assert isinstance(node, ast.AugAssign)
        self.visit(node.value)
        self.generic_visit(node.target)
        if isinstance(node.target, ast.Name):
            self.scope.refs.append(node.target)  # ``x += 1`` reads x too
        self._bind_target(node.target, UNKNOWN)
        self._dunder_all(node.target, node.value)

    def _named_expr(self, node: ast.AST) -> None:
        assert isinstance(node, ast.NamedExpr)
        self.visit(node.value)
        self._bind_target(node.target, self._kind(node.value))

    def _except_handler(self, node: ast.AST) -> None:
        assert isinstance(node, ast.ExceptHandler)
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.scope.bind(node.name, UNKNOWN, kind=OTHER, at=node)
        self._visit_all(node.body)

    def _with(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.With, ast.AsyncWith))
        for item in node.items:
            self.visit(item.context_expr)
            if type(node) is ast.With:
                for check_with in WITH_CHECKS:
                    check_with(self, item.context_expr)
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, self._kind(item.context_expr))
        self._visit_all(node.body)

    # --- loops ----------------------------------------------------------------------------
    def _for(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.For, ast.AsyncFor))
        self.visit(node.iter)
        self._bind_target(node.target, UNKNOWN)
        self.loop_depth += 1
        target = node.target.id if isinstance(node.target, ast.Name) else None
        outer = self.loop_values.get(target) if target is not None else None
        if target is not None:
            self.loop_values[target] = node.iter  # for message in consumer: ...
        self._visit_all(node.body)
        if target is not None:
            if outer is None:
                self.loop_values.pop(target, None)
            else:
                self.loop_values[target] = outer
        self.loop_depth -= 1
        self._visit_all(node.orelse)

    def _while(self, node: ast.AST) -> None:
        assert isinstance(node, ast.While)
        self.loop_depth += 1
        self.visit(node.test)
        self._visit_all(node.body)
        self.loop_depth -= 1
        self._visit_all(node.orelse)

    # --- scopes ---------------------------------------------------------------------------
    def _function(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        self._visit_all(node.decorator_list)
        self._visit_all(node.args.defaults)
        self._visit_all(node.args.kw_defaults)
        self._annotation_refs([node.returns, *_annotations(node.args)])
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.resolve(target) in RQ_JOB_DECORATORS:
                self.rq_job_defs.add(node.name)
        handler = self.event_source
        if handler is None or not handler.event:
            cls = self.scope.node if self.scope.is_class else None
            own = event_source(self, node, cls if isinstance(cls, ast.ClassDef) else None)
            handler = own if own is not None else handler
        self.scope.bind(node.name, LOCAL_DEF, kind=DEF, at=node)
        self._deferred.append((node, self.scope, [*self.functions, node.name], handler))

    def _bind_arguments(self, args: ast.arguments, kind: BindingKind = PARAM) -> None:
        for arg in _arguments(args):
            self.scope.bind(arg.arg, UNKNOWN, kind=kind, at=arg)

    def _new_scope(self, kind: ScopeKind, node: ast.AST, parent: Scope) -> Scope:
        scope = Scope(parent, kind is ScopeKind.CLASS, kind, node)
        self.scopes.append(scope)
        return scope

    def _annotation_refs(self, annotations: Sequence[Optional[ast.AST]]) -> None:
        """Names read by annotations (no rule looks inside them)."""
        for annotation in annotations:
            if annotation is not None:
                for node in ast.walk(annotation):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                        self.scope.refs.append(node)

    # --- reads and declarations -----------------------------------------------------------
    def _name(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Name)
        context = type(node.ctx)
        if context is ast.Load:
            self.scope.refs.append(node)
            if self._snapshot:
                owner = self.scope.owner(node.id)
                self._meant[id(node)] = owner.bindings[node.id] if owner is not None else None
                self._owner_at[id(node)] = owner
        elif context is ast.Del:
            self.scope.record(node.id, OTHER, node)

    def _global(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Global)
        if self.scope is not self.module_scope:
            for name in node.names:
                self.scope.globals.add(name)
                self.module_scope.record(name, OTHER, node)

    def _nonlocal(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Nonlocal)
        for name in node.names:
            self.scope.record(name, OTHER, node)

    def _match_capture(self, node: ast.AST) -> None:
        name = getattr(node, "rest" if type(node).__name__ == "MatchMapping" else "name", None)
        if name:
            self.scope.record(name, OTHER, node)
        self.generic_visit(node)

    def _function_body(
        self,
        node: _Function,
        parent: Scope,
        functions: List[str],
        handler: Optional[EventSource],
    ) -> None:
        self.scope = self._new_scope(ScopeKind.FUNCTION, node, parent)
        self.functions = functions
        self.loop_depth = 0
        self.loop_values = {}
        self.event_source = handler
        self._bind_arguments(node.args)
        self._visit_all(node.body)

    def _lambda(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Lambda)
        self._visit_all(node.args.defaults)
        self._visit_all(node.args.kw_defaults)
        outer, depth = self.scope, self.loop_depth
        self._annotation_refs(_annotations(node.args))
        self.scope = self._new_scope(ScopeKind.LAMBDA, node, outer)
        self.loop_depth = 0
        self._bind_arguments(node.args, OTHER)
        self.visit(node.body)
        self.scope, self.loop_depth = outer, depth

    def _class(self, node: ast.AST) -> None:
        assert isinstance(node, ast.ClassDef)
        self._visit_all(node.decorator_list)
        self._visit_all(node.bases)
        self._visit_all([kw.value for kw in node.keywords])
        kind = UNKNOWN
        for base in node.bases:
            qualname = self.resolve(base)
            if qualname in TRACKED_CLASSES:
                kind = qualname  # a local subclass of rq.Queue builds RQ queues
                break
        outer, functions = self.scope, self.functions
        self.scope = self._new_scope(ScopeKind.CLASS, node, outer)
        self.functions = [*functions, node.name]  # its methods: ReminderScheduler.tick
        self._visit_all(node.body)
        self.scope, self.functions = outer, functions
        self.scope.bind(node.name, kind, node if kind != UNKNOWN else None, DEF, node)

    def _comprehension(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp))
        outer = self.scope
        for index, generator in enumerate(node.generators):
            self.visit(generator.iter)  # the first iterable is evaluated outside
            if index == 0:
                self.scope = self._new_scope(ScopeKind.COMPREHENSION, node, outer)
            self._bind_target(generator.target, UNKNOWN)
            self._visit_all(generator.ifs)
        if isinstance(node, ast.DictComp):
            self.visit(node.key)
            self.visit(node.value)
        else:
            self.visit(node.elt)
        self.scope = outer

    # --- calls ----------------------------------------------------------------------------
    def _call(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        qualname = self.resolve(node.func)
        for check_call in CALL_CHECKS:
            check_call(self, node, qualname)
        self.generic_visit(node)


def _arguments(args: ast.arguments) -> List[ast.arg]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg is not None:
        every.append(args.vararg)
    if args.kwarg is not None:
        every.append(args.kwarg)
    return every


def _annotations(args: ast.arguments) -> List[Optional[ast.AST]]:
    return [arg.annotation for arg in _arguments(args)]


def check_file(tree: ast.Module, filename: str, config: Config) -> Checked:
    """The sites of ``tree`` (sorted by line and column) and its scope model, from one visit
    (two in the rare file where a followed variable turns out to be rebound later in its
    scope). Sanctioned wrapper modules and the ``rqjobs`` package give no sites and no model."""
    if config.is_sanctioned(filename):
        return Checked([], None)
    blocked: FrozenSet[_Key] = frozenset()
    while True:
        visitor = _Visitor(config, filename, blocked)
        sites = visitor.run(tree)
        conflicts = visitor.conflicts()
        if not conflicts:
            return Checked(sites, visitor.model())
        blocked |= conflicts


def check_tree(
    tree: ast.Module, filename: str, config: Config, lines: Optional[Sequence[str]] = None
) -> List[Site]:
    """Every site in ``tree`` (see :func:`check_file`). ``lines`` is accepted for API
    symmetry with flake8 and not needed."""
    return check_file(tree, filename, config).sites


def check_source_file(source: str, filename: str, config: Config) -> Checked:
    """Parse ``source`` and check it; raises ``SyntaxError`` when it does not parse."""
    return check_file(ast.parse(source, filename=filename), filename, config)


def check_source(source: str, filename: str, config: Config) -> List[Site]:
    """Parse ``source`` and check it; raises ``SyntaxError`` when it does not parse."""
    return check_source_file(source, filename, config).sites
