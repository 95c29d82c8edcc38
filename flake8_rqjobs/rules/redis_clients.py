"""RQJ001: a Redis client or connection pool built outside the wrapper.

The family's tables (which calls build clients, and of what kind; what the wrapper's URL
is) and its facts (:class:`ClientFacts`, :class:`ConnectionFacts`) are stated here once;
``fixers/redis_clients.py`` and the queues family read them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum
from typing import Dict, FrozenSet, Optional, Tuple

from flake8_rqjobs.config import Config
from flake8_rqjobs.rules.base import (
    Context,
    Facts,
    Family,
    Invalid,
    Rule,
    Trigger,
    Valid,
    has_star_args,
    has_star_kwargs,
    is_none,
    keyword,
    spelled,
    string_value,
)


class ClientKind(Enum):
    FROM_URL = "a client built from a URL"
    CLIENT = "a client built from host/port arguments"
    POOL = "a connection pool"
    SENTINEL = "a Sentinel client"
    CLUSTER = "a cluster client"
    THIRD_PARTY = "a client built by a third-party constructor"


# Canonical names (see flake8_rqjobs.names.canonical). redis.asyncio.* is deliberately absent.
_CLASSES: Dict[str, ClientKind] = {
    "redis.Redis": ClientKind.CLIENT,
    "redis.StrictRedis": ClientKind.CLIENT,
    "redis.ConnectionPool": ClientKind.POOL,
    "redis.BlockingConnectionPool": ClientKind.POOL,
    "redis.Sentinel": ClientKind.SENTINEL,
    "redis.RedisCluster": ClientKind.CLUSTER,
}
CLIENT_CLASSES: FrozenSet[str] = frozenset(_CLASSES)
# Every constructor RQJ001 flags, and what it builds.
CONSTRUCTORS: Dict[str, ClientKind] = {
    **_CLASSES,
    "redis.from_url": ClientKind.FROM_URL,
    **{
        f"{name}.from_url": ClientKind.FROM_URL if kind is ClientKind.CLIENT else kind
        for name, kind in _CLASSES.items()
    },
}
BUILDERS: FrozenSet[str] = frozenset(CONSTRUCTORS)
# The wrapper's URL: the runtime reads REDIS_URL with this default
# (rqjobs.settings.DEFAULT_REDIS_URL; the linter must not import the runtime, a test checks
# that the two agree).
URL_VARIABLE = "REDIS_URL"
RUNTIME_DEFAULT_URL = "redis://localhost:6379/0"
ENV_GETTERS: FrozenSet[str] = frozenset({"os.getenv", "os.environ.get"})
ENVIRON = "os.environ"
GET_REDIS = "get_redis"  # the wrapper's function that replaces every client


# --- facts ------------------------------------------------------------------------------
class UrlStatus(Enum):
    WRAPPER = "the wrapper's REDIS_URL"
    OTHER_DEFAULT = "REDIS_URL with another fallback than the runtime's"
    OTHER = "a URL that is not the wrapper's REDIS_URL"
    UNSEEN_VARIABLE = "a variable not bound once to REDIS_URL"


@dataclass(frozen=True)
class UrlFacts:
    """What the URL of a ``from_url`` call is: ``shown`` the expression (for messages),
    ``variable`` a local name bound once to it (``url = os.getenv("REDIS_URL")``) and
    ``variable_in_function`` whether that name is a function's local (the fix may drop it)."""

    status: UrlStatus
    shown: str
    variable: Optional[str] = None
    variable_in_function: bool = False
    fallback: Optional[str] = None  # the other default (UrlStatus.OTHER_DEFAULT)
    default: Optional[str] = None  # the fallback URL when it is a string literal


class ArgsShape(Enum):
    OK = "a URL and keyword options"
    STAR_KWARGS = "options passed as **kwargs"
    STAR_ARGS = "arguments passed as *args"
    EXTRA_POSITIONAL = "positional arguments after the URL"
    NO_URL = "no URL argument"


