"""RQJ002/RQJ003 fixer: queues built inline become the wrapper's ``enqueue``/``get_queue``.

What it rewrites, when the queue is RQ's ``Queue`` (any alias) built with only a name and the
wrapper's connection (``get_redis()``, ``Redis.from_url(<REDIS_URL>)`` or a name bound once
to one of those):

- ``Queue(name, connection=c).enqueue(f, ...)`` -> ``enqueue(name, f, ...)``;
- ``q = Queue(name, connection=c)`` whose only uses are ``q.enqueue(f, ...)`` -> those calls
  become ``enqueue(name, f, ...)`` and the assignment goes (module level too, unless
  ``__all__`` lists it or another file of the run imports it: then ``q = get_queue(name)``);
- ``enqueue_call(func=f, args=(...), kwargs={...}, timeout=...)`` with literal ``args`` and
  ``kwargs`` -> ``enqueue(name, f, *args, **kwargs, job_timeout=...)``;
- any other use of the queue (``q.count``, ``q.fetch_job(...)``, passing it on, a chained
  ``.failed_job_registry``) -> the construction becomes ``get_queue(name)``.

A missing name becomes ``"default"``. A name held in a variable stays a variable, and
``q.enqueue`` calls are only moved to ``enqueue(name, ...)`` when that variable cannot have
changed in between (bound once). Connection variables and imports left unused are removed.

What it refuses (manual fixes): other ``Queue`` arguments (``default_timeout``,
``is_async``, ``serializer``...: ``get_queue`` would drop them), a connection that is not
provably the wrapper's, ``enqueue_at``/``enqueue_in``/``enqueue_many``, non-literal
``enqueue_call`` arguments, function keyword arguments that RQ would take for its own
options, queues that come from elsewhere.
"""

from __future__ import annotations

import keyword as keywords
from typing import Any, Callable, List, Optional, Tuple

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.fixers.redis_clients import wrapper_connection
from flake8_rqjobs.fixers.scopes import ASSIGN, PARAM, Binding, Model, Scope

BUILD = "RQJ002"
ENQUEUE = "RQJ003"
QUEUE_CLASSES = {"rq.Queue"}
REWRITABLE = {"enqueue", "enqueue_call"}
ENQUEUE_FAMILY = {"enqueue", "enqueue_call", "enqueue_at", "enqueue_in", "enqueue_many"}
# Keywords that rq's Queue.enqueue takes for itself (Queue.parse_args, rq 2.x and 3.x).
RQ_OPTIONS = {
    "job_timeout",
    "description",
    "result_ttl",
    "ttl",
    "failure_ttl",
    "depends_on",
    "job_id",
    "at_front",
    "meta",
    "retry",
    "repeat",
    "on_success",
    "on_failure",
    "on_stopped",
    "rate_limit",
    "webhooks",
    "pipeline",
    "unique",
    "args",
    "kwargs",
}
# enqueue_call's own keywords, and their enqueue spelling.
CALL_OPTIONS = {name: name for name in RQ_OPTIONS - {"job_timeout", "args", "kwargs"}}
CALL_OPTIONS["timeout"] = "job_timeout"

Rewrite = Callable[[cst.CSTNode], cst.CSTNode]
NO_WRAPPER = "call get_queue(name).<method>(...) by hand (the queue then comes from the wrapper)"


# --- enqueue call conversion -----------------------------------------------------------
def convert_enqueue(
    call: cst.Call, method: str
) -> Tuple[Optional[Callable[[cst.Call, str, cst.BaseExpression], cst.Call]], str]:
    """A builder for ``enqueue(name, ...)`` from ``recv.<method>(...)``, or a reason."""
    if method == "enqueue":
        first = call.args[0] if call.args else None
        if first is None or first.keyword is not None or first.star:
            return None, "the job function is not the first positional argument"

        def build_enqueue(updated: cst.Call, local: str, name: cst.BaseExpression) -> cst.Call:
            return updated.with_changes(func=cst.Name(local), args=calls.prepend_arg(updated, name))

        return build_enqueue, ""
    return _convert_enqueue_call(call)


