"""RQJ001 fixer: ``Redis.from_url(<REDIS_URL>)`` becomes ``get_redis()``.

What it rewrites: ``redis.from_url``, ``Redis.from_url`` and ``StrictRedis.from_url`` (any
import alias) whose URL is the wrapper's own: ``os.getenv("REDIS_URL")``,
``os.environ["REDIS_URL"]``, ``os.environ.get("REDIS_URL")``, or a name bound once to one of
those. Plain keyword options pass through (``decode_responses=True`` becomes
``get_redis(decode_responses=True)``: the runtime caches one client per set of options).
The call is replaced where it stands, so ``redis.from_url(REDIS_URL) if REDIS_URL else None``
keeps its condition.

What it refuses (reported as manual fixes): a default URL other than the runtime's
(``redis://localhost:6379/0``: the rewrite would change which server is used when
``REDIS_URL`` is unset), any other URL, the host/port form, ``**kwargs`` options, connection
pools and Sentinel.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.fixers.scopes import ASSIGN, Model, Scope

CODE = "RQJ001"
# The runtime's default (rqjobs.settings.DEFAULT_REDIS_URL); the linter half must not import
# the runtime, and a test checks that the two agree.
RUNTIME_DEFAULT_URL = "redis://localhost:6379/0"
URL_VARIABLE = "REDIS_URL"

FROM_URL = {"redis.from_url", "redis.Redis.from_url", "redis.StrictRedis.from_url"}
CLIENTS = {"redis.Redis", "redis.StrictRedis"}
POOLS = {
    "redis.ConnectionPool",
    "redis.BlockingConnectionPool",
    "redis.ConnectionPool.from_url",
    "redis.BlockingConnectionPool.from_url",
}
SENTINEL = {"redis.Sentinel", "redis.sentinel.Sentinel"}
ENV_GETTERS = {"os.getenv", "os.environ.get"}

Verdict = Tuple[bool, str]


def _env_default(call: cst.Call) -> Tuple[bool, Optional[cst.BaseExpression]]:
    """(True, default-or-None) for ``getenv("REDIS_URL"[, default])``; (False, None) otherwise."""
    if calls.has_star(call):
        return False, None
    pos = calls.positional(call)
    key = pos[0].value if pos else None
    if key is None or calls.string_value(key) != URL_VARIABLE:
        return False, None
    default = pos[1].value if len(pos) > 1 else None
    extra = [a for a in call.args if a.keyword is not None]
    if len(pos) > 2 or any(a.keyword is None or a.keyword.value != "default" for a in extra):
        return False, None
    if extra:
        if default is not None:
            return False, None
        default = extra[0].value
    return True, default


def _check_default(default: Optional[cst.BaseExpression], module: cst.Module) -> Verdict:
    if default is None or (isinstance(default, cst.Name) and default.value == "None"):
        return True, ""
    value = calls.string_value(default)
    if value == RUNTIME_DEFAULT_URL:
        return True, ""
    shown = module.code_for_node(default)
    return False, (
        f"REDIS_URL falls back to {shown}, not the runtime's {RUNTIME_DEFAULT_URL!r}: "
        "get_redis() would use another server when REDIS_URL is unset"
    )


def classify_url(
    expr: cst.BaseExpression, scope: Scope, model: Model, module: cst.Module, depth: int = 0
) -> Tuple[bool, str, Optional[str]]:
    """Is ``expr`` the wrapper's URL? -> (ok, reason when not, name of a URL variable)."""
    shown = module.code_for_node(expr)
    other = f"URL {shown} is not the wrapper's REDIS_URL; call get_redis() by hand if it is"
    if isinstance(expr, cst.Call):
        if model.qualname(expr.func, scope) in ENV_GETTERS:
            is_env, default = _env_default(expr)
            if is_env:
                ok, reason = _check_default(default, module)
                return ok, reason, None
        return False, other, None
    if isinstance(expr, cst.Subscript):
        if (
            model.qualname(expr.value, scope) == "os.environ"
            and len(expr.slice) == 1
            and isinstance(expr.slice[0].slice, cst.Index)
            and calls.string_value(expr.slice[0].slice.value) == URL_VARIABLE
        ):
            return True, "", None
        return False, other, None
    if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
        # os.getenv("REDIS_URL") or "redis://..."
        left_ok, _, _ = classify_url(expr.left, scope, model, module, depth + 1)
        if left_ok and calls.string_value(expr.right) is not None:
            ok, reason = _check_default(expr.right, module)
            return ok, reason, None
        return False, other, None
    if isinstance(expr, cst.Name) and depth < 3:
        binding = model.single_binding(expr.value, scope)
        if binding is None or binding.kind != ASSIGN or binding.value is None:
            return (
                False,
                (f"URL comes from {expr.value}, which is not bound once to REDIS_URL here"),
                None,
            )
        assert binding.statement is not None
        ok, reason, _ = classify_url(
            binding.value, model.scope_at(binding.statement), model, module, depth + 1
        )
        if not ok:
            return False, reason, None
        return True, "", expr.value
    return False, other, None