@dataclass(frozen=True)
class ClientFacts(Facts):
    """RQJ001: what the call builds, from which URL, with which options."""

    kind: ClientKind
    shape: ArgsShape
    url: Optional[UrlFacts] = None  # from_url calls with ArgsShape.OK
    options: Tuple[str, ...] = ()  # keyword options other than the URL
    subclass: Optional[str] = None  # a local subclass of a redis class, built by this call


class ConnectionStatus(Enum):
    WRAPPER = "the wrapper's connection"
    OTHER = "not provably the wrapper's connection"


@dataclass(frozen=True)
class ConnectionFacts:
    """What a ``connection=`` argument is: the wrapper's ``get_redis()``, a client built from
    the wrapper's REDIS_URL without options, or a name bound once to one of those
    (``variable``); anything else is ``OTHER``."""

    status: ConnectionStatus
    shown: str
    variable: Optional[str] = None


def wrapper_function(config: Config, callee: Optional[str], names: FrozenSet[str]) -> bool:
    """Is ``callee`` one of ``names`` defined by a wrapper module (``rqjobs``,
    ``wrapper-module`` or a module matching ``wrapper-modules``)?"""
    if callee is None:
        return False
    module, _, name = callee.rpartition(".")
    return bool(module) and name in names and config.is_wrapper_module(module)


_THIRD_PARTY = "builds a Redis client outside the wrapper: set REDIS_URL to the server it"
# Issue 10, item 4 (and django_rq.get_connection(), item 3): clients built through data flow.
DATA_FLOW_VALID = (
    Valid(  # a connect() that is not in client-constructors
        "from mqtt_helpers import connect as from_url\n\nclient = from_url(BROKER_URL)\n",
        filename="iot/broker.py",
    ),
    Valid(  # the alias picks between classes that are not Redis clients
        "import json\nimport pickle\n\n"
        "codec = pickle if settings.TRUSTED else json\ndata = codec.loads(blob)\n",
        filename="app/cache.py",
    ),
    Valid(  # an alias bound twice cannot be followed
        "from redis import Redis\n\nclient_cls = Redis\nif settings.FAKE:\n"
        "    client_cls = FakeRedis\nclient = client_cls()\n",
        filename="app/cache.py",
    ),
    Valid(  # django_rq's connection, in a module configured as the wrapper
        "import django_rq\n\nredis_conn = django_rq.get_connection('default')\n",
        filename="core/services/jobs.py",
    ),
    Valid(  # the list is configurable
        "import django_rq\n\nconn = django_rq.get_connection('high')\n",
        options={"client-constructors": ["redis_om.get_redis_connection"]},
        filename="app/stats.py",
    ),
)
DATA_FLOW_INVALID = (
    Invalid(  # a local class alias, then client_cls(...)
        "import redis\n\nclient_cls = redis.StrictRedis if settings.LEGACY else redis.Redis\n"
        "cache = client_cls(host=settings.CACHE_HOST, port=6379)\n",
        filename="app/cache.py",
        lines=(4,),
        manual="client built from host/port arguments, not from REDIS_URL",
    ),
    Invalid(  # a local class alias, then client_cls.from_url(...)
        "from redis import Redis, StrictRedis\n\n\ndef make_client(url, strict=False):\n"
        "    client_cls = StrictRedis if strict else Redis\n    return client_cls.from_url(url)\n",
        filename="app/cache.py",
        lines=(6,),
        manual="URL comes from url, which is not bound once to REDIS_URL here",
    ),
    Invalid(  # a listed constructor imported under another name
        "from redis_sentinel_url import connect as from_url\n\n"
        "sentinel, master = from_url(os.environ['SENTINEL_URL'])\n",
        filename="app/conn.py",
        lines=(3,),
        manual=_THIRD_PARTY,
    ),
    Invalid(  # redis-om's connection helper
        "from redis_om import get_redis_connection\n\n"
        "redis = get_redis_connection(url=settings.REDIS_OM_URL)\n",
        filename="catalog/models.py",
        lines=(3,),
        manual=_THIRD_PARTY,
    ),
    Invalid(  # django-rq's connection: a client of its own, outside the wrapper
        "import django_rq\n\n\ndef queue_lengths():\n"
        "    conn = django_rq.get_connection('default')\n    return conn.info()\n",
        filename="dashboard/views.py",
        lines=(5,),
        manual=_THIRD_PARTY,
    ),
    Invalid(  # a configured constructor
        "from app.vendor.cache import make_redis\n\nr = make_redis('sessions')\n",
        options={"client-constructors": ["app.vendor.cache.make_redis"]},
        filename="app/sessions.py",
        lines=(3,),
        manual=_THIRD_PARTY,
    ),
)

