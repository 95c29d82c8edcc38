"""RQJ002/RQJ003 fixer: queues built inline become the wrapper's ``enqueue``/``get_queue``.

Reads the linter's :class:`~flake8_rqjobs.rules.queues.QueueFacts` (the queue's name, its
connection, the settings ``get_queue`` would drop) and
:class:`~flake8_rqjobs.rules.queues.EnqueueFacts` (where the receiver of an enqueue comes
from). What is rewritten and when the fixer declines is the rules' ``fix_safety``
(``flake8-rqjobs explain RQJ002``, ``... RQJ003``). This module only decides how to edit:
which uses of a queue variable there are, whether a queue name may be moved, which statement
goes; the bindings and reads it counts are the linter's (``ctx.model``).
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Set, Tuple

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.fixers.enqueue_args import SCHEDULING, Builder, convert_enqueue
from flake8_rqjobs.fixers.wrapper_source import missing_export
from flake8_rqjobs.names import BindingKind, BindingSite, Scope, ScopeKind
from flake8_rqjobs.rules.base import Site
from flake8_rqjobs.rules.queues import (
    ENQUEUE,
    ENQUEUE_METHODS,
    GET_QUEUE,
    RQ_OPTIONS,
    RQJ002,
    RQJ003,
    SCHEDULER_FACTORIES,
    EnqueueFacts,
    Origin,
    QueueFacts,
)
from flake8_rqjobs.rules.redis_clients import ConnectionStatus

BUILD = RQJ002.code
ENQUEUE_CODE = RQJ003.code
# The methods with a one-to-one wrapper call: enqueue/enqueue_call -> enqueue(name, ...),
# enqueue_at/enqueue_in -> the wrapper's call of the same name.
REWRITABLE = {"enqueue", "enqueue_call", *SCHEDULING}

Rewrite = Callable[[cst.CSTNode], cst.CSTNode]
NO_WRAPPER = "call get_queue(name).<method>(...) by hand (the queue then comes from the wrapper)"
LEFT_AS_IT_IS = "the queue built on line {0} is left as it is (RQJ002)"
EVENT_JOB = "RQJ300"  # an event job's enqueue_at/enqueue_in keeps RQJ300's manual fix

__all__ = ["analyse", "decline_reason", "RQ_OPTIONS"]


def decline_reason(facts: QueueFacts) -> Optional[str]:
    """Why ``Queue(...)`` cannot become ``get_queue(name)``, or None."""
    if facts.subclass is not None and facts.subclass_path is not None:
        return (
            f"{facts.subclass} is a subclass of rq.Queue defined in {facts.subclass_path}: "
            "get_queue() builds a plain rq.Queue, so its overrides would be lost; rewrite by "
            "hand"
        )
    if facts.subclass is not None:
        return (
            f"{facts.subclass} is a local subclass of rq.Queue: get_queue() builds a plain "
            "rq.Queue, so its overrides would be lost; rewrite by hand"
        )
    if facts.star:
        return "Queue(...) built from *args/**kwargs"
    for extra in facts.extra:
        if extra.startswith("positional"):
            return "Queue(...) with more positional arguments than name and connection"
        return (
            f"Queue(..., {extra}=...) is not kept by get_queue(); move that setting to the "
            "wrapper by hand"
        )
    if facts.connection is None:
        return "Queue(...) without connection=: cannot tell which Redis it uses"
    if facts.connection.status is not ConnectionStatus.WRAPPER:
        return (
            f"connection {facts.connection.shown} is not provably the wrapper's Redis "
            "(REDIS_URL, no options); the rewrite could change which server the queue uses"
        )
    return None


def _method_reason(method: str) -> str:
    return f"{method}() has no one-to-one wrapper call; {NO_WRAPPER}"


def _wrapper_call(method: str) -> str:
    """The wrapper's call that ``q.<method>(...)`` becomes."""
    return method if method in SCHEDULING else ENQUEUE


def _convert(ctx: FixContext, call: cst.Call, method: str) -> Tuple[Optional[Builder], str]:
    """:func:`convert_enqueue`, after checking that the wrapper module offers the call
    (``enqueue_at``/``enqueue_in`` are newer than many wrappers)."""
    if method in SCHEDULING:
        if ctx.site_for(EVENT_JOB, call) is not None:
            return None, (
                f"an event job (RQJ300) scheduled with {method}(): the wrapper has no "
                f"{method} with a dedupe key; schedule it by hand with a deterministic job_id "
                "and unique=True, or deliver it with enqueue_with_dedupe"
            )
        root = str(ctx.config.root.resolve())
        missing = missing_export(root, ctx.config.wrapper_module, method)
        if missing is not None:
            return None, missing
    return convert_enqueue(call, method)


