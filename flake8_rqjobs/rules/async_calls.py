"""RQJ400: a blocking rqjobs/RQ call made directly in the body of an ``async def``.

The family's tables are the blocking calls it looks for: the wrapper's functions
(:data:`BLOCKING_FUNCTIONS`, with the dedupe family's enqueue functions) and RQ's queue
enqueue methods (the queues family's :data:`~flake8_rqjobs.rules.queues.ENQUEUE_METHODS` on a
receiver :func:`~flake8_rqjobs.rules.queues.is_queue` recognises). ``rqjobs.aio`` is the
async API: its calls are awaited, never flagged.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import FrozenSet, Optional

from flake8_rqjobs.rules.base import (
    Context,
    Facts,
    Family,
    FixAvailability,
    Invalid,
    Rule,
    Trigger,
    Valid,
    spelled,
    terminal_name,
)
from flake8_rqjobs.rules.dedupe import WRAPPER_FUNCTIONS
from flake8_rqjobs.rules.queues import ENQUEUE_METHODS, is_queue
from flake8_rqjobs.rules.redis_clients import GET_REDIS, wrapper_function
from flake8_rqjobs.rules.scheduler_locks import LOCK

AIO_MODULE = "rqjobs.aio"  # the async API: awaited calls, not blocking ones
GET_QUEUE_STATS = "get_queue_stats"
HEALTH_REPORT = "health_report"
# The wrapper's scheduling calls (rqjobs.enqueue_at / enqueue_in) block like enqueue.
SCHEDULING_FUNCTIONS: FrozenSet[str] = frozenset({"enqueue_at", "enqueue_in"})
# The wrapper's functions that wait for Redis (enqueue, enqueue_with_dedupe, enqueue_at,
# enqueue_in and the reads).
BLOCKING_FUNCTIONS: FrozenSet[str] = frozenset(
    {*WRAPPER_FUNCTIONS, *SCHEDULING_FUNCTIONS, GET_QUEUE_STATS, HEALTH_REPORT}
)

# Synchronous Redis clients (redis.asyncio's are absent): a command on one blocks like enqueue.
SYNC_CLIENTS: FrozenSet[str] = frozenset(
    {
        "redis.Redis",
        "redis.StrictRedis",
        "redis.RedisCluster",
        "redis.from_url",
        "redis.Redis.from_url",
        "redis.StrictRedis.from_url",
        "redis.RedisCluster.from_url",
    }
)
# Client methods that send nothing to Redis (they build an object, or read a setting).
NOT_COMMANDS: FrozenSet[str] = frozenset(
    {
        "pipeline",
        "lock",
        "pubsub",
        "monitor",
        "register_script",
        "client",
        "close",
        "from_url",
        "from_pool",
        "get_encoder",
        "get_connection_kwargs",
        "set_response_callback",
        "get_retry",
        "set_retry",
    }
)
# RQ's own reads and writes of a job (rq.job.Job, canonical rq.Job): no async API.
RQ_JOB_CALLS: FrozenSet[str] = frozenset({"rq.Job.fetch", "rq.Job.fetch_many", "rq.Job.exists"})
FETCH_JOB = "fetch_job"  # Queue.fetch_job(job_id)
JOB_METHODS: FrozenSet[str] = frozenset(
    {
        "get_status",
        "refresh",
        "save",
        "save_meta",
        "cancel",
        "delete",
        "requeue",
        "get_meta",
        "latest_result",
        "results",
        "return_value",
        "get_position",
    }
)
RQ_ADVICE = "run it with run_in_threadpool/asyncio.to_thread or make the handler a plain def"
# A redis-py lock's methods that talk to Redis (acquire waits for the lock, too).
LOCK_METHODS: FrozenSet[str] = frozenset(
    {"acquire", "release", "extend", "reacquire", "locked", "owned"}
)
SYNC_CLIENT = "@sync-redis"  # binding kind: a synchronous Redis client
FETCHED_JOB = "@rq-job"  # binding kind: an RQ job fetched from Redis
AIO_ADVICE = "await rqjobs.aio.{func}(...) or run it with run_in_threadpool/asyncio.to_thread"
CLIENT_ADVICE = "await a redis.asyncio client or run it with run_in_threadpool/asyncio.to_thread"


@dataclass(frozen=True)
class AsyncCallFacts(Facts):
    """RQJ400: the blocking call as written, the coroutine it runs in, and the function of
    ``rqjobs.aio`` (or of a thread) that replaces it."""

    call: str
    coroutine: str
    func: str
    queue_method: bool = False
    redis_command: bool = False  # a command on a synchronous Redis client
    rq_call: bool = False  # RQ's own job reads and writes (Job.fetch, job.get_status())


RQJ400 = Rule(
    code="RQJ400",
    summary="blocking rqjobs/RQ call inside async def",
    message=(
        "blocking {call}() inside async def {name}: it holds the event loop (every other "
        "request of the process waits while Redis answers); {advice} instead"
    ),
    doc="""\