RQJ001 = Rule(
    code="RQJ001",
    summary="Redis client or connection pool built outside the wrapper",
    message=(
        "{name}() builds a Redis client outside the wrapper: every such call opens its own "
        "pool with its own timeouts and retries. Use {wrapper}.get_redis() instead."
    ),
    doc="""\
## What it does
Flags `redis.Redis(...)`, `StrictRedis(...)`, `Redis.from_url(...)`, `redis.from_url(...)`,
`ConnectionPool(...)` / `ConnectionPool.from_url(...)`, `BlockingConnectionPool(...)`,
`redis.sentinel.Sentinel(...)` and `RedisCluster(...)` outside the sanctioned wrapper modules,
through any import alias (`import redis as r`, `from redis.client import StrictRedis`), also
through a local class alias (`client_cls = StrictRedis if cond else Redis`, then
`client_cls(...)` or `client_cls.from_url(...)`), and the third-party functions that build a
Redis client listed in `client-constructors` (default `redis_sentinel_url.connect`,
`redis_om.get_redis_connection`, `django_rq.get_connection`), under any name they are
imported as (`from redis_sentinel_url import connect as from_url`). `redis.asyncio` clients
and other libraries' `from_url` are not flagged.

## Why is this bad?
Each call builds its own connection pool. Timeouts and the retry policy are then whatever
redis-py defaults to (10 retries that silently re-send non-idempotent writes), the URL is read
in many places, and a process ends up with dozens of pools that nothing closes after `fork()`.

## Example
```python
import redis

r = redis.Redis.from_url(os.environ["REDIS_URL"])
```

## Use instead
```python
from rqjobs import get_redis

r = get_redis()
```
""",
    sample={"name": "redis.Redis.from_url"},
    triggers=(Trigger("redis", import_name=True),),
    config_triggers=lambda config: tuple(
        sorted({c.split(".", 1)[0] for c in config.client_constructors})
    ),
    fix="Redis.from_url(REDIS_URL) -> get_redis()",
    fix_safety="""\
`redis.from_url`, `Redis.from_url` and `StrictRedis.from_url` (any alias) whose URL is the
wrapper's own (`os.getenv("REDIS_URL")`, `os.environ["REDIS_URL"]`,
`os.environ.get("REDIS_URL")`, or a name bound once to one of those) become `get_redis()`
where they stand; keyword options pass through (`get_redis(decode_responses=True)`: the
runtime caches one client per set of options), and a URL variable left unused goes. A client
that this file uses for a command that waits on the server (`blpop`, `brpop`, `blmove`,
`bzpopmin`, ..., `xread(block=...)`, `pubsub()`, `lock(...)`), on the call or through the
variable it is assigned to, becomes `get_redis(socket_timeout=None)`: redis-py's client has
no socket timeout, and get_redis()'s 3 s one would turn `blpop(k, timeout=8)` returning
`None` after 8 s into a `TimeoutError` (a `socket_timeout=` of its own is kept as it is).
With `--wrapper-module`, a `REDIS_URL` fallback must be the wrapper's own (read from its
source, or `fix --wrapper-default-url`).

The fixer declines, naming the reason, when the URL falls back to another default than the
runtime's `redis://localhost:6379/0` (the rewrite would change which server is used when
`REDIS_URL` is unset), for any other URL, for options passed as `**kwargs`, and for clients
built from host/port arguments (`Redis()` and `Redis(host="localhost", port=6379, db=0)` too:
localhost:6379 db 0 is the runtime's default server only while `REDIS_URL` is unset, and
`get_redis()` follows `REDIS_URL`, so the reason says so), connection pools, Sentinel and
cluster clients, the `client-constructors` and local subclasses (`get_redis()` builds none of
those).
""",
    valid=(
        Valid("from rqjobs import get_redis\n\nr = get_redis()\n"),
        Valid("import redis.asyncio as aioredis\n\nr = aioredis.from_url('redis://x')\n"),
        Valid("from redis.asyncio import Redis\n\nr = Redis()\n"),
        Valid("import sqlalchemy\n\nengine = sqlalchemy.engine.URL.from_url('x')\n"),
        Valid("def f(redis):\n    return redis.from_url('redis://x')\n"),
        Valid("redis = get_connection()\nredis.from_url('redis://x')\n"),
        Valid("from yarl import URL\n\nu = URL.from_url('x')\n"),
        Valid(
            "import redis\n\nr = redis.Redis.from_url('redis://x')\n",
            filename="app/services/jobs.py",
        ),
        Valid(
            "import redis\n\nr = redis.Redis()\n",
            filename="lib/conn.py",
            options={"wrapper-modules": ["lib/conn.py"]},
        ),
        Valid("from redis import Redis\n\nx: Redis\n"),
        *DATA_FLOW_VALID,
    ),
    invalid=(
        Invalid(
            "import redis\n\nr = redis.Redis(host='x')\n",
            lines=(3,),
            manual=(
                "client built from host/port arguments, not from REDIS_URL; set REDIS_URL and call"
            ),
        ),
        Invalid(
            "import redis as r\n\nc = r.Redis.from_url('redis://x')\n",
            lines=(3,),
            manual=(
                "URL 'redis://x' is not the wrapper's REDIS_URL; call get_redis() by hand if it is"
            ),
        ),
        Invalid(
            "from redis import Redis as R\n\nc = R.from_url('redis://x')\n",
            lines=(3,),
            manual=(
                "URL 'redis://x' is not the wrapper's REDIS_URL; call get_redis() by hand if it is"
            ),
        ),
        Invalid(
            "from redis.client import StrictRedis\n\nc = StrictRedis()\n",
            lines=(3,),
            manual="client on localhost:6379 db 0, the runtime's default server only while",
        ),
        Invalid(
            "import redis\n\nc = redis.StrictRedis.from_url('redis://x')\n",
            lines=(3,),
            manual=(
                "URL 'redis://x' is not the wrapper's REDIS_URL; call get_redis() by hand if it is"
            ),
        ),
        Invalid(
            "import redis\n\nc = redis.from_url(URL) if URL else None\n",
            lines=(3,),
            manual="URL comes from URL, which is not bound once to REDIS_URL here",
        ),
        Invalid(
            "import redis\n\npool = redis.ConnectionPool.from_url('redis://x')\n",
            lines=(3,),
            manual="connection pool built by hand; get_redis() manages the pool: pass its options",
        ),
        Invalid(
            "from redis import BlockingConnectionPool\n\np = BlockingConnectionPool()\n",
            lines=(3,),
            manual="connection pool built by hand; get_redis() manages the pool: pass its options",
        ),
        Invalid(
            "from redis.sentinel import Sentinel\n\ns = Sentinel([('h', 26379)])\n",
            lines=(3,),
            manual="Sentinel client: set REDIS_URL=redis+sentinel://HOST1:PORT1,HOST2:PORT2/SERVICE",
        ),
        Invalid(
            "import redis.sentinel\n\ns = redis.sentinel.Sentinel([('h', 26379)])\n",
            lines=(3,),
            manual="Sentinel client: set REDIS_URL=redis+sentinel://HOST1:PORT1,HOST2:PORT2/SERVICE",
        ),
        Invalid(
            "def conn():\n    import redis\n    return redis.Redis()\n",
            lines=(3,),
            manual="client on localhost:6379 db 0, the runtime's default server only while",
        ),
        Invalid(
            "import redis\n\nclass Conn(redis.Redis):\n    pass\n\nc = Conn()\n",
            lines=(6,),
            manual="Conn is a local subclass of a redis client: get_redis() returns a plain client",
        ),
        Invalid(
            "import redis\n\nr = redis.Redis()\n",
            filename="app/services/jobs.py",
            options={"wrapper-modules": ["lib/conn.py"]},
            lines=(3,),
            manual="client on localhost:6379 db 0, the runtime's default server only while",
        ),
        Invalid(
            "import os\nimport redis\n\n"
            "r = redis.Redis.from_url(os.environ['REDIS_URL'], decode_responses=True)\n",
            lines=(4,),
            expected_replacement=(
                "from rqjobs import get_redis\n\nr = get_redis(decode_responses=True)\n"
            ),
        ),
        Invalid(
            "import redis\n\nr = redis.RedisCluster()\n",
            lines=(3,),
            manual=(
                "cluster client: get_redis() builds a single-node client, so the rewrite would lose"
            ),
        ),
        *DATA_FLOW_INVALID,
    ),
)


