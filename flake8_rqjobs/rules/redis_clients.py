"""RQJ001: a Redis client or connection pool built outside the wrapper."""

from __future__ import annotations

import ast
from typing import FrozenSet, Optional

from flake8_rqjobs.rules.base import Context, Invalid, Rule, Valid, spelled

# Canonical names (see flake8_rqjobs.names.canonical). redis.asyncio.* is deliberately absent.
CLIENT_CLASSES: FrozenSet[str] = frozenset(
    {
        "redis.Redis",
        "redis.StrictRedis",
        "redis.ConnectionPool",
        "redis.BlockingConnectionPool",
        "redis.Sentinel",
        "redis.RedisCluster",
    }
)
BUILDERS: FrozenSet[str] = frozenset(
    {*CLIENT_CLASSES, "redis.from_url", *(f"{c}.from_url" for c in CLIENT_CLASSES)}
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
through any import alias (`import redis as r`, `from redis.client import StrictRedis`).
`redis.asyncio` clients and other libraries' `from_url` are not flagged.

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
    ),
    invalid=(
        Invalid("import redis\n\nr = redis.Redis(host='x')\n", lines=(3,)),
        Invalid("import redis as r\n\nc = r.Redis.from_url('redis://x')\n", lines=(3,)),
        Invalid("from redis import Redis as R\n\nc = R.from_url('redis://x')\n", lines=(3,)),
        Invalid("from redis.client import StrictRedis\n\nc = StrictRedis()\n", lines=(3,)),
        Invalid("import redis\n\nc = redis.StrictRedis.from_url('redis://x')\n", lines=(3,)),
        Invalid("import redis\n\nc = redis.from_url(URL) if URL else None\n", lines=(3,)),
        Invalid("import redis\n\npool = redis.ConnectionPool.from_url('redis://x')\n", lines=(3,)),
        Invalid(
            "from redis import BlockingConnectionPool\n\np = BlockingConnectionPool()\n", lines=(3,)
        ),
        Invalid(
            "from redis.sentinel import Sentinel\n\ns = Sentinel([('h', 26379)])\n", lines=(3,)
        ),
        Invalid(
            "import redis.sentinel\n\ns = redis.sentinel.Sentinel([('h', 26379)])\n", lines=(3,)
        ),
        Invalid("def conn():\n    import redis\n    return redis.Redis()\n", lines=(3,)),
        Invalid("import redis\n\nclass Conn(redis.Redis):\n    pass\n\nc = Conn()\n", lines=(6,)),
        Invalid(
            "import redis\n\nr = redis.Redis()\n",
            filename="app/services/jobs.py",
            options={"wrapper-modules": ["lib/conn.py"]},
            lines=(3,),
        ),
    ),
)

RULES = (RQJ001,)


def check_call(ctx: Context, call: ast.Call, qualname: Optional[str]) -> None:
    if qualname in BUILDERS:
        ctx.report(call, RQJ001, name=spelled(call.func))