def _taken(method: str) -> str:
    return f"the name {_wrapper_call(method)} is taken in this module"


# --- helpers ---------------------------------------------------------------------------
def _name_argument(call: cst.Call) -> Optional[cst.Arg]:
    for index, arg in enumerate(call.args):
        if (arg.keyword is None and index == 0) or (arg.keyword and arg.keyword.value == "name"):
            return arg
    return None


def _method_call(ctx: FixContext, node: cst.CSTNode) -> Tuple[Optional[str], Optional[cst.Call]]:
    """For ``node`` used as ``node.method(...)``: (method, the call); else (attr or None, None)."""
    parent = ctx.parent(node)
    if not isinstance(parent, cst.Attribute) or parent.value is not node:
        return None, None
    grand = ctx.parent(parent)
    if isinstance(grand, cst.Call) and grand.func is parent:
        return parent.attr.value, grand
    return parent.attr.value, None


def _stable_name(ctx: FixContext, name_arg: Optional[cst.Arg], scopes: List[Scope]) -> bool:
    """Can the queue name expression be evaluated in each of ``scopes`` instead of where it
    is read now?"""
    if name_arg is None or calls.is_literal_string(name_arg.value):
        return True
    value = name_arg.value
    reference = ctx.reference_of(value) if isinstance(value, cst.Name) else None
    if reference is None:
        return False
    binding = ctx.model.single_binding(reference.name, reference.scope)
    if binding is None or binding.kind not in (BindingKind.ASSIGN, BindingKind.PARAM):
        return False
    return all(ctx.model.single_binding(reference.name, scope) is binding for scope in scopes)


def _name_expr(name_arg: Optional[cst.Arg]) -> cst.BaseExpression:
    if name_arg is None:
        return cst.SimpleString('"default"')
    return name_arg.value


def _get_queue_rewrite(local: str, name_index: Optional[int], has_name: bool) -> Rewrite:
    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        if not has_name:
            return node.with_changes(
                func=cst.Name(local),
                args=[cst.Arg(cst.SimpleString('"default"'))],
                whitespace_before_args=cst.SimpleWhitespace(""),
            )
        keep = name_index if name_index is not None else 0
        drop = [i for i in range(len(node.args)) if i != keep]
        return calls.drop_args(node, drop).with_changes(func=cst.Name(local))

    return rewrite


def _enqueue_rewrite(
    builder: Any, local: str, name_arg: Optional[cst.Arg], use_updated_name: bool
) -> Rewrite:
    original_name = _name_expr(name_arg)

    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        name = original_name
        if use_updated_name:
            # chained: take the (possibly fixed) name argument of the updated Queue(...) call
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            if isinstance(receiver, cst.Call) and name_arg is not None:
                for arg in receiver.args:
                    if arg.keyword is None or arg.keyword.value == "name":
                        name = arg.value
                        break
        return builder(node, local, name)

    return rewrite


# --- the fixer ---------------------------------------------------------------------------
def analyse(ctx: FixContext) -> None:
    handled: Set[Site] = set()  # RQJ003 sites answered with their queue's construction
    for site in ctx.sites_of(BUILD):
        call = ctx.node(site)
        if call is None:  # pragma: no cover - every RQJ002 site is a call
            ctx.manual(site, "the queue's construction was not found where the linter saw it")
            continue
        _construction(ctx, site, call, handled)
    for site in ctx.sites_of(ENQUEUE_CODE):
        if site not in handled:
            _other_enqueue(ctx, site)


def _uses_of(
    ctx: FixContext, call: cst.Call, assignment: Optional[BindingSite]
) -> List[Tuple[str, cst.Call]]:
    """The enqueue calls made on the queue built by ``call``: chained, or through the
    variable it is assigned to (``assignment``)."""
    model = ctx.model
    uses: List[Tuple[str, cst.Call]] = []
    method, method_call = _method_call(ctx, call)
    if method_call is not None and method in ENQUEUE_METHODS:
        uses.append((method or "", method_call))
    if assignment is not None:
        variable, scope = assignment.name, assignment.scope
        owner = model.lookup(variable, scope)
        if owner is not None and model.single_binding(variable, scope) is not None:
            for reference in model.references_to(variable, owner):
                node = ctx.name_node(reference)
                method, method_call = _method_call(ctx, node) if node else (None, None)
                if method_call is not None and method in ENQUEUE_METHODS:
                    uses.append((method or "", method_call))
    return uses