# --- what the linter learns -------------------------------------------------------------
def _shown(expr: ast.AST) -> str:
    return ast.unparse(expr)


def _env_default(call: ast.Call) -> Tuple[bool, Optional[ast.expr]]:
    """(True, default-or-None) for ``getenv("REDIS_URL"[, default])``; (False, None) otherwise."""
    if has_star_args(call) or has_star_kwargs(call):
        return False, None
    if not call.args or string_value(call.args[0]) != URL_VARIABLE or len(call.args) > 2:
        return False, None
    default = call.args[1] if len(call.args) > 1 else None
    if any(kw.arg != "default" for kw in call.keywords):
        return False, None
    if call.keywords:
        if default is not None:
            return False, None
        default = call.keywords[0].value
    return True, default


def _with_default(shown: str, default: Optional[ast.expr]) -> UrlFacts:
    literal = string_value(default)
    if default is None or is_none(default) or literal == RUNTIME_DEFAULT_URL:
        return UrlFacts(UrlStatus.WRAPPER, shown, default=literal)
    return UrlFacts(UrlStatus.OTHER_DEFAULT, shown, fallback=_shown(default), default=literal)


def url_facts(ctx: Context, expr: ast.AST, depth: int = 0) -> UrlFacts:
    """Is ``expr`` the wrapper's URL (REDIS_URL with the runtime's default, or none)?"""
    shown = _shown(expr)
    if isinstance(expr, ast.Call) and ctx.resolve(expr.func) in ENV_GETTERS:
        is_env, default = _env_default(expr)
        if is_env:
            return _with_default(shown, default)
    elif isinstance(expr, ast.Subscript):
        if ctx.resolve(expr.value) == ENVIRON and string_value(expr.slice) == URL_VARIABLE:
            return UrlFacts(UrlStatus.WRAPPER, shown)
    elif isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or) and len(expr.values) == 2:
        left, right = expr.values  # os.getenv("REDIS_URL") or "redis://..."
        if url_facts(ctx, left, depth + 1).status is UrlStatus.WRAPPER and string_value(right):
            return _with_default(shown, right)
    elif isinstance(expr, ast.Name) and depth < 3:
        value = ctx.value_of(expr)
        if not isinstance(value, ast.expr):
            return UrlFacts(UrlStatus.UNSEEN_VARIABLE, shown, variable=expr.id)
        inner = url_facts(ctx, value, depth + 1)
        if inner.status not in (UrlStatus.WRAPPER, UrlStatus.OTHER_DEFAULT):
            return inner
        function = ctx.owner_is_function(expr.id)
        return UrlFacts(inner.status, shown, expr.id, function, inner.fallback, inner.default)
    return UrlFacts(UrlStatus.OTHER, shown)