## What it does
Flags a blocking call made directly in the body of an `async def` (comprehensions included;
not inside a nested plain `def` or a `lambda`): the wrapper's `enqueue(...)`,
`enqueue_with_dedupe(...)`, `enqueue_at(...)`, `enqueue_in(...)`, `get_queue_stats(...)` and
`health_report(...)` (from `rqjobs` or a configured wrapper module, through any import),
and `.enqueue(...)`, `.enqueue_call(...)`,
`.enqueue_at(...)`, `.enqueue_in(...)`, `.enqueue_many(...)`, `.enqueue_job(...)` on a receiver
known to be an RQ queue (as RQJ003 recognises it). A function handed to a thread is not
flagged (`await run_in_threadpool(enqueue, ...)`, `await asyncio.to_thread(...)`,
`loop.run_in_executor(...)`, `anyio.to_thread.run_sync(...)`), nor are `redis.asyncio` clients
or `await rqjobs.aio.<function>(...)`. A command on a synchronous Redis client blocks the same
way and is flagged too (`r.get(...)`, `get_redis().incr(...)`): a client known to be one, the
wrapper's `get_redis()`, `redis.Redis(...)`/`from_url(...)` or a `client-constructors` call, a
name or `self` attribute bound to one, or a module-level client imported from another project
module; the methods that send nothing (`pipeline()`, `lock()`, `pubsub()`, ...) are not, but
`acquire()`/`release()`... of such a client's lock are, and so is a plain `with` block on
one (it acquires the lock; `async with` of a redis.asyncio lock is fine). So are RQ's own
job reads and writes:
`Job.fetch(...)`, `Job.fetch_many(...)`, `Job.exists(...)`, `q.fetch_job(...)` on a known
queue, and `get_status()`, `refresh()`, `latest_result()`... of a job fetched so. `time.sleep`
is out of scope (flake8-async covers it).