def _convert_enqueue_call(call: cst.Call):  # type: ignore[no-untyped-def]
    if calls.has_star(call):
        return None, "enqueue_call with *args/**kwargs: its options cannot be checked"
    slots: dict = {}
    positional_names = ["func", "args", "kwargs"]
    for index, arg in enumerate(call.args):
        if arg.keyword is None:
            if index >= len(positional_names):
                return None, "enqueue_call with more than three positional arguments"
            slots[positional_names[index]] = index
        else:
            slots[arg.keyword.value] = index
    if "func" not in slots:
        return None, "enqueue_call without func"
    unknown = [k for k in slots if k not in ("func", "args", "kwargs") and k not in CALL_OPTIONS]
    if unknown:
        return None, f"enqueue_call with unknown keyword {unknown[0]}"
    options = {CALL_OPTIONS[k] for k in slots if k in CALL_OPTIONS}
    if "args" in slots:
        value = call.args[slots["args"]].value
        if not _literal_args(value):
            return None, "enqueue_call args= is not a literal tuple or list"
    if "kwargs" in slots:
        value = call.args[slots["kwargs"]].value
        problem = _literal_kwargs(value, options)
        if problem:
            return None, problem

    def build(updated: cst.Call, local: str, name: cst.BaseExpression) -> cst.Call:
        args = updated.args
        specs: List[calls.ArgSpec] = [(None, name, ""), (None, args[slots["func"]].value, "")]
        if "args" in slots:
            value = args[slots["args"]].value
            if isinstance(value, (cst.Tuple, cst.List)):
                specs += [(None, element.value, "") for element in value.elements]
        if "kwargs" in slots:
            value = args[slots["kwargs"]].value
            if isinstance(value, cst.Dict):
                for element in value.elements:
                    assert isinstance(element, cst.DictElement)
                    key = calls.string_value(element.key)
                    assert key is not None
                    specs.append((key, element.value, ""))
        for index, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword.value in CALL_OPTIONS:
                specs.append((CALL_OPTIONS[arg.keyword.value], arg.value, ""))
            del index
        return updated.with_changes(func=cst.Name(local), args=calls.build_args(updated, specs))

    return build, ""


def _literal_args(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Name) and value.value == "None":
        return True
    return isinstance(value, (cst.Tuple, cst.List)) and not any(
        isinstance(e, cst.StarredElement) for e in value.elements
    )


def _literal_kwargs(value: cst.BaseExpression, options: set) -> str:
    if isinstance(value, cst.Name) and value.value == "None":
        return ""
    if not isinstance(value, cst.Dict):
        return "enqueue_call kwargs= is not a literal dict"
    seen = set()
    for element in value.elements:
        if not isinstance(element, cst.DictElement):
            return "enqueue_call kwargs= unpacks another mapping"
        key = calls.string_value(element.key)
        if key is None or not key.isidentifier() or keywords.iskeyword(key):
            return "enqueue_call kwargs= has a key that is not a plain name"
        if key in RQ_OPTIONS:
            return f"the job's keyword {key!r} would be taken by enqueue() as an RQ option"
        if key in options or key in seen:
            return f"keyword {key!r} given twice"
        seen.add(key)
    return ""


# --- helpers ---------------------------------------------------------------------------
def queue_arguments(call: cst.Call) -> Tuple[Optional[cst.Arg], Optional[cst.Arg], str]:
    """(name argument or None, connection argument, reason when not rewritable)."""
    if calls.has_star(call):
        return None, None, "Queue(...) built from *args/**kwargs"
    name_arg = conn_arg = None
    for index, arg in enumerate(call.args):
        if arg.keyword is None:
            if index == 0:
                name_arg = arg
            elif index == 1:
                conn_arg = arg
            else:
                return (
                    None,
                    None,
                    "Queue(...) with more positional arguments than name and connection",
                )
        elif arg.keyword.value == "name":
            name_arg = arg
        elif arg.keyword.value == "connection":
            conn_arg = arg
        else:
            return (
                None,
                None,
                (
                    f"Queue(..., {arg.keyword.value}=...) is not kept by get_queue(); "
                    "move that setting to the wrapper by hand"
                ),
            )
    if conn_arg is None:
        return None, None, "Queue(...) without connection=: cannot tell which Redis it uses"
    return name_arg, conn_arg, ""


def _method_call(model: Model, node: cst.CSTNode) -> Tuple[Optional[str], Optional[cst.Call]]:
    """For ``node`` used as ``node.method(...)``: (method, the call); else (attr or None, None)."""
    parent = model.parent(node)
    if not isinstance(parent, cst.Attribute) or parent.value is not node:
        return None, None
    grand = model.parent(parent)
    if isinstance(grand, cst.Call) and grand.func is parent:
        return parent.attr.value, grand
    return parent.attr.value, None


