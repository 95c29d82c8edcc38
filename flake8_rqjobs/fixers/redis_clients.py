"""RQJ001 fixer: ``Redis.from_url(<REDIS_URL>)`` becomes ``get_redis()``.

Reads the linter's :class:`~flake8_rqjobs.rules.redis_clients.ClientFacts` (what the call
builds, from which URL, with which options) and rewrites the call where it stands, so
``redis.from_url(REDIS_URL) if REDIS_URL else None`` keeps its condition. What is rewritten
and when the fixer declines is the rule's ``fix_safety`` (``flake8-rqjobs explain RQJ001``).
"""

from __future__ import annotations

import os
import re
from typing import Callable, Dict, List, Optional

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.fixers.wrapper_source import WrapperDefault, wrapper_default
from flake8_rqjobs.rules.base import Site
from flake8_rqjobs.rules.redis_clients import (
    GET_REDIS,
    RQJ001,
    RUNTIME_DEFAULT_URL,
    ArgsShape,
    ClientFacts,
    ClientKind,
    UrlFacts,
    UrlStatus,
)

CODE = RQJ001.code
RUNTIME_WRAPPER = WrapperDefault(RUNTIME_DEFAULT_URL, "the runtime's")

_KIND_REASONS = {
    ClientKind.CLIENT: (
        "client built from host/port arguments, not from REDIS_URL; set REDIS_URL and call "
        "get_redis() by hand"
    ),
    ClientKind.POOL: (
        "connection pool built by hand; get_redis() manages the pool: pass its options to "
        "get_redis(...) by hand"
    ),
    ClientKind.SENTINEL: (
        "Sentinel client: set REDIS_URL=redis+sentinel://HOST1:PORT1,HOST2:PORT2/SERVICE[/DB] "
        "(the sentinels given to Sentinel(...), the name given to master_for(...)) and call "
        "get_redis(), by hand; pointing REDIS_URL at the current master would remove failover"
    ),
    ClientKind.CLUSTER: (
        "cluster client: get_redis() builds a single-node client, so the rewrite would lose "
        "the cluster's slot routing; keep it, or point REDIS_URL at one node by hand"
    ),
    ClientKind.THIRD_PARTY: (
        "builds a Redis client outside the wrapper: set REDIS_URL to the server it connects "
        "to and call get_redis() by hand (what the library adds to the client is not known here)"
    ),
}
_SHAPE_REASONS = {
    ArgsShape.STAR_KWARGS: "options passed as **kwargs cannot be checked; rewrite by hand",
    ArgsShape.STAR_ARGS: "arguments passed as *args; rewrite by hand",
    ArgsShape.EXTRA_POSITIONAL: "unexpected positional arguments; rewrite by hand",
    ArgsShape.NO_URL: "no URL argument; call get_redis() by hand if it is the wrapper's Redis",
}


def url_reason(url: UrlFacts) -> str:
    """Why ``url`` is not provably the wrapper's REDIS_URL (its :class:`UrlStatus`)."""
    if url.status is UrlStatus.OTHER_DEFAULT:
        return (
            f"REDIS_URL falls back to {url.fallback}, not the runtime's "
            f"{RUNTIME_DEFAULT_URL!r}: get_redis() would use another server when REDIS_URL "
            "is unset"
        )
    if url.status is UrlStatus.UNSEEN_VARIABLE:
        return f"URL comes from {url.variable}, which is not bound once to REDIS_URL here"
    return f"URL {url.shown} is not the wrapper's REDIS_URL; call get_redis() by hand if it is"


def default_reason(url: UrlFacts, wrapper: WrapperDefault) -> Optional[str]:
    """Why a URL read from REDIS_URL with a literal fallback is not the wrapper's (its
    fallback is not the one the wrapper's get_redis() uses), or None when it is."""
    if url.status not in (UrlStatus.WRAPPER, UrlStatus.OTHER_DEFAULT):
        return url_reason(url)
    if url.default is None:  # no fallback (a missing REDIS_URL fails today), or not a literal
        return url_reason(url) if url.status is UrlStatus.OTHER_DEFAULT else None
    if wrapper.url is None:
        return (
            f"REDIS_URL falls back to {url.default!r} and the default URL of "
            f"{wrapper.source} cannot be read; pass --wrapper-default-url if it is that one"
        )
    if url.default != wrapper.url:
        if wrapper is RUNTIME_WRAPPER or wrapper.source == RUNTIME_WRAPPER.source:
            return url_reason(url)
        return (
            f"REDIS_URL falls back to {url.default!r}, not the wrapper's {wrapper.url!r} (from "
            f"{wrapper.source}): get_redis() would use another server when REDIS_URL is unset"
        )
    return None


def decline_reason(facts: ClientFacts, wrapper: WrapperDefault = RUNTIME_WRAPPER) -> Optional[str]:
    """Why the call must stay as it is, or None when it can become ``get_redis(...)``."""
    if facts.subclass is not None:
        return (
            f"{facts.subclass} is a local subclass of a redis client: get_redis() returns a "
            "plain client without its overrides; rewrite by hand"
        )
    if facts.kind is not ClientKind.FROM_URL:
        return _KIND_REASONS[facts.kind]
    if facts.shape is not ArgsShape.OK:
        return _SHAPE_REASONS[facts.shape]
    assert facts.url is not None
    return default_reason(facts.url, wrapper)