def _construction(ctx: FixContext, site: Site, call: cst.Call, handled: Set[Site]) -> None:
    model = ctx.model
    facts = site.facts
    assert isinstance(facts, QueueFacts)
    assignment = model.assignment_of(site.span)  # ``q = Queue(...)``
    reason = decline_reason(facts)
    if reason is not None:
        ctx.manual(site, reason)
        for _, use in _uses_of(ctx, call, assignment):
            use_site = ctx.site_for(ENQUEUE_CODE, use)
            if use_site is not None:
                handled.add(use_site)
                ctx.manual(use_site, LEFT_AS_IT_IS, (site.line,))
        return
    assert facts.connection is not None
    conn_name = facts.connection.variable
    name_arg = _name_argument(call)
    name_index = None if name_arg is None else list(call.args).index(name_arg)
    method, method_call = _method_call(ctx, call)
    if method_call is not None and method in ENQUEUE_METHODS:
        assert method is not None
        _chained(ctx, site, call, method, method_call, name_arg, name_index, conn_name, handled)
        return
    statement = ctx.positions.statement_of(call)
    if (
        assignment is not None
        and isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and model.single_binding(assignment.name, assignment.scope) is assignment
    ):
        _assigned(ctx, site, call, assignment, statement, name_arg, name_index, conn_name, handled)
        return
    _in_place(ctx, site, call, name_index, name_arg, conn_name)


def _chained(
    ctx: FixContext,
    site: Site,
    call: cst.Call,
    method: str,
    method_call: cst.Call,
    name_arg: Optional[cst.Arg],
    name_index: Optional[int],
    conn_name: Optional[str],
    handled: Set[Site],
) -> None:
    """``Queue(name, connection=c).<method>(...)``."""
    use_site = ctx.site_for(ENQUEUE_CODE, method_call)
    if use_site is not None:
        handled.add(use_site)
        if method in REWRITABLE:
            builder, why = _convert(ctx, method_call, method)
            local = ctx.wrapper_name(_wrapper_call(method)) if builder else None
            if builder is not None and local is not None:
                ctx.plan.replace[id(method_call)] = _enqueue_rewrite(builder, local, name_arg, True)
                ctx.fixed(site)
                ctx.fixed(use_site)
                _note_conn(ctx, conn_name)
                return
            ctx.manual(use_site, why or _taken(method))
        else:
            ctx.manual(use_site, _method_reason(method))
    _in_place(ctx, site, call, name_index, name_arg, conn_name)


def _in_place(
    ctx: FixContext,
    site: Site,
    call: cst.Call,
    name_index: Optional[int],
    name_arg: Optional[cst.Arg],
    conn_name: Optional[str],
) -> None:
    local = ctx.wrapper_name(GET_QUEUE)
    if local is None:
        ctx.manual(site, "the names get_queue and its alias are taken in this module")
        return
    ctx.plan.replace[id(call)] = _get_queue_rewrite(local, name_index, name_arg is not None)
    ctx.fixed(site)
    _note_conn(ctx, conn_name)


def _note_conn(ctx: FixContext, conn_name: Optional[str]) -> None:
    if conn_name is not None:
        ctx.cleanup_names.add(conn_name)


def _assigned(
    ctx: FixContext,
    site: Site,
    call: cst.Call,
    assignment: BindingSite,
    statement: cst.SimpleStatementLine,
    name_arg: Optional[cst.Arg],
    name_index: Optional[int],
    conn_name: Optional[str],
    handled: Set[Site],
) -> None:
    """``q = Queue(name, connection=c)``: its enqueues move to ``enqueue(name, ...)``; the
    assignment goes when nothing else uses ``q``."""
    model = ctx.model
    variable = assignment.name
    owner = model.lookup(variable, assignment.scope)
    assert owner is not None
    references = model.references_to(variable, owner)
    convertible: List[Tuple[cst.Call, Any, Site, str]] = []
    scopes: List[Scope] = []  # where the convertible calls are
    others = 0
    for reference in references:
        node = ctx.name_node(reference)
        method, method_call = _method_call(ctx, node) if node else (None, None)
        if method_call is not None and method in ENQUEUE_METHODS:
            assert method is not None
            use_site = ctx.site_for(ENQUEUE_CODE, method_call)
            if use_site is not None:
                handled.add(use_site)
                if method in REWRITABLE:
                    builder, why = _convert(ctx, method_call, method)
                    if builder is not None:
                        convertible.append((method_call, builder, use_site, method))
                        scopes.append(reference.scope)
                        continue
                    ctx.manual(use_site, why)
                else:
                    ctx.manual(use_site, _method_reason(method))
        others += 1
    stable = _stable_name(ctx, name_arg, scopes)
    exported = owner.kind is ScopeKind.MODULE and (
        variable in model.dunder_all or variable in ctx.options.keep_names
    )
    rewritten = bool(convertible) and stable
    if rewritten:
        for method_call, builder, use_site, method in convertible:
            local = ctx.wrapper_name(_wrapper_call(method))
            if local is None:
                ctx.manual(use_site, _taken(method))
                others += 1
                rewritten = False
                continue
            ctx.plan.replace[id(method_call)] = _enqueue_rewrite(builder, local, name_arg, False)
            ctx.fixed(use_site)
    elif convertible:
        for _, _, use_site, _ in convertible:
            ctx.manual(
                use_site,
                "the queue name is held in a variable that may change before this call; "
                "call enqueue(<name>, ...) by hand",
            )
            others += 1
    if others == 0 and references and not exported and rewritten:
        ctx.plan.remove.add(id(statement))
        ctx.fixed(site)
        _note_conn(ctx, conn_name)
        return
    _in_place(ctx, site, call, name_index, name_arg, conn_name)