def _stable_name(
    ctx: FixContext, name_arg: Optional[cst.Arg], at: Scope, sites: List[cst.Call]
) -> bool:
    """Can the queue name expression be evaluated at each of ``sites`` instead of ``at``?"""
    if name_arg is None or calls.is_literal_string(name_arg.value):
        return True
    value = name_arg.value
    if not isinstance(value, cst.Name):
        return False
    binding = ctx.model.single_binding(value.value, at)
    if binding is None or binding.kind not in (ASSIGN, PARAM):
        return False
    for site in sites:
        if ctx.model.single_binding(value.value, ctx.model.scope_at(site)) is not binding:
            return False
    return True


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
    builder, local: str, name_arg: Optional[cst.Arg], use_updated_name: bool
) -> Rewrite:  # type: ignore[no-untyped-def]
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
    model = ctx.model
    handled: set = set()
    for call in model.calls:
        scope = model.scope_at(call)
        if model.qualname(call.func, scope) not in QUEUE_CLASSES:
            continue
        if not ctx.flagged(BUILD, call):
            continue
        _construction(ctx, call, scope, handled)
    for call in model.calls:
        if id(call) in handled or not isinstance(call.func, cst.Attribute):
            continue
        if call.func.attr.value not in ENQUEUE_FAMILY or not ctx.flagged(ENQUEUE, call):
            continue
        _other_enqueue(ctx, call)


def _construction(ctx: FixContext, call: cst.Call, scope: Scope, handled: set) -> None:
    model = ctx.model
    name_arg, conn_arg, problem = queue_arguments(call)
    if problem:
        _refuse(ctx, call, scope, problem, handled)
        return
    assert conn_arg is not None
    ok, reason, conn_name = wrapper_connection(conn_arg.value, scope, ctx)
    if not ok:
        _refuse(ctx, call, scope, reason, handled)
        return
    name_index = None if name_arg is None else list(call.args).index(name_arg)
    method, method_call = _method_call(model, call)
    if method_call is not None and method in ENQUEUE_FAMILY:
        handled.add(id(method_call))
        if method in REWRITABLE and ctx.selected(ENQUEUE):
            builder, why = convert_enqueue(method_call, method)
            local = ctx.wrapper_name("enqueue") if builder else None
            if builder is not None and local is not None:
                ctx.plan.replace[id(method_call)] = _enqueue_rewrite(builder, local, name_arg, True)
                ctx.fixed(BUILD, call)
                ctx.fixed(ENQUEUE, method_call)
                _note_conn(ctx, conn_name)
                return
            ctx.manual(ENQUEUE, method_call, why or "the name enqueue is taken in this module")
        else:
            ctx.manual(
                ENQUEUE,
                method_call,
                f"{method}() has no one-to-one wrapper call; {NO_WRAPPER}",
            )
        _in_place(ctx, call, name_index, name_arg, conn_name)
        return
    parent = model.parent(call)
    statement = model.statement_of(call)
    if (
        isinstance(parent, cst.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0].target, cst.Name)
        and isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
    ):
        variable = parent.targets[0].target.value
        binding = model.single_binding(variable, scope)
        if binding is not None and binding.statement is statement:
            _assigned(ctx, call, scope, variable, binding, name_arg, name_index, conn_name, handled)
            return
    _in_place(ctx, call, name_index, name_arg, conn_name)


def _refuse(ctx: FixContext, call: cst.Call, scope: Scope, reason: str, handled: set) -> None:
    """Leave the queue built by ``call`` alone, and the jobs enqueued on it too."""
    model = ctx.model
    ctx.manual(BUILD, call, reason)
    uses: List[cst.Call] = []
    method, method_call = _method_call(model, call)
    if method_call is not None and method in ENQUEUE_FAMILY:
        uses.append(method_call)
    parent = model.parent(call)
    if (
        isinstance(parent, cst.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0].target, cst.Name)
    ):
        variable = parent.targets[0].target.value
        owner = model.lookup(variable, scope)
        if owner is not None and model.single_binding(variable, scope) is not None:
            for reference in model.references_to(variable, owner):
                method, method_call = _method_call(model, reference.node)
                if method_call is not None and method in ENQUEUE_FAMILY:
                    uses.append(method_call)
    line = ctx.line(call)
    for use in uses:
        handled.add(id(use))
        ctx.manual(ENQUEUE, use, f"the queue built on line {line} is left as it is (RQJ002)")


def _in_place(
    ctx: FixContext,
    call: cst.Call,
    name_index: Optional[int],
    name_arg: Optional[cst.Arg],
    conn_name: Optional[str],
) -> None:
    local = ctx.wrapper_name("get_queue")
    if local is None:
        ctx.manual(BUILD, call, "the names get_queue and its alias are taken in this module")
        return
    ctx.plan.replace[id(call)] = _get_queue_rewrite(local, name_index, name_arg is not None)
    ctx.fixed(BUILD, call)
    _note_conn(ctx, conn_name)


def _note_conn(ctx: FixContext, conn_name: Optional[str]) -> None:
    if conn_name is not None:
        ctx.cleanup_names.add(conn_name)