DEFAULT_SERVER = {"host": ("localhost", "127.0.0.1"), "port": (6379,), "db": (0,)}
SERVER_ARGUMENTS = ("host", "port", "db")  # redis.Redis's first positional parameters


def _literal(expr: cst.BaseExpression) -> object:
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    value = calls.string_value(expr)
    return value if value is not None else _literal


def default_server(call: cst.Call) -> Optional[bool]:
    """Does a host/port client talk to the runtime's default server (``localhost:6379``,
    db 0: ``Redis()``, ``Redis(host="localhost", port=6379, db=0)``)? ``None`` when its
    server arguments are not literals (or are passed as ``*args``/``**kwargs``)."""
    if calls.has_star(call):
        return None
    given = {}
    for index, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword is not None else None
        if name is None:
            if index >= len(SERVER_ARGUMENTS):
                return None
            name = SERVER_ARGUMENTS[index]
        if name in DEFAULT_SERVER:
            given[name] = _literal(arg.value)
        elif name in ("unix_socket_path", "connection_pool", "username", "password"):
            return False  # another server, or the same one as another user
    if any(value is _literal for value in given.values()):
        return None
    return all(
        given.get(name, DEFAULT_SERVER[name][0]) in DEFAULT_SERVER[name] for name in DEFAULT_SERVER
    )


def client_reason(call: Optional[cst.Call]) -> str:
    """Why a host/port client stays as it is: it names another server, or it names the
    runtime's default server, which get_redis() uses only while REDIS_URL is unset."""
    if call is not None and default_server(call):
        return (
            "client on localhost:6379 db 0, the runtime's default server only while REDIS_URL "
            "is unset: get_redis() follows REDIS_URL (or django-rq's RQ_QUEUES), so where it "
            "names another server the rewrite would move this client there; call get_redis() "
            "by hand if the client should follow REDIS_URL"
        )
    return _KIND_REASONS[ClientKind.CLIENT]


def _url_index(call: cst.Call) -> Optional[int]:
    for index, arg in enumerate(call.args):
        if (arg.keyword is None and index == 0) or (arg.keyword and arg.keyword.value == "url"):
            return index
    return None


# Commands that wait on the server for up to their own timeout: with get_redis()'s socket
# timeout (3 s) a longer wait would raise TimeoutError instead of returning None.
BLOCKING_COMMANDS = frozenset(
    {"blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop"}
)
BLOCK_KEYWORD = {"xread": "block", "xreadgroup": "block"}  # blocking only with this keyword
WAITING = frozenset({"pubsub", "lock", "monitor"})  # listen(), acquire(blocking_timeout=) ...
NO_SOCKET_TIMEOUT = "socket_timeout"


def _shown_call(ctx: FixContext, call: cst.Call) -> str:
    code = " ".join(ctx.module.code_for_node(call).split())
    return code if len(code) <= 60 else code[:57] + "..."


def _waits(ctx: FixContext, node: cst.CSTNode) -> Optional[str]:
    """The call that makes the client at ``node`` wait on the server (``r.blpop(k,
    timeout=8)``, ``r.xread(..., block=...)``, ``r.pubsub()``, ``r.lock(...)``), shown."""
    parent = ctx.parent(node)
    if not isinstance(parent, cst.Attribute) or parent.value is not node:
        return None
    call = ctx.parent(parent)
    if not isinstance(call, cst.Call) or call.func is not parent:
        return None
    method = parent.attr.value
    if method in BLOCKING_COMMANDS or method in WAITING:
        return _shown_call(ctx, call)
    block = BLOCK_KEYWORD.get(method)
    if block is not None:
        arg = calls.keyword(call, block)
        if arg is not None and not (isinstance(arg.value, cst.Name) and arg.value.value == "None"):
            return _shown_call(ctx, call)
    return None


def _bound_name(ctx: FixContext, call: cst.Call) -> Optional[cst.Name]:
    """The name a client call is assigned to (``r = redis.from_url(...)``, also through
    ``... if REDIS_URL else None``)."""
    node: cst.CSTNode = call
    parent = ctx.parent(node)
    while isinstance(parent, (cst.IfExp, cst.BooleanOperation)):
        node, parent = parent, ctx.parent(parent)
    if isinstance(parent, cst.AssignTarget):  # pragma: no cover - the value is never a target
        return None
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
        target = parent.targets[0].target
        return target if isinstance(target, cst.Name) else None
    if isinstance(parent, cst.AnnAssign) and parent.value is node:
        return parent.target if isinstance(parent.target, cst.Name) else None
    return None