## Why is this bad?
A synchronous Redis round trip inside a coroutine holds the event loop: while Redis answers,
no other request of the process makes progress. Measured: with Redis paused 1.5 s, an async
FastAPI webhook calling `enqueue_with_dedupe` held every other request of the process for
1,530 ms; the same handler written as a plain `def` (run in FastAPI's threadpool) held them
for 5 ms.

## Example
```python
@app.post("/webhooks/stripe")
async def stripe_webhook(request: Request):
    event = await request.json()
    enqueue_with_dedupe("hooks", process_stripe_webhook_job, event,
                        dedupe_key=f"stripe:{event['id']}")
    return {"ok": True}
```

## Use instead
```python
from starlette.concurrency import run_in_threadpool

@app.post("/webhooks/stripe")
async def stripe_webhook(request: Request):
    event = await request.json()
    await run_in_threadpool(enqueue_with_dedupe, "hooks", process_stripe_webhook_job, event,
                            dedupe_key=f"stripe:{event['id']}")
    return {"ok": True}
```
or make the handler a plain `def`, or (once it is available)
`await rqjobs.aio.enqueue_with_dedupe(...)`.
""",
    sample={
        "call": "enqueue_with_dedupe",
        "name": "stripe_webhook",
        "advice": AIO_ADVICE.format(func="enqueue_with_dedupe"),
    },
    triggers=(
        Trigger("enqueue"),
        Trigger(GET_QUEUE_STATS),
        Trigger(HEALTH_REPORT),
        Trigger(GET_REDIS),
    ),
    fix="reported only (thread, plain def or rqjobs.aio: a human decision)",
    fix_safety="""\
Never rewritten: moving the call to a thread changes when it runs relative to the rest of the
coroutine (and what it may touch), turning the handler into a plain `def` changes how the
framework runs it, and `rqjobs.aio` is not available everywhere yet. Every site is listed as a
manual fix with this advice.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid(
            "from fastapi import FastAPI\n\nfrom rqjobs import enqueue_with_dedupe\n\n"
            "app = FastAPI()\n\n\n@app.post('/orders')\ndef create_order(order: dict):\n"
            "    enqueue_with_dedupe('orders', sync_order, order, "
            "dedupe_key=f\"order:{order['id']}\")\n    return {'ok': True}\n"
        ),
        Valid(
            "from fastapi import FastAPI\nfrom starlette.concurrency import run_in_threadpool\n\n"
            "from rqjobs import enqueue_with_dedupe\n\napp = FastAPI()\n\n\n"
            "@app.post('/orders')\nasync def create_order(order: dict):\n"
            "    await run_in_threadpool(enqueue_with_dedupe, 'orders', sync_order, order, "
            "dedupe_key=f\"order:{order['id']}\")\n    return {'ok': True}\n"
        ),
        Valid(
            "import asyncio\n\nimport rqjobs\nfrom aiohttp import web\n\n\n"
            "async def stats(request):\n"
            "    return web.json_response(await asyncio.to_thread(rqjobs.get_queue_stats))\n"
        ),
        Valid(
            "import asyncio\nimport functools\n\nfrom rqjobs import enqueue\n\n\n"
            "async def handle(request):\n    loop = asyncio.get_running_loop()\n"
            "    await loop.run_in_executor(None, functools.partial(enqueue, 'q', send_email, 1))\n"
            "    await loop.run_in_executor(None, lambda: enqueue('q', send_email, 2))\n"
        ),
        Valid(
            "import anyio\nfrom starlette.responses import JSONResponse\n\n"
            "from rqjobs import health_report\n\n\nasync def health(request):\n"
            "    return JSONResponse(await anyio.to_thread.run_sync(health_report))\n"
        ),
        Valid(
            "import asyncio\n\nfrom rqjobs import enqueue\n\n\nasync def handle(request):\n"
            "    def work():\n        enqueue('q', send_email, 1)\n\n"
            "    await asyncio.to_thread(work)\n"
        ),
        Valid(
            "import redis.asyncio\n\n\nasync def push(url):\n"
            "    client = redis.asyncio.from_url(url)\n    await client.lpush('q', 1)\n"
        ),
        Valid(
            "import rqjobs\nfrom rqjobs import aio\n\n\nasync def create_order(order):\n"
            "    await rqjobs.aio.enqueue_with_dedupe('orders', sync_order, order, "
            "dedupe_key=order['id'])\n    await aio.enqueue('emails', send_email, 1)\n"
            "    return await rqjobs.aio.get_queue_stats()\n"
        ),
        Valid("async def handle(q):\n    q.enqueue(send_email, 1)\n"),
        Valid(  # RQ's job reads in a plain def, or handed to a thread
            "import asyncio\n\nfrom rq.job import Job\n\n\ndef job_status(job_id, conn):\n"
            "    return Job.fetch(job_id, connection=conn).get_status()\n\n\n"
            "async def job_status_async(job_id, conn):\n"
            "    job = await asyncio.to_thread(Job.fetch, job_id, connection=conn)\n"
            "    return job.id\n",
            filename="app/api.py",
        ),
        Valid(  # get_status() of something that is not a fetched RQ job
            "async def status(order):\n    return order.get_status()\n",
            filename="app/api.py",
        ),
        Valid(  # redis.asyncio, awaited
            "import redis.asyncio as aioredis\n\ncache = aioredis.from_url(CACHE_URL)\n\n\n"
            "async def progress(request):\n    return await cache.hget('progress', request.id)\n",
            filename="app/api.py",
        ),
        Valid(  # a synchronous client's bound command handed to a thread; a plain def
            "import asyncio\n\nfrom rqjobs import get_redis\n\nr = get_redis()\n\n\n"
            "async def progress(job_id):\n"
            "    return await asyncio.to_thread(r.hget, 'p', job_id)\n\n\n"
            "def progress_sync(job_id):\n    return r.hget('p', job_id)\n",
            filename="app/api.py",
        ),
        Valid(  # an asyncio lock, and a redis.asyncio client's lock
            "import asyncio\n\nimport redis.asyncio as aioredis\n\nguard = asyncio.Lock()\n"
            "cache = aioredis.from_url(URL)\n\n\nasync def rotate(request):\n"
            "    lock = cache.lock('rotate', timeout=30)\n    await lock.acquire()\n"
            "    guard.release()\n    await lock.release()\n",
            filename="app/api.py",
        ),
        Valid(  # async with of a redis.asyncio lock; a sync lock's with in a plain def
            "import threading\n\nimport redis.asyncio as aioredis\nfrom rqjobs import get_redis\n\n"
            "cache = aioredis.from_url(URL)\nguard = threading.Lock()\n\n\n"
            "async def rotate(request):\n    async with cache.lock('rotate', timeout=30):\n"
            "        await do_rotate()\n    with guard:\n        pass\n"
            "    with get_redis().pipeline() as pipe:\n        pipe.incr('n')\n\n\n"
            "def sweep():\n    with get_redis().lock('sweep', timeout=5):\n        do_sweep()\n",
            filename="app/api.py",
        ),
        Valid(  # methods that send nothing; a client the linter cannot follow
            "from rqjobs import get_redis\n\n\nasync def tick(request, client):\n"
            "    lock = get_redis().lock('tick', timeout=5)\n    pipe = get_redis().pipeline()\n"
            "    await client.get('x')\n    return lock, pipe\n",
            filename="app/api.py",
        ),
    ),
    invalid=(
        Invalid(  # RQ's job reads: Job.fetch(...), then job.get_status()
            "from fastapi import APIRouter\nfrom rq.job import Job\n"
            "from rqjobs import get_redis\n\nrouter = APIRouter()\n\n\n"
            "@router.get('/jobs/{job_id}')\n"
            "async def job_status(job_id: str):\n"
            "    job = Job.fetch(job_id, connection=get_redis())\n"
            "    return {'status': job.get_status()}\n",
            filename="app/api.py",
            lines=(10, 11),
            manual="is a blocking RQ call inside async def job_status",
        ),
        Invalid(  # a command on the wrapper's client, module-level
            "from fastapi import APIRouter\nfrom rqjobs import get_redis\n\nrouter = APIRouter()\n"
            "r = get_redis()\n\n\n@router.get('/jobs/{job_id}/progress')\n"
            "async def progress(job_id: str):\n"
            "    return {'done': r.hget(f'progress:{job_id}', 'done')}\n",
            filename="app/api.py",
            lines=(10,),
            manual="r.hget() is a blocking Redis command inside async def progress",
        ),
        Invalid(  # a client kept in self.<attr> by another method
            "from rqjobs import get_redis\n\n\nclass Presence:\n    def __init__(self):\n"
            "        self.redis = get_redis()\n\n    async def mark_online(self, user_id):\n"
            "        self.redis.sadd('online', user_id)\n",
            filename="app/presence.py",
            lines=(9,),
            manual="self.redis.sadd() is a blocking Redis command inside async def mark_online",
        ),
        Invalid(  # a lock of a synchronous client, acquired and released
            "from rqjobs import get_redis\n\n\nasync def rotate(request):\n"
            "    lock = get_redis().lock('rotate', timeout=30)\n"
            "    if lock.acquire(blocking=False):\n"
            "        try:\n            await do_rotate()\n        finally:\n"
            "            lock.release()\n",
            filename="app/api.py",
            lines=(6, 10),
            manual="is a blocking Redis command inside async def rotate",
        ),
        Invalid(  # a with block on a synchronous client's lock: the with acquires it
            "from rqjobs import get_redis\n\n\nasync def rotate(request):\n"
            "    with get_redis().lock('rotate', timeout=30):\n        await do_rotate()\n"
            "    sweep_lock = get_redis().lock('sweep', timeout=5)\n"
            "    with sweep_lock:\n        await sweep()\n",
            filename="app/api.py",
            lines=(5, 8),
            manual="is a blocking Redis command inside async def rotate",
        ),
        Invalid(  # get_redis() chained, in an aiohttp handler
            "from aiohttp import web\nfrom rqjobs import get_redis\n\n\n"
            "async def hit(request):\n    get_redis().incr('hits')\n"
            "    return web.Response(text='ok')\n",
            filename="app/server.py",
            lines=(6,),
            manual="get_redis(...).incr() is a blocking Redis command inside async def hit",
        ),
        Invalid(  # a client module-level in another project module
            "from app.cache import cache\n\n\nasync def seen(request, message_id):\n"
            "    return cache.sismember('seen', message_id)\n",
            files={"app/cache.py": "from rqjobs import get_redis\n\ncache = get_redis()\n"},
            filename="app/views.py",
            lines=(5,),
            manual="cache.sismember() is a blocking Redis command inside async def seen",
        ),
        Invalid(
            "from fastapi import FastAPI, Request\n\nfrom rqjobs import enqueue_with_dedupe\n\n"
            "app = FastAPI()\n\n\n@app.post('/orders')\n"
            "async def create_order(request: Request):\n    order = await request.json()\n"
            "    enqueue_with_dedupe('orders', sync_order, order, "
            "dedupe_key=f\"order:{order['id']}\")\n    return {'ok': True}\n",
            lines=(11,),
            manual="enqueue_with_dedupe() blocks the event loop inside async def create_order",
        ),
        Invalid(
            "import rqjobs\nfrom aiohttp import web\n\nroutes = web.RouteTableDef()\n\n\n"
            "@routes.get('/stats')\nasync def stats(request):\n"
            "    return web.json_response(rqjobs.get_queue_stats())\n",
            lines=(9,),
            manual="rqjobs.get_queue_stats() blocks the event loop inside async def stats",
        ),
        Invalid(
            "from starlette.responses import JSONResponse\n\nfrom rqjobs import health_report\n\n\n"
            "async def health(request):\n    return JSONResponse(health_report())\n",
            lines=(7,),
            manual="await rqjobs.aio.health_report(...) or pass the function",
        ),
        Invalid(
            "from rq import Queue\n\n\nasync def resend(request):\n"
            "    q = Queue('emails', connection=r)\n    q.enqueue(send_email, 1)\n",
            lines=(6,),
            also=("RQJ002", "RQJ003"),
            manual="q.enqueue() blocks the event loop inside async def resend",
        ),
        Invalid(
            "from rqjobs import get_queue\n\n\nasync def later(request):\n"
            "    get_queue('emails').enqueue_in(delta, send_email, 1)\n",
            lines=(5,),
            also=("RQJ003",),
            # RQJ003's rewrite; the wrapper's enqueue_in blocks too (RQJ400 stays, manual)
            manual="enqueue_in() blocks the event loop inside async def later: rqjobs.aio has no",
            expected_replacement=(
                "from rqjobs import enqueue_in\n\n\nasync def later(request):\n"
                "    enqueue_in('emails', delta, send_email, 1)\n"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue_at\n\n\nasync def remind(request, when):\n"
            "    enqueue_at('emails', when, send_email, 1)\n",
            lines=(5,),
            manual="enqueue_at() blocks the event loop inside async def remind",
        ),
        Invalid(
            "from starlette.concurrency import run_in_threadpool\n\n"
            "from rqjobs import enqueue\n\n\n"
            "async def notify(request, ids):\n"
            "    await run_in_threadpool(enqueue('q', send_email, 0))\n"
            "    return [enqueue('q', send_email, i) for i in ids]\n",
            lines=(7, 8),
            manual="enqueue() blocks the event loop inside async def notify",
        ),
        Invalid(
            "from app.services.jobs import enqueue\n\n\ndef make_handler():\n"
            "    async def handler(request):\n        enqueue('q', send_email, 1)\n\n"
            "    return handler\n",
            lines=(6,),
            manual="enqueue() blocks the event loop inside async def handler",
        ),
    ),
)