def url_argument(call: ast.Call) -> Tuple[ArgsShape, Optional[ast.expr]]:
    """The shape of a ``from_url`` call's arguments, and its URL."""
    if has_star_kwargs(call):
        return ArgsShape.STAR_KWARGS, None
    if has_star_args(call):
        return ArgsShape.STAR_ARGS, None
    if len(call.args) > 1:
        return ArgsShape.EXTRA_POSITIONAL, None
    url = call.args[0] if call.args else None
    by_keyword = keyword(call, "url")
    if by_keyword is not None:
        url = by_keyword.value
    if url is None:
        return ArgsShape.NO_URL, None
    return ArgsShape.OK, url


def client_facts(ctx: Context, call: ast.Call, callee: str) -> ClientFacts:
    kind = CONSTRUCTORS.get(callee, ClientKind.THIRD_PARTY)
    subclass = None
    if isinstance(call.func, ast.Name) and isinstance(ctx.value_of(call.func), ast.ClassDef):
        subclass = call.func.id
    shape, url = url_argument(call)
    options = tuple(kw.arg for kw in call.keywords if kw.arg not in (None, "url"))
    if kind is not ClientKind.FROM_URL or url is None:
        return ClientFacts(kind, shape, None, options, subclass)
    return ClientFacts(kind, shape, url_facts(ctx, url), options, subclass)