def blocking_use(ctx: FixContext, call: cst.Call) -> Optional[str]:
    """A call of this file that makes the client built by ``call`` wait on the server:
    on the call itself, or on the variable it is assigned to (every read of it that sees
    that binding)."""
    found = _waits(ctx, call)
    if found is not None:
        return found
    name = _bound_name(ctx, call)
    if name is None:
        return None
    line = ctx.line(call)
    for scope in ctx.model.scopes:
        for binding in scope.sites.get(name.value, ()):
            node = binding.node
            if not (getattr(node, "lineno", 0) <= line <= getattr(node, "end_lineno", 0)):
                continue
            owner = ctx.model.lookup(name.value, scope)
            for reference in ctx.model.references_to(name.value, owner or scope):
                read = ctx.name_node(reference)
                found = _waits(ctx, read) if read is not None else None
                if found is not None:
                    return found
            if scope is ctx.model.module_scope:
                return importer_waits(ctx, name.value)
    return None


def _method_words() -> str:
    return "|".join(sorted({*BLOCKING_COMMANDS, *WAITING, *BLOCK_KEYWORD}))


def importer_waits(ctx: FixContext, name: str) -> Optional[str]:
    """Another file of the project that imports the module-level client ``name`` from this
    module (or reads it as ``<module>.name``) and calls a waiting command on it: where,
    as ``path: name.blpop(...)``. A text search, so it may see a use that is not one;
    that only keeps redis-py's own no-timeout reads (what the client had)."""
    from flake8_rqjobs.names import module_location

    root = str(ctx.config.root)
    module, _ = module_location(ctx.config.relative_path(ctx.filename))
    if not module:
        return None
    tail = re.escape(module.rsplit(".", 1)[-1])
    use = re.compile(
        rf"(?:\b{re.escape(name)}|\b{tail}\.{re.escape(name)})\s*\.\s*({_method_words()})\s*\("
    )
    imports = re.compile(rf"\b(?:from\s+[\w.]*{tail}\s+import\b|import\s+[\w.]*{tail}\b)")
    own = os.path.abspath(ctx.filename)
    for path, text in _project_texts(root).items():
        if path == own or name not in text:
            continue
        match = use.search(text)
        if match is not None and imports.search(text):
            shown = os.path.relpath(path, root).replace(os.sep, "/")
            return f"{shown}: {name}.{match.group(1)}(...)"
    return None


_TEXTS: Dict[str, Dict[str, str]] = {}


def _project_texts(root: str) -> Dict[str, str]:
    """The project's Python files that mention a waiting command (read once per run)."""
    found = _TEXTS.get(root)
    if found is None:
        from flake8_rqjobs.fixers.source import project_files

        words = re.compile(rf"\.\s*(?:{_method_words()})\s*\(")
        found = {}
        for path in project_files(root, ()):
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                continue
            if words.search(text):
                found[os.path.abspath(path)] = text
        _TEXTS[root] = found
    return found


def _rewrite(local: str, url_index: int, no_timeout: bool) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def rewrite(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        fixed = calls.drop_args(node, [url_index]).with_changes(func=cst.Name(local))
        if no_timeout:
            extra = calls.build_args(fixed, [(NO_SOCKET_TIMEOUT, cst.Name("None"), "")])
            args = list(fixed.args)
            if args:
                comma = calls.separator(fixed)
                args[-1] = args[-1].with_changes(comma=comma)
            fixed = fixed.with_changes(args=[*args, *extra])
        return fixed

    return rewrite


def analyse(ctx: FixContext) -> None:
    for site in ctx.sites_of(CODE):
        _fix_site(ctx, site)


def _fix_site(ctx: FixContext, site: Site) -> None:
    facts = site.facts
    assert isinstance(facts, ClientFacts)
    wrapper = wrapper_default(
        str(ctx.config.root.resolve()), ctx.config.wrapper_module, ctx.options.wrapper_default_url
    )
    reason = decline_reason(facts, wrapper)
    if reason is not None:
        if facts.subclass is None and facts.kind is ClientKind.CLIENT:
            reason = client_reason(ctx.node(site))
        ctx.manual(site, reason)
        return
    call = ctx.node(site)
    url_index = _url_index(call) if call is not None else None
    if call is None or url_index is None:  # pragma: no cover - the linter saw a URL there
        ctx.manual(site, "the URL argument was not found where the linter saw it")
        return
    local = ctx.wrapper_name(GET_REDIS)
    if local is None:
        ctx.manual(site, "the names get_redis and its alias are taken in this module")
        return
    # redis-py's clients have no socket timeout; get_redis()'s default one would cut a
    # blocking command short: such a client keeps none (unless it set its own).
    no_timeout = calls.keyword(call, NO_SOCKET_TIMEOUT) is None and (
        blocking_use(ctx, call) is not None
    )
    ctx.plan.replace[id(call)] = _rewrite(local, url_index, no_timeout)
    ctx.fixed(site)
    assert facts.url is not None
    if facts.url.variable is not None and facts.url.variable_in_function:
        ctx.cleanup_names.add(facts.url.variable)


__all__: List[str] = ["analyse", "decline_reason", "url_reason", "RUNTIME_DEFAULT_URL"]