def _blocking(ctx: Context, call: ast.Call, callee: Optional[str]) -> Optional[str]:
    """The name of the ``rqjobs.aio`` function that replaces a blocking call, else ``None``."""
    if callee is not None and (callee == AIO_MODULE or callee.startswith(AIO_MODULE + ".")):
        return None
    if wrapper_function(ctx.config, callee, BLOCKING_FUNCTIONS):
        assert callee is not None
        return callee.rpartition(".")[2]
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ENQUEUE_METHODS:
        if is_queue(ctx, func.value):
            return func.attr
    return None


def _client_constructor(ctx: Context, qualname: Optional[str]) -> bool:
    return qualname is not None and (
        qualname in SYNC_CLIENTS
        or qualname in ctx.config.client_constructors
        or wrapper_function(ctx.config, qualname, frozenset({GET_REDIS}))
    )


def sync_client(ctx: Context, expr: ast.AST) -> bool:
    """Is ``expr`` known to be a synchronous Redis client: the wrapper's ``get_redis()``, a
    ``redis.Redis(...)``/``from_url(...)`` (or a ``client-constructors`` call), a name or
    ``self`` attribute bound to one, or a module-level client of another project module?"""
    if type(expr) is ast.Call:
        return _client_constructor(ctx, ctx.resolve(expr.func))
    if ctx.binding_of(expr) == SYNC_CLIENT:
        return True
    built = ctx.project_object(expr)
    return built is not None and _client_constructor(ctx, built[0])