def _receiver_scopes(ctx: FixContext, call: cst.Call) -> List[Scope]:
    """The scope of ``q.enqueue(...)`` (that of its read of ``q``); none for a chained
    ``get_queue(name).enqueue(...)``, which reads the name where it calls."""
    receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
    if not isinstance(receiver, cst.Name):
        return []
    reference = ctx.reference_of(receiver)
    return [reference.scope] if reference is not None else [_NOWHERE]


_NOWHERE = Scope(kind=ScopeKind.MODULE)  # a scope that binds nothing: never stable


def _other_enqueue(ctx: FixContext, site: Site) -> None:
    """``q.enqueue(...)`` on a queue that no construction here answered: from the wrapper's
    ``get_queue(name)`` it becomes ``enqueue(name, ...)``; anything else is manual."""
    facts = site.facts
    assert isinstance(facts, EnqueueFacts)
    if facts.callback:
        ctx.manual(
            site,
            f"{facts.receiver}.{facts.method} is passed on as a callback, not called here: "
            "pass a function that calls the wrapper's enqueue(<queue name>, ...) instead",
        )
        return
    if facts.origin is Origin.BUILT_HERE:
        assert facts.source is not None
        ctx.manual(
            site, "the queue built on line {0} stays as it is (RQJ002)", (facts.source.line,)
        )
        return
    if facts.origin is Origin.IMPORTED:
        name = repr(facts.queue_name) if facts.queue_name is not None else "<queue name>"
        ctx.manual(
            site,
            f"{facts.receiver} is a queue built by {facts.factory}() in {facts.module_path}, "
            f"another module: call the wrapper's enqueue({name}, ...) by hand and drop the "
            "queue there once nothing uses it",
        )
        return
    if facts.method not in REWRITABLE or (
        facts.method in SCHEDULING and facts.factory in SCHEDULER_FACTORIES
    ):  # rq-scheduler's enqueue_at/enqueue_in: its own registry and process, not RQ's
        ctx.manual(site, _method_reason(facts.method))
        return
    if facts.origin is Origin.OTHER_FACTORY:
        ctx.manual(
            site,
            f"the queue comes from {facts.factory}(), not from the wrapper's get_queue(), so "
            "which queue it is is not known here; call the wrapper's enqueue(<queue name>, "
            "...) by hand",
        )
        return
    if facts.origin is Origin.UNSEEN:
        ctx.manual(
            site,
            f"{facts.receiver} is bound more than once or outside this scope, so which "
            "queue it holds is not known here; call the wrapper's enqueue(<queue name>, ...) "
            "by hand",
        )
        return
    call = ctx.node(site)
    factory_call = ctx.call_at(facts.source) if facts.source is not None else None
    if call is None or factory_call is None:  # pragma: no cover - both are calls
        ctx.manual(site, "the queue's get_queue() call was not found where the linter saw it")
        return
    pos = calls.positional(factory_call)
    name_arg = pos[0] if pos else calls.keyword(factory_call, "name")
    if len(factory_call.args) > 1 or calls.has_star(factory_call):
        ctx.manual(site, "get_queue(...) with unexpected arguments")
        return
    if not _stable_name(ctx, name_arg, _receiver_scopes(ctx, call)):
        ctx.manual(
            site, "the queue name may change before this call; call enqueue(<name>, ...) by hand"
        )
        return
    builder, why = _convert(ctx, call, facts.method)
    local = ctx.wrapper_name(_wrapper_call(facts.method)) if builder is not None else None
    if builder is None or local is None:
        ctx.manual(site, why or _taken(facts.method))
        return
    chained = facts.variable is None
    ctx.plan.replace[id(call)] = _enqueue_rewrite(builder, local, name_arg, chained)
    ctx.fixed(site)
    if facts.variable is not None:
        ctx.cleanup_names.add(facts.variable)