def _assigned(
    ctx: FixContext,
    call: cst.Call,
    scope: Scope,
    variable: str,
    binding: Binding,
    name_arg: Optional[cst.Arg],
    name_index: Optional[int],
    conn_name: Optional[str],
    handled: set,
) -> None:
    model = ctx.model
    owner = model.lookup(variable, scope)
    assert owner is not None
    references = model.references_to(variable, owner)
    convertible: List[Tuple[cst.Call, Any, str]] = []
    others = 0
    for reference in references:
        method, method_call = _method_call(model, reference.node)
        if method_call is not None and method in ENQUEUE_FAMILY:
            handled.add(id(method_call))
            if method in REWRITABLE and ctx.selected(ENQUEUE) and ctx.flagged(ENQUEUE, method_call):
                builder, why = convert_enqueue(method_call, method)
                if builder is not None:
                    convertible.append((method_call, builder, method))
                    continue
                ctx.manual(ENQUEUE, method_call, why)
            else:
                ctx.manual(
                    ENQUEUE,
                    method_call,
                    f"{method}() has no one-to-one wrapper call; {NO_WRAPPER}",
                )
        others += 1
    sites = [c for c, _, _ in convertible]
    stable = _stable_name(ctx, name_arg, scope, sites)
    exported = owner.kind == "module" and (
        variable in model.dunder_all or variable in ctx.options.keep_names
    )
    enqueue_local = ctx.wrapper_name("enqueue") if convertible and stable else None
    if convertible and enqueue_local is not None:
        for method_call, builder, _ in convertible:
            ctx.plan.replace[id(method_call)] = _enqueue_rewrite(
                builder, enqueue_local, name_arg, False
            )
            ctx.fixed(ENQUEUE, method_call)
    elif convertible:
        for method_call, _, _ in convertible:
            ctx.manual(
                ENQUEUE,
                method_call,
                (
                    "the queue name is held in a variable that may change before this call; "
                    "call enqueue(<name>, ...) by hand"
                ),
            )
            others += 1
    if others == 0 and references and not exported and enqueue_local is not None:
        assert binding.statement is not None
        ctx.plan.remove.add(id(binding.statement))
        ctx.fixed(BUILD, call)
        _note_conn(ctx, conn_name)
        return
    _in_place(ctx, call, name_index, name_arg, conn_name)


def _other_enqueue(ctx: FixContext, call: cst.Call) -> None:
    """``q.enqueue(...)`` on a queue that was not built here: from the wrapper's
    ``get_queue(name)`` it becomes ``enqueue(name, ...)``; anything else is manual."""
    model = ctx.model
    assert isinstance(call.func, cst.Attribute)
    method = call.func.attr.value
    receiver = call.func.value
    scope = model.scope_at(call)
    factory_call: Optional[cst.Call] = None
    if isinstance(receiver, cst.Call):
        factory_call = receiver
    elif isinstance(receiver, cst.Name):
        binding = model.single_binding(receiver.value, scope)
        if binding is not None and binding.kind == ASSIGN and isinstance(binding.value, cst.Call):
            factory_call = binding.value
    wrapper_get_queue = {f"{ctx.config.wrapper_module}.get_queue", "rqjobs.get_queue"}
    factory = (
        model.qualname(factory_call.func, model.scope_at(factory_call)) if factory_call else None
    )
    if factory_call is None or factory not in wrapper_get_queue:
        if factory in QUEUE_CLASSES and factory_call is not None:
            reason = f"the queue built on line {ctx.line(factory_call)} stays as it is (RQJ002)"
        else:
            reason = (
                "the queue comes from outside this module or from another factory; call the "
                "wrapper's enqueue(<queue name>, ...) by hand"
            )
        ctx.manual(ENQUEUE, call, reason)
        return
    if method not in REWRITABLE:
        ctx.manual(
            ENQUEUE,
            call,
            f"{method}() has no one-to-one wrapper call; {NO_WRAPPER}",
        )
        return
    pos = calls.positional(factory_call)
    name_arg = pos[0] if pos else calls.keyword(factory_call, "name")
    if len(factory_call.args) > 1 or calls.has_star(factory_call):
        ctx.manual(ENQUEUE, call, "get_queue(...) with unexpected arguments")
        return
    if not _stable_name(ctx, name_arg, model.scope_at(factory_call), [call]):
        ctx.manual(
            ENQUEUE,
            call,
            "the queue name may change before this call; call enqueue(<name>, ...) by hand",
        )
        return
    builder, why = convert_enqueue(call, method)
    local = ctx.wrapper_name("enqueue") if builder is not None else None
    if builder is None or local is None:
        ctx.manual(ENQUEUE, call, why or "the name enqueue is taken in this module")
        return
    ctx.plan.replace[id(call)] = _enqueue_rewrite(
        builder, local, name_arg, isinstance(receiver, cst.Call)
    )
    ctx.fixed(ENQUEUE, call)
    if isinstance(receiver, cst.Name):
        ctx.cleanup_names.add(receiver.value)