def connection_facts(ctx: Context, expr: ast.AST, depth: int = 0) -> ConnectionFacts:
    """Is ``expr`` the wrapper's default connection (see :class:`ConnectionFacts`)?"""
    shown = _shown(expr)
    if isinstance(expr, ast.Call):
        callee = ctx.resolve(expr.func)
        if wrapper_function(ctx.config, callee, frozenset({GET_REDIS})):
            plain = not expr.args and not expr.keywords
            return ConnectionFacts(
                ConnectionStatus.WRAPPER if plain else ConnectionStatus.OTHER, shown
            )
        if callee is not None and CONSTRUCTORS.get(callee) is ClientKind.FROM_URL:
            shape, url = url_argument(expr)
            alone = len(expr.args) + len(expr.keywords) == 1
            if shape is ArgsShape.OK and url is not None and alone:
                if url_facts(ctx, url).status is UrlStatus.WRAPPER:
                    return ConnectionFacts(ConnectionStatus.WRAPPER, shown)
    elif isinstance(expr, ast.Name) and depth < 2:
        value = ctx.value_of(expr)
        if isinstance(value, ast.expr):
            if connection_facts(ctx, value, depth + 1).status is ConnectionStatus.WRAPPER:
                return ConnectionFacts(ConnectionStatus.WRAPPER, shown, expr.id)
    return ConnectionFacts(ConnectionStatus.OTHER, shown)


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    if callee in BUILDERS or (callee is not None and callee in ctx.config.client_constructors):
        assert callee is not None
        facts = client_facts(ctx, call, callee)
        ctx.report(call, RQJ001, facts, callee, name=spelled(call.func))


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    """``StrictRedis if cond else Redis``: a local class alias of a Redis client class (both
    branches plain clients), which then builds clients like the class it names."""
    if not isinstance(value, ast.IfExp):
        return None
    body, orelse = ctx.resolve(value.body), ctx.resolve(value.orelse)
    if body is None or orelse is None:
        return None
    if _CLASSES.get(body) is ClientKind.CLIENT and _CLASSES.get(orelse) is ClientKind.CLIENT:
        return body
    return None


FAMILY = Family("redis_clients", (RQJ001,), check_call, value_kind)