def _sync_lock(ctx: Context, expr: ast.AST) -> bool:
    """Is ``expr`` a lock of a synchronous Redis client (``r.lock(name, ...)``, or a name
    bound to one, the scheduler family's lock kind)?"""
    if isinstance(expr, ast.Name) and ctx.binding_of(expr) == LOCK:
        expr = ctx.value_of(expr) or expr  # followed only for a lock object
    if type(expr) is not ast.Call:
        return False
    func = expr.func
    return isinstance(func, ast.Attribute) and func.attr == "lock" and sync_client(ctx, func.value)


def _fetched_job(ctx: Context, expr: ast.AST) -> bool:
    """Is ``expr`` an RQ job read from Redis here (``Job.fetch(...)``, ``q.fetch_job(...)``,
    or a name bound to one)?"""
    if type(expr) is ast.Call:
        return _rq_read(ctx, expr, ctx.resolve(expr.func))
    return ctx.binding_of(expr) == FETCHED_JOB


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    """What an assignment binds, for the checks above: a synchronous Redis client, or an RQ
    job fetched from Redis (a binding kind, so that no variable needs following)."""
    if type(value) is not ast.Call:
        return None
    callee = ctx.resolve(value.func)
    if _client_constructor(ctx, callee):
        return SYNC_CLIENT
    return FETCHED_JOB if _rq_read(ctx, value, callee) else None


