"""RQJ004 (RQ's connection stack, removed in RQ 2) and RQJ005 (an RQ worker run inside web or
scheduler code): RQ's own idioms that the wrapper replaces.

The family's tables (the connection-stack functions, the worker classes and factories) and
its facts (:class:`IdiomFacts`) are stated here once; ``fixers/rq_idioms.py`` reads them.
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
    keyword,
    spelled,
)

# rq < 2's connection stack (rq.connections), every spelling.
CONNECTION_STACK: FrozenSet[str] = frozenset(
    f"{module}.{name}"
    for module in ("rq", "rq.connections")
    for name in ("Connection", "push_connection", "pop_connection", "use_connection")
)
# What builds an RQ worker: its classes and django-rq's factory.
WORKERS: FrozenSet[str] = frozenset(
    {
        *(f"{m}.{n}" for m in ("rq", "rq.worker") for n in ("Worker", "SimpleWorker")),
        "rq.worker.HerokuWorker",
        "rq.worker.SpawnWorker",
        "rq.SpawnWorker",
        "django_rq.get_worker",
        "django_rq.workers.get_worker",
    }
)
WORK = "work"
# Modules that are web code by their name (the last dotted part).
WEB_MODULES: FrozenSet[str] = frozenset({"views", "routes", "urls", "wsgi", "asgi", "endpoints"})


@dataclass(frozen=True)
class IdiomFacts(Facts):
    """RQJ004: the connection-stack function; RQJ005: the worker as written and where it
    runs (``where``: web code, scheduler code, a web module)."""

    name: str
    where: Optional[str] = None


RQJ004 = Rule(
    code="RQJ004",
    summary="RQ connection stack (removed in RQ 2)",
    message=(
        "{name}() is RQ's connection stack, removed in RQ 2: code that relies on it breaks on "
        "upgrade. Pass connection= explicitly, or use {wrapper}.get_queue(name) / "
        "{wrapper}.get_redis() instead."
    ),
    doc="""\
## What it does
Flags `rq.Connection(...)` (usually `with Connection(redis):`), `push_connection(...)`,
`pop_connection()` and `use_connection(...)`, from `rq` or `rq.connections`, through any
import alias: each is a site to migrate before moving to RQ 2, which removed them.

## Why is this bad?
RQ 2 removed the implicit connection stack: a queue or worker built inside
`with Connection(...)` without its own `connection=` raises on RQ 2, and code that pushes a
connection for the whole process hides which Redis every queue talks to.

## Example
```python
from rq import Connection, Queue

with Connection(redis_conn):
    Queue("emails").enqueue(send_email, user_id)
```

## Use instead
```python
from rqjobs import enqueue

enqueue("emails", send_email, user_id)
```
""",
    sample={"name": "Connection"},
    triggers=(Trigger("rq", import_name=True),),
    fix="reported only (a migration site: each queue needs its own connection)",
    fix_safety="""\
Never rewritten: which queues and workers inside the block relied on the pushed connection,
and which connection they should get, is only known by reading the code around it. Every site
is listed as a manual fix that names the call to migrate.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid("from rqjobs import get_queue\n\nq = get_queue('emails')\n"),
        Valid(  # another library's Connection
            "from kombu import Connection\n\nwith Connection('amqp://') as conn:\n"
            "    conn.connect()\n",
            filename="app/amqp.py",
        ),
        Valid(  # a local function of the same name
            "def push_connection(pool, conn):\n    pool.append(conn)\n\n\npush_connection([], 1)\n",
            filename="app/pool.py",
        ),
        Valid(
            "from rq import Connection\n\nwith Connection(r):\n    pass\n",
            filename="app/services/jobs.py",
        ),
    ),
    invalid=(
        Invalid(
            "from redis import Redis\nfrom rq import Connection, Queue\n\n\ndef resend(ids):\n"
            "    with Connection(Redis.from_url(settings.REDIS_URL)):\n"
            "        Queue('mail').enqueue(resend_mail, ids)\n",
            filename="mail/tasks.py",
            lines=(6,),
            also=("RQJ001", "RQJ002", "RQJ003"),
            manual="Connection() is RQ's connection stack, removed in RQ 2",
        ),
        Invalid(
            "from rq.connections import push_connection, pop_connection\n\n\n"
            "def setup(app):\n    push_connection(app.redis)\n\n\ndef teardown(exc):\n"
            "    pop_connection()\n",
            filename="web/app.py",
            lines=(5, 9),
            manual="is RQ's connection stack, removed in RQ 2",
        ),
        Invalid(
            "import rq\n\nrq.use_connection(redis_conn)\n",
            filename="scripts/console.py",
            lines=(3,),
            manual="use_connection() is RQ's connection stack, removed in RQ 2",
        ),
    ),
)