def from_url_parts(call: cst.Call) -> Tuple[Optional[int], Optional[str]]:
    """(index of the URL argument, reason when the call's arguments cannot be rewritten)."""
    if any(arg.star == "**" for arg in call.args):
        return None, "options passed as **kwargs cannot be checked; rewrite by hand"
    if any(arg.star == "*" for arg in call.args):
        return None, "arguments passed as *args; rewrite by hand"
    url_index = None
    for index, arg in enumerate(call.args):
        if (arg.keyword is None and index == 0) or (arg.keyword and arg.keyword.value == "url"):
            url_index = index
        elif arg.keyword is None:
            return None, "unexpected positional arguments; rewrite by hand"
    if url_index is None:
        return None, "no URL argument"
    return url_index, None


def wrapper_connection(
    expr: cst.BaseExpression, scope: Scope, ctx: FixContext, depth: int = 0
) -> Tuple[bool, str, Optional[str]]:
    """Is ``expr`` the wrapper's default connection? -> (ok, reason, connection variable).

    True for ``get_redis()`` from the wrapper, for ``Redis.from_url(<REDIS_URL>)`` without
    options, and for a name bound once to one of those."""
    model, module = ctx.model, ctx.module
    shown = module.code_for_node(expr)
    reason = (
        f"connection {shown} is not provably the wrapper's Redis (REDIS_URL, no options); "
        "the rewrite could change which server the queue uses"
    )
    if isinstance(expr, cst.Call):
        qualname = model.qualname(expr.func, scope)
        if qualname in (f"{ctx.config.wrapper_module}.get_redis", "rqjobs.get_redis"):
            return (not expr.args), ("" if not expr.args else reason), None
        if qualname in FROM_URL:
            url_index, problem = from_url_parts(expr)
            if problem is None and url_index is not None and len(expr.args) == 1:
                ok, _, _ = classify_url(expr.args[url_index].value, scope, model, module)
                if ok:
                    return True, "", None
        return False, reason, None
    if isinstance(expr, cst.Name) and depth < 2:
        binding = model.single_binding(expr.value, scope)
        if binding is not None and binding.kind == ASSIGN and binding.value is not None:
            assert binding.statement is not None
            ok, _, _ = wrapper_connection(
                binding.value, model.scope_at(binding.statement), ctx, depth + 1
            )
            if ok:
                return True, "", expr.value
    return False, reason, None


def _rewrite(local: str, url_index: int):  # type: ignore[no-untyped-def]
    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        return calls.drop_args(node, [url_index]).with_changes(func=cst.Name(local))

    return rewrite


def analyse(ctx: FixContext) -> None:
    model = ctx.model
    for call in model.calls:
        if not ctx.flagged(CODE, call):
            continue
        scope = model.scope_at(call)
        qualname = model.qualname(call.func, scope)
        if qualname is None:
            continue
        if qualname in FROM_URL:
            _from_url(ctx, call, scope)
        elif qualname in CLIENTS:
            ctx.manual(
                CODE,
                call,
                (
                    "client built from host/port arguments, not from REDIS_URL; set REDIS_URL "
                    "and call get_redis() by hand"
                ),
            )
        elif qualname in POOLS:
            ctx.manual(
                CODE,
                call,
                (
                    "connection pool built by hand; get_redis() manages the pool: pass its "
                    "options to get_redis(...) by hand"
                ),
            )
        elif qualname in SENTINEL:
            ctx.manual(
                CODE,
                call,
                ("Sentinel client: point REDIS_URL at the master and call get_redis(), by hand"),
            )


def _from_url(ctx: FixContext, call: cst.Call, scope: Scope) -> None:
    url_index, problem = from_url_parts(call)
    if problem is not None or url_index is None:
        ctx.manual(CODE, call, problem or "no URL argument")
        return
    ok, reason, url_name = classify_url(call.args[url_index].value, scope, ctx.model, ctx.module)
    if not ok:
        ctx.manual(CODE, call, reason)
        return
    local = ctx.wrapper_name("get_redis")
    if local is None:
        ctx.manual(CODE, call, "the names get_redis and its alias are taken in this module")
        return
    ctx.plan.replace[id(call)] = _rewrite(local, url_index)
    ctx.fixed(CODE, call)
    if url_name is not None:
        owner = ctx.model.lookup(url_name, scope)
        if owner is not None and owner.kind == "function":
            ctx.cleanup_names.add(url_name)


__all__: List[str] = ["analyse", "classify_url", "wrapper_connection", "RUNTIME_DEFAULT_URL"]