def _rq_read(ctx: Context, call: ast.Call, callee: Optional[str]) -> bool:
    if callee in RQ_JOB_CALLS:
        return True
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == FETCH_JOB and is_queue(ctx, func.value)


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    coroutine = ctx.coroutine()
    if coroutine is None:
        return
    func = _blocking(ctx, call, callee)
    target = call.func
    if func is None and (
        _rq_read(ctx, call, callee)
        or (
            isinstance(target, ast.Attribute)
            and target.attr in JOB_METHODS
            and _fetched_job(ctx, target.value)
        )
    ):
        name = callee.rpartition(".")[2] if callee else terminal_name(target) or "call"
        shown = spelled(target)
        facts = AsyncCallFacts(shown, coroutine, name, rq_call=True)
        ctx.report(call, RQJ400, facts, callee, call=shown, name=coroutine, advice=RQ_ADVICE)
        return
    if func is None:
        if not isinstance(target, ast.Attribute) or target.attr in NOT_COMMANDS:
            return
        if target.attr in LOCK_METHODS and _sync_lock(ctx, target.value):
            pass  # lock = r.lock("x"); lock.acquire(): waits for Redis, and for the lock
        elif target.attr.startswith("_") or not sync_client(ctx, target.value):
            return
        shown = spelled(target)
        facts = AsyncCallFacts(shown, coroutine, target.attr, redis_command=True)
        advice = CLIENT_ADVICE
    else:
        shown = spelled(target)
        facts = AsyncCallFacts(shown, coroutine, func, queue_method=func in ENQUEUE_METHODS)
        advice = AIO_ADVICE.format(func=func)
    ctx.report(call, RQJ400, facts, callee, call=shown, name=coroutine, advice=advice)


def check_with(ctx: Context, expr: ast.AST) -> None:
    """``with r.lock("x"):`` (or ``with lock:`` of such a lock) inside ``async def``: the
    ``with`` acquires the lock, waiting for Redis and for the lock; ``async with`` of a
    redis.asyncio lock is not a plain ``with`` and is never seen here."""
    coroutine = ctx.coroutine()
    if coroutine is None or not _sync_lock(ctx, expr):
        return
    shown = spelled(expr) + ".acquire"
    facts = AsyncCallFacts(shown, coroutine, "acquire", redis_command=True)
    ctx.report(expr, RQJ400, facts, None, call=shown, name=coroutine, advice=CLIENT_ADVICE)


FAMILY = Family("async_calls", (RQJ400,), check_call, value_kind, check_with=check_with)