RQJ005 = Rule(
    code="RQJ005",
    summary="RQ worker run inside web or scheduler code",
    message=(
        "{name}.work() runs an RQ worker inside {where}: it blocks that process, shares its "
        "memory and dies with it. Run the worker as its own process (`rqjobs worker` or "
        "`rq worker`) instead."
    ),
    doc="""\
## What it does
Flags `.work()` (also `target=worker.work` handed to a thread or process) of an RQ worker
(`rq.Worker`, `SimpleWorker`, `SpawnWorker`, `HerokuWorker`, django-rq's `get_worker()`),
built in the call or in a variable bound once, when it runs in web code (an HTTP handler, a
startup or request hook such as `@app.on_event("startup")` or `@app.before_first_request`, or
a module named `views`, `routes`, `urls`, `wsgi`, `asgi`, `endpoints`) or in scheduler code
(`scheduler-paths`, a function whose name contains "scheduler", or a `*Scheduler` class).
A worker started from its own script or management command is not flagged.

## Why is this bad?
A worker inside a web process blocks the request (or a thread of the server) for as long as
it works, forks from a process full of open connections, and is killed by every deploy or
request timeout; inside the scheduler it stops the ticks while a job runs.

## Example
```python
@app.post("/admin/drain")
def drain():
    Worker([get_queue("default")], connection=get_redis()).work(burst=True)
```

## Use instead
```python
# Procfile / a service of its own
worker: rqjobs worker default
```
""",
    sample={"name": "Worker(...)", "where": "web code (an HTTP handler or a web app hook)"},
    triggers=(Trigger("rq", import_name=True),),
    fix="reported only (the worker moves to its own process)",
    fix_safety="""\
Never rewritten: moving a worker to its own process changes the deployment (a Procfile entry,
a service, a container), which the fixer cannot see. Every site is listed as a manual fix
that names where the worker runs.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid(  # a worker script of its own
            "from rq import Worker\n\nfrom app.conn import redis_conn\n\n\ndef main():\n"
            "    Worker(['default'], connection=redis_conn).work()\n",
            filename="bin/run_worker.py",
        ),
        Valid(  # a management command
            "import django_rq\n\n\nclass Command(BaseCommand):\n"
            "    def handle(self, *args, **options):\n"
            "        django_rq.get_worker('default').work(burst=True)\n",
            filename="jobs/management/commands/drain.py",
        ),
        Valid(  # something else's work() in a view
            "from rq import Worker\n\n\ndef status(request):\n    return tracker.work()\n",
            filename="app/views.py",
        ),
    ),
    invalid=(
        Invalid(
            "from rq import Worker\n\n\n@app.post('/admin/drain')\ndef drain():\n"
            "    Worker(['default'], connection=conn).work(burst=True)\n",
            filename="ops/api.py",
            lines=(6,),
            manual="Worker(...).work() runs an RQ worker inside web code",
        ),
        Invalid(
            "import threading\n\nfrom rq import SimpleWorker\n\n\nclass ReminderScheduler:\n"
            "    def start(self):\n        worker = SimpleWorker(['reminders'], connection=conn)\n"
            "        threading.Thread(target=worker.work, daemon=True).start()\n",
            filename="app/reminders.py",
            lines=(9,),
            manual="worker.work() runs an RQ worker inside scheduler code",
        ),
        Invalid(  # a FastAPI startup hook starting a worker thread
            "import threading\n\nfrom rq import Worker\n\n\n@app.on_event('startup')\n"
            "def start_worker():\n    worker = Worker(['default'], connection=conn)\n"
            "    threading.Thread(target=worker.work, daemon=True).start()\n",
            filename="api/main.py",
            lines=(9,),
            manual="worker.work() runs an RQ worker inside web code",
        ),
        Invalid(
            "import django_rq\n\n\ndef run_jobs(request):\n"
            "    django_rq.get_worker('default').work(burst=True)\n",
            filename="dashboard/views.py",
            lines=(5,),
            manual="runs an RQ worker inside web code",
        ),
    ),
)


def _worker(ctx: Context, expr: ast.AST) -> bool:
    """Is ``expr`` an RQ worker built here (in the call, or a name bound once to it)?"""
    source = ctx.value_of(expr) if isinstance(expr, ast.Name) else expr
    return isinstance(source, ast.Call) and ctx.resolve(source.func) in WORKERS


def _where(ctx: Context) -> Optional[str]:
    source = ctx.event_source
    if source is not None and source.http:
        return "web code (an HTTP handler or a web app hook)"
    if ctx.in_scheduler_code():
        return "scheduler code"
    if ctx.module.rsplit(".", 1)[-1] in WEB_MODULES:
        return "a web module"
    return None


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    if callee in CONNECTION_STACK:
        assert callee is not None
        name = callee.rsplit(".", 1)[-1]
        ctx.report(call, RQJ004, IdiomFacts(name), callee, name=name)
        return
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == WORK:
        worker: Optional[ast.AST] = func.value
        node: ast.AST = call
    else:
        target = keyword(call, "target") if call.keywords else None
        if target is None or not isinstance(target.value, ast.Attribute):
            return
        worker = target.value.value if target.value.attr == WORK else None
        node = target.value
    if worker is None or not _worker(ctx, worker):
        return
    where = _where(ctx)
    if where is not None:
        name = spelled(worker)
        if isinstance(worker, ast.Call):
            name = spelled(worker.func) + "(...)"
        ctx.report(node, RQJ005, IdiomFacts(name, where), callee, name=name, where=where)


FAMILY = Family("rq_idioms", (RQJ004, RQJ005), check_call)
