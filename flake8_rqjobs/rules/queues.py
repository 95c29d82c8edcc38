"""RQJ002 (an RQ queue built outside the wrapper) and RQJ003 (a job enqueued straight on an
RQ queue object outside the wrapper).

The family's tables (RQ's queue class, its enqueue methods and their own keywords, the
wrapper's queue functions) and its facts (:class:`QueueFacts`, :class:`EnqueueFacts`) are
stated here once; ``fixers/queues.py`` and the dedupe family read them.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, replace
from enum import Enum
from typing import Dict, FrozenSet, Optional, Tuple

from flake8_rqjobs.names import LOCAL_DEF
from flake8_rqjobs.rules.base import (
    Context,
    Facts,
    Family,
    Invalid,
    Rule,
    Span,
    Trigger,
    Valid,
    has_star_args,
    has_star_kwargs,
    spelled,
)
from flake8_rqjobs.rules.redis_clients import (
    CLIENT_CLASSES,
    ConnectionFacts,
    connection_facts,
    wrapper_function,
)

QUEUE_CLASS = "rq.Queue"
QUEUE = "@queue"  # binding kind: an RQ queue object
TRACKED_CLASSES: FrozenSet[str] = frozenset({QUEUE_CLASS, *CLIENT_CLASSES})
# RQ's enqueue methods, and where each takes the job function (None: a list of jobs).
JOB_POSITION: Dict[str, Optional[int]] = {
    "enqueue": 0,
    "enqueue_call": 0,
    "enqueue_at": 1,
    "enqueue_in": 1,
    "enqueue_many": None,
    "enqueue_job": None,  # a prepared rq.job.Job
    "schedule_job": None,  # a prepared rq.job.Job, into the scheduled registry
}
ENQUEUE_METHODS: FrozenSet[str] = frozenset(JOB_POSITION)
# rq's @job(...) decorator (rq.decorators.job, re-exported by django-rq): f.delay(...) enqueues.
_BUILTINS: FrozenSet[str] = frozenset(dir(builtins))
RQ_JOB_DECORATORS: FrozenSet[str] = frozenset({"rq.decorators.job", "rq.job", "django_rq.job"})
DELAY = "delay"
# rq-scheduler: the classes and factories that build a scheduler, and where each of its
# methods takes the job function (also as func=).
SCHEDULER = "@scheduler"  # binding kind: an rq-scheduler Scheduler
SCHEDULER_FACTORIES: FrozenSet[str] = frozenset(
    {"rq_scheduler.Scheduler", "rq_scheduler.scheduler.Scheduler", "django_rq.get_scheduler"}
)
SCHEDULER_POSITION: Dict[str, int] = {"schedule": 1, "cron": 1, "enqueue_at": 1, "enqueue_in": 1}
PREPARE_DATA = "prepare_data"  # Queue.prepare_data(func, ...): a job for enqueue_many
# Keywords that rq's Queue.enqueue takes for itself (Queue.parse_args, rq 2.x and 3.x).
RQ_OPTIONS: FrozenSet[str] = frozenset(
    {
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
)
# The wrapper's functions that replace a queue: get_queue(name) and enqueue(name, f, ...).
GET_QUEUE = "get_queue"
ENQUEUE = "enqueue"
QUEUE_ARGUMENTS = ("name", "connection")  # what get_queue(name) keeps of Queue(...)


# --- facts ------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueFacts(Facts):
    """RQJ002: the queue's name argument (``None``: omitted, RQ's "default"), its
    connection, and what ``get_queue(name)`` could not keep: ``extra`` settings
    (``default_timeout=``, a third positional argument), ``*args``/``**kwargs``, or the local
    ``subclass`` of ``rq.Queue`` the call builds."""

    name: Optional[str]
    connection: Optional[ConnectionFacts]
    extra: Tuple[str, ...] = ()
    star: bool = False
    subclass: Optional[str] = None
    subclass_path: Optional[str] = None  # a project subclass: the module defining it


class Origin(Enum):
    """Where the queue an enqueue method is called on comes from."""

    BUILT_HERE = "built by rq.Queue(...) in this module"
    WRAPPER = "returned by the wrapper's get_queue()"
    OTHER_FACTORY = "returned by a queue factory that is not the wrapper's"
    UNSEEN = "held in a variable or attribute whose value the linter cannot follow"
    IMPORTED = "a module-level queue of another project module"


@dataclass(frozen=True)
class EnqueueFacts(Facts):
    """RQJ003: the enqueue method, the receiver (as written), its origin, the call that made
    the queue (``source``, with its ``factory``: resolved, else as written) and the plain
    name that holds it."""

    method: str
    receiver: str
    origin: Origin
    source: Optional[Span] = None
    factory: Optional[str] = None
    variable: Optional[str] = None
    module_path: Optional[str] = None  # IMPORTED: where the queue is built
    queue_name: Optional[str] = None  # IMPORTED: its name, when a literal
    callback: bool = False  # the bound method is passed on (do(q.enqueue, job)), not called


RQJ002 = Rule(
    code="RQJ002",
    summary="RQ Queue built outside the wrapper",
    message=(
        "{name}() builds an RQ queue outside the wrapper: its connection, serializer and "
        "queue-name check bypass the shared setup. Use {wrapper}.get_queue(name) or "
        "{wrapper}.enqueue(name, func, ...) instead."
    ),
    doc="""\
## What it does
Flags `rq.Queue(...)` built outside the sanctioned wrapper modules, whatever the import
(`from rq import Queue as Q`, `from rq.queue import Queue`, `import rq`), with the name given
positionally, as `name=` or not at all, inside chained calls (`Queue("x").enqueue(...)`,
`Queue("x").failed_job_registry`), and local subclasses of `rq.Queue`. Class methods that build
nothing (`Queue.all(...)`) are not flagged, nor are `queue.Queue`, `asyncio.Queue`,
`multiprocessing.Queue` or kombu's `Queue`.

## Why is this bad?
Every inline queue picks its own connection (often a new Redis client) and serializer. A typo in
a queue name silently creates a queue that no worker reads, and a switch to the JSON serializer
misses the queues built by hand.

## Example
```python
from rq import Queue

q = Queue("emails", connection=redis_conn)
q.enqueue(send_email, user_id)
```

## Use instead
```python
from rqjobs import enqueue

enqueue("emails", send_email, user_id)
```
""",
    sample={"name": "Queue"},
    triggers=(Trigger("rq", import_name=True),),
    fix="Queue(name, connection=...) -> enqueue(name, ...) / get_queue(name)",
    fix_safety="""\
When the queue is RQ's `Queue` (any alias) built with only a name and the wrapper's
connection (`get_redis()`, `Redis.from_url(<REDIS_URL>)` or a name bound once to one of
those): `Queue(name, connection=c).enqueue(f, ...)` becomes `enqueue(name, f, ...)`; a
variable `q = Queue(...)` whose only uses are `q.enqueue(...)` goes and those calls become
`enqueue(name, ...)` (a module-level variable that `__all__` lists or another file of the run
imports stays, as `q = get_queue(name)`); any other use keeps the queue, built by
`get_queue(name)`. A missing name becomes `"default"`. Connection variables and imports left
unused are removed.

The fixer declines, naming the reason, for other `Queue` settings (`default_timeout`,
`is_async`, `serializer`: `get_queue` would drop them), `*args`/`**kwargs`, a connection that
is not provably the wrapper's (the queue could move to another server), and local subclasses
of `rq.Queue` (their overrides would be lost).
""",
    valid=(
        Valid("from rqjobs import get_queue\n\nq = get_queue('emails')\n"),
        Valid("import queue\n\nq = queue.Queue()\n"),
        Valid("from queue import Queue\n\nq = Queue(maxsize=3)\n"),
        Valid("import asyncio\n\nq = asyncio.Queue()\n"),
        Valid("from multiprocessing import Queue\n\nq = Queue()\n"),
        Valid("import multiprocessing\n\nq = multiprocessing.Manager().Queue()\n"),
        Valid("from kombu import Queue\n\nq = Queue('tasks', routing_key='tasks')\n"),
        Valid("from rq import Queue\n\nqueues = Queue.all(connection=conn)\n"),
        Valid("from rq import Queue\n\ndef f(Queue):\n    return Queue('x')\n"),
        Valid("q = Queue('emails')\n"),
        Valid("from rq import Queue\n\nclass Holder:\n    queue: Queue\n"),
        Valid("from rq import Queue\n\nq = Queue('x')\n", filename="app/services/jobs.py"),
        Valid("from rq import Queue\n\nq = Queue('x')\n", filename="runtime/rqjobs/queues.py"),
        Valid(
            "from app.queues import Queue\n\nq = Queue('emails', connection=conn)\n",
            files={
                "app/queues.py": "class Queue:\n    def __init__(self, name, connection):\n"
                "        self.name = name\n"
            },
        ),
    ),
    invalid=(
        Invalid(
            "from rq import Queue\n\nq = Queue('emails', connection=r)\n",
            lines=(3,),
            manual="connection r is not provably the wrapper's Redis (REDIS_URL, no options); the",
        ),
        Invalid(
            "from rq import Queue as Q\n\nq = Q(name='emails')\n",
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "from rq.queue import Queue\n\nq = Queue()\n",
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "import rq\n\nq = rq.Queue('x', connection=r)\n",
            lines=(3,),
            manual="connection r is not provably the wrapper's Redis (REDIS_URL, no options); the",
        ),
        Invalid(
            "import rq as r\n\nq = r.queue.Queue('x')\n",
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "from rq import Queue\n\nQueue('x', connection=r).enqueue(f)\n",
            lines=(3,),
            also=("RQJ003",),
            manual="connection r is not provably the wrapper's Redis (REDIS_URL, no options); the",
        ),
        Invalid(
            "from rq import Queue\n\nn = len(Queue('x').failed_job_registry)\n",
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "from rq import Queue as BaseQueue\n\nclass MyQueue(BaseQueue):\n    pass\n\n"
            "q = MyQueue('x')\n",
            lines=(6,),
            manual=(
                "MyQueue is a local subclass of rq.Queue: get_queue() builds a plain "
                "rq.Queue, so its"
            ),
        ),
        Invalid(
            "def make():\n    from rq import Queue\n    return Queue('x')\n",
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "def make():\n    return Queue('x')\n\nfrom rq import Queue\n",
            lines=(2,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "from rq import Queue\n\nqs = [Queue(n) for n in NAMES]\n",
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
        Invalid(
            "from rq import Queue\n\nfrom rqjobs import get_redis\n\n"
            "q = Queue('emails', connection=get_redis())\nq.enqueue(send_email, 1)\n",
            lines=(5,),
            also=("RQJ003",),
            expected_replacement="from rqjobs import enqueue\n\nenqueue('emails', send_email, 1)\n",
        ),
        Invalid(
            "from app.queues import Queue\n\nq = Queue('emails', connection=conn)\n",
            files={
                "app/queues.py": "from rq import Queue as RQQueue\n\n\nclass Queue(RQQueue):\n"
                "    default_timeout = 60\n"
            },
            lines=(3,),
            manual="Queue is a subclass of rq.Queue defined in app/queues.py: get_queue() builds",
        ),
        Invalid(
            "from app.base import JobQueue\n\njq = JobQueue('reports')\n",
            files={
                "app/base.py": "from app.queues import Queue as JobQueue\n",
                "app/queues.py": "import rq\n\n\nclass Queue(rq.Queue):\n    pass\n",
            },
            lines=(3,),
            manual="JobQueue is a subclass of rq.Queue defined in app/queues.py",
        ),
        Invalid(
            "from app.compat import Queue\n\nq = Queue('x')\n",
            files={"app/compat.py": "from rq import Queue\n"},
            lines=(3,),
            manual="Queue(...) without connection=: cannot tell which Redis it uses",
        ),
    ),
)

# Issue 10, item 3: RQ's and django-rq's own ways to enqueue.
IDIOM_VALID = (
    Valid(  # .delay() of a function rq's @job did not decorate
        "from celery import shared_task\n\n\n@shared_task\ndef send_receipt(order_id):\n"
        "    ...\n\n\nsend_receipt.delay(42)\n",
        filename="shop/tasks.py",
    ),
    Valid(  # another library's scheduler
        "from apscheduler.schedulers.background import BackgroundScheduler\n\n"
        "sched = BackgroundScheduler()\nsched.add_job(rotate_logs, 'interval', hours=1)\n",
        filename="ops/cron.py",
    ),
    Valid(  # rq-scheduler in a wrapper module
        "from rq_scheduler import Scheduler\n\nscheduler = Scheduler('default', connection=conn)\n"
        "scheduler.cron('0 3 * * *', func=purge_sessions)\n",
        filename="app/services/jobs.py",
    ),
)
IDIOM_INVALID = (
    Invalid(  # rq's @job decorator, then .delay()
        "from rq.decorators import job\n\n\n@job('mail', connection=redis_conn, timeout=60)\n"
        "def send_invoice(invoice_id):\n    ...\n\n\ndef checkout(order):\n"
        "    send_invoice.delay(order.invoice_id)\n",
        filename="shop/billing.py",
        lines=(10,),
        manual="delay() has no one-to-one wrapper call",
    ),
    Invalid(  # django-rq's @job, decorated in another module
        "from reports.jobs import build_export\n\n\ndef export(request):\n"
        "    build_export.delay(request.user.pk)\n",
        files={
            "reports/jobs.py": "from django_rq import job\n\n\n@job('exports')\n"
            "def build_export(user_id):\n    ...\n"
        },
        filename="reports/views.py",
        lines=(5,),
        manual="delay() has no one-to-one wrapper call",
    ),
    Invalid(  # rq-scheduler: schedule() and enqueue_in()
        "from datetime import timedelta\n\nfrom rq_scheduler import Scheduler\n\n"
        "scheduler = Scheduler(queue_name='maintenance', connection=conn)\n"
        "scheduler.schedule(scheduled_time=utcnow(), func=refresh_rates, interval=3600)\n"
        "scheduler.enqueue_in(timedelta(minutes=5), warm_cache)\n",
        filename="ops/periodic.py",
        lines=(6, 7),
        manual="has no one-to-one wrapper call",
    ),
    Invalid(  # django-rq's scheduler: cron()
        "import django_rq\n\n\ndef install_jobs():\n"
        "    django_rq.get_scheduler('default').cron('*/5 * * * *', func=sync_calendars)\n",
        filename="calendars/apps.py",
        lines=(5,),
        manual="cron() has no one-to-one wrapper call",
    ),
)

# Issue 10, item 1: a queue's bound enqueue method passed on as a callback.
CALLBACK_VALID = (
    Valid(  # a queue the linter cannot follow (a parameter)
        "import schedule\n\n\ndef install(q):\n"
        "    schedule.every().hour.do(q.enqueue, rotate_logs)\n",
        filename="ops/cron.py",
    ),
    Valid(  # the wrapper's own enqueue function handed on
        "import schedule\nfrom rqjobs import enqueue\n\n"
        "schedule.every().day.at('02:00').do(enqueue, 'reports', build_nightly_report)\n",
        filename="ops/cron.py",
    ),
    Valid(  # another library's object with an enqueue method
        "import atexit\n\nfrom app.outbox import Outbox\n\noutbox = Outbox()\n"
        "atexit.register(outbox.enqueue, 'shutdown')\n",
        filename="app/lifecycle.py",
    ),
    Valid(  # a stdlib queue's put, handed to a timer
        "import queue\nimport threading\n\nwork = queue.Queue()\n"
        "threading.Timer(5, work.put, args=('tick',)).start()\n",
        filename="app/ticker.py",
    ),
    Valid(  # looked at, not handed on to be called
        "import inspect\n\nfrom rqjobs import get_queue\n\n"
        "reports = get_queue('reports')\n\n\ndef describe():\n"
        "    return callable(reports.enqueue), inspect.signature(reports.enqueue_call)\n",
        filename="ops/cron.py",
    ),
    Valid(  # in the wrapper module itself
        "import atexit\n\nfrom rq import Queue\n\nq = Queue('x', connection=conn)\n"
        "atexit.register(q.enqueue, flush_metrics)\n",
        filename="app/services/jobs.py",
    ),
)
_CALLBACK = "is passed on as a callback, not called here"
CALLBACK_INVALID = (
    Invalid(  # schedule: do(queue.enqueue, job)
        "import schedule\nfrom rq import Queue\n\nfrom app.redis_conn import conn\n\n"
        "reports = Queue('reports', connection=conn)\n"
        "schedule.every().day.at('02:00').do(reports.enqueue, build_nightly_report)\n",
        filename="ops/cron.py",
        lines=(7,),
        also=("RQJ002",),
        manual="reports.enqueue " + _CALLBACK,
    ),
    Invalid(  # threading.Timer on the wrapper's get_queue()
        "import threading\n\nfrom rqjobs import get_queue\n\n\ndef remind_later(user_id):\n"
        "    q = get_queue('reminders')\n"
        "    threading.Timer(30, q.enqueue, args=(send_reminder, user_id)).start()\n",
        filename="app/reminders.py",
        lines=(8,),
        manual="q.enqueue " + _CALLBACK,
    ),
    Invalid(  # atexit: a raw queue imported from the project's queue module
        "import atexit\n\nfrom app.rq_queues import default_queue\n\n"
        "atexit.register(default_queue.enqueue_call, func=flush_metrics)\n",
        files={
            "app/rq_queues.py": "from redis import Redis\nfrom rq import Queue\n\n"
            "conn = Redis.from_url(REDIS_URL)\n"
            "default_queue = Queue('default', connection=conn)\n"
        },
        options={"wrapper-modules": ["app/rq_queues.py"]},
        filename="app/lifecycle.py",
        lines=(5,),
        manual="default_queue.enqueue_call " + _CALLBACK,
    ),
)

RQJ003 = Rule(
    code="RQJ003",
    summary="job enqueued straight on an RQ queue object",
    message=(
        ".{method}() enqueues straight on an RQ queue outside the wrapper: the job skips "
        "the wrapper's enqueue (lost-reply safety, who-enqueued metadata). Use "
        "{wrapper}.enqueue(queue, func, ...) instead."
    ),
    doc="""\
## What it does
Flags `.enqueue(...)`, `.enqueue_call(...)`, `.enqueue_at(...)`, `.enqueue_in(...)`,
`.enqueue_many(...)`, `.enqueue_job(...)` and `.schedule_job(...)` outside the wrapper when the
receiver is known to be an RQ queue: built by `rq.Queue(...)` in the same scope (or a
module-level variable), or returned by a configured queue factory (`queue-factories`, default
`get_queue` and `django_rq.get_queue`). A receiver the linter cannot tell apart from anything
else (a parameter, `self.queue` set elsewhere) is not flagged. RQ's other doors count too:
`.delay(...)` of a function decorated with rq's (or django-rq's) `@job(...)`, in this module or
another module of the project, and `.schedule(...)`, `.cron(...)`, `.enqueue_at(...)`,
`.enqueue_in(...)` of an rq-scheduler `Scheduler(...)` or `django_rq.get_scheduler()`. A
queue's enqueue method handed to another call to be called later counts too:
`schedule.every().day.do(q.enqueue, job)`, `threading.Timer(5, q.enqueue, args=(job,))`,
`atexit.register(q.enqueue_call, ...)`.

## Why is this bad?
Enqueueing on a raw queue skips what the wrapper adds: a reply lost on a flaky connection can
push the job twice, and nothing records which service enqueued it. It also keeps the inline
queue (and usually its inline Redis client) alive.

## Example
```python
q = get_queue("emails")
q.enqueue(send_email, user_id)
```

## Use instead
```python
from rqjobs import enqueue

enqueue("emails", send_email, user_id)
```
""",
    sample={"method": "enqueue"},
    triggers=(Trigger("enqueue"), Trigger("schedule_job")),
    fix="q.enqueue(f, ...) -> enqueue(name, f, ...)",
    fix_safety="""\
`.enqueue(f, ...)` and `.enqueue_call(func=f, args=(...), kwargs={...}, timeout=...)` (with
literal `args` and `kwargs`) on a queue built here (see RQJ002) or returned by the wrapper's
`get_queue(name)` (`rqjobs`, `rqjobs.queues`, the `wrapper-module`, or a module matching
`wrapper-modules`, through any import, relative ones included) become
`enqueue(name, f, ...)`, when the name cannot have changed in between. Under the same
conditions `.enqueue_at(when, f, ...)` and `.enqueue_in(delay, f, ...)` become the wrapper's
`enqueue_at(name, when, f, ...)` and `enqueue_in(name, delay, f, ...)` (RQ's own scheduling
with `enqueue`'s guarantees; `rqjobs worker` runs RQ's scheduler), when the `wrapper-module`
is `rqjobs` or a module of the project that defines or imports that call.

The fixer declines, naming the reason, for `enqueue_many`, `enqueue_job` and `schedule_job` (no
one-to-one wrapper call), `enqueue_at`/`enqueue_in` when the wrapper module does not offer them
(or is not in the project) or when the time and the job are not the first two positional
arguments, non-literal `enqueue_call` arguments, job keywords that RQ (or the wrapper's own
parameters) would take, queues left as they are (RQJ002's reason), queues from another factory
(which queue they are is not known here), and an enqueue method passed on as a callback (the
call that will make it is not here: hand on a function that calls the wrapper's `enqueue`).
""",
    valid=(
        *IDIOM_VALID,
        *CALLBACK_VALID,
        Valid("import rqjobs\n\nrqjobs.enqueue('emails', send_email, 1)\n"),
        Valid("def f(q):\n    q.enqueue(send_email, 1)\n"),
        Valid("def defer(scheduler, job, when):\n    scheduler.schedule_job(job, when)\n"),
        Valid(  # an app attribute that holds something else, or is rebound in the function
            "from flask import Flask\nfrom rqjobs import get_queue\n\n"
            "from app.outbox import Outbox\n\napp = Flask(__name__)\napp.outbox = Outbox()\n"
            "app.task_queue = get_queue('tasks')\n\n\n"
            "def send(msg):\n    app.outbox.enqueue(msg)\n\n\ndef reset(make):\n"
            "    app.task_queue = make()\n    app.task_queue.enqueue(msg)\n",
            filename="app/server.py",
        ),
        Valid("import queue\n\nq = queue.Queue()\nq.put(1)\n"),
        Valid("q = make_queue()\nq.enqueue(send_email)\n"),
        Valid("def f(self):\n    self.get_queue('x').enqueue(send_email)\n"),
        Valid(
            "from rqjobs import get_queue\n\nq = get_queue('x')\nq.enqueue(f)\n",
            filename="app/services/jobs.py",
        ),
        Valid(
            "from rqjobs import get_queue\n\nq = get_queue('x')\nq.enqueue(f)\n",
            options={"queue-factories": ["django_rq.get_queue"]},
        ),
        Valid(
            "from app.rq_queues import default_queue\n\ndefault_queue.enqueue(f)\n",
            files={
                "app/rq_queues.py": "from kombu import Queue\n\ndefault_queue = Queue('default')\n"
            },
        ),
        Valid(
            "from app.rq_queues import default_queue\n\ndefault_queue.enqueue(f)\n",
            files={
                "app/rq_queues.py": "import os\nfrom rq import Queue\n\nif os.getenv('X'):\n"
                "    default_queue = Queue('a')\nelse:\n    default_queue = make()\n"
            },
            options={"wrapper-modules": ["app/rq_queues.py"]},
        ),
    ),
    invalid=(
        Invalid(
            "from rqjobs import get_queue\n\nget_queue('emails').enqueue(f, 1)\n",
            lines=(3,),
            expected_replacement="from rqjobs import enqueue\n\nenqueue('emails', f, 1)\n",
        ),
        Invalid(
            "import django_rq\n\nq = django_rq.get_queue('high')\nq.enqueue_call(func=f)\n",
            lines=(4,),
            manual=(
                "the queue comes from django_rq.get_queue(), not from the wrapper's get_queue(), so"
            ),
        ),
        Invalid(
            "from rq import Queue\n\nq = Queue('x')\n\ndef later():\n    q.enqueue_in(delta, f)\n",
            lines=(6,),
            also=("RQJ002",),
            manual="the queue built on line 3 is left as it is (RQJ002)",
        ),
        Invalid(
            "def get_queue(name):\n    ...\n\ndef f():\n    q = get_queue('x')\n"
            "    q.enqueue_at(when, job)\n",
            lines=(6,),
            manual="the queue comes from get_queue(), not from the wrapper's get_queue(), so",
        ),
        Invalid(  # RQ's scheduling calls: the wrapper's enqueue_at / enqueue_in
            "from datetime import timedelta\n\nfrom rqjobs import get_queue\n\n\n"
            "def remind(user_id, when):\n    q = get_queue('reminders')\n"
            "    q.enqueue_at(when, send_reminder, user_id, job_timeout=60)\n"
            "    q.enqueue_in(timedelta(minutes=5), send_reminder, user_id)\n",
            lines=(8, 9),
            expected_replacement=(
                "from datetime import timedelta\n\nfrom rqjobs import enqueue_at, enqueue_in\n\n\n"
                "def remind(user_id, when):\n"
                "    enqueue_at('reminders', when, send_reminder, user_id, job_timeout=60)\n"
                "    enqueue_in('reminders', timedelta(minutes=5), send_reminder, user_id)\n"
            ),
        ),
        Invalid(  # a wrapper module that re-exports them
            "from services.jobs import get_queue\n\nget_queue('x').enqueue_in(delay, job)\n",
            files={"services/jobs.py": "from rqjobs import enqueue, enqueue_in, get_queue\n"},
            options={"wrapper-module": "services.jobs"},
            lines=(3,),
            expected_replacement=(
                "from services.jobs import enqueue_in\n\nenqueue_in('x', delay, job)\n"
            ),
        ),
        Invalid(  # a wrapper module written before enqueue_at existed
            "from services.jobs import get_queue\n\nget_queue('x').enqueue_at(when, job)\n",
            files={"services/jobs.py": "from rqjobs import enqueue, get_queue\n"},
            options={"wrapper-module": "services.jobs"},
            lines=(3,),
            manual=(
                "the wrapper module services/jobs.py does not define or re-export enqueue_at(); "
                "add `from rqjobs import enqueue_at` there and run fix again"
            ),
        ),
        Invalid(
            "from app.qs import make_q\n\nmake_q('x').enqueue(f)\n",
            options={"queue-factories": ["make_q"]},
            lines=(3,),
            manual=(
                "the queue comes from app.qs.make_q(), not from the wrapper's get_queue(), so which"
            ),
        ),
        Invalid(
            "class Svc:\n    def run(self):\n        from rqjobs import get_queue\n"
            "        self.q = get_queue('x')\n        self.q.enqueue_many(data)\n",
            lines=(5,),
            manual=(
                "enqueue_many() has no one-to-one wrapper call; call "
                "get_queue(name).<method>(...) by"
            ),
        ),
        Invalid(
            "from ..services.jobs import get_queue\n\n\ndef notify(job):\n"
            "    get_queue('x').enqueue(job)\n",
            filename="app/api/routes.py",
            lines=(5,),
            expected_replacement=(
                "from rqjobs import enqueue\n\n\ndef notify(job):\n    enqueue('x', job)\n"
            ),
        ),
        Invalid(
            "from rqjobs.queues import get_queue\n\nget_queue('x').enqueue(job)\n",
            lines=(3,),
            expected_replacement="from rqjobs import enqueue\n\nenqueue('x', job)\n",
        ),
        Invalid(
            "from app.rq_queues import default_queue\n\n\ndef resend(invoice_id):\n"
            "    default_queue.enqueue_call(func=send_invoice, args=(invoice_id,))\n",
            files={
                "app/rq_queues.py": "from redis import Redis\nfrom rq import Queue\n\n"
                "conn = Redis.from_url(REDIS_URL)\n"
                "default_queue = Queue('default', connection=conn)\n"
            },
            options={"wrapper-modules": ["app/rq_queues.py"]},
            lines=(5,),
            manual=(
                "default_queue is a queue built by rq.Queue() in app/rq_queues.py, another "
                "module: call the wrapper's enqueue('default', ...) by hand"
            ),
        ),
        Invalid(
            "from app import rq_queues\n\nrq_queues.high.enqueue(rebuild_index)\n",
            files={
                "app/rq_queues.py": "from rqjobs import get_queue\n\nhigh = get_queue('high')\n"
            },
            options={"wrapper-modules": ["app/rq_queues.py"]},
            lines=(3,),
            manual="rq_queues.high is a queue built by rqjobs.get_queue() in app/rq_queues.py",
        ),
        Invalid(
            "from app.queues import reports_queue\n\nreports_queue.enqueue(build_report, 7)\n",
            files={
                "app/queues/__init__.py": "from .defs import reports_queue\n",
                "app/queues/defs.py": "from rq import Queue\nfrom app.conn import redis_conn\n\n"
                "reports_queue = Queue('reports', connection=redis_conn)\n",
            },
            options={"wrapper-modules": ["app/queues/*"]},
            lines=(3,),
            manual="reports_queue is a queue built by rq.Queue() in app/queues/defs.py",
        ),
        Invalid(  # a queue kept on the app object at module level (a single-file Flask app)
            "from flask import Flask\nfrom rqjobs import get_queue\n\napp = Flask(__name__)\n"
            "app.task_queue = get_queue('tasks')\n\n\n@app.route('/export', methods=['POST'])\n"
            "def export():\n    app.task_queue.enqueue(build_export, 1)\n",
            filename="app/server.py",
            lines=(10,),
            manual="app.task_queue is bound more than once or outside this scope",
        ),
        Invalid(
            "from rqjobs import get_queue\n\n\ndef requeue(job):\n"
            "    get_queue('default').enqueue_job(job)\n",
            lines=(5,),
            manual="enqueue_job() has no one-to-one wrapper call",
        ),
        Invalid(  # a prepared job put into the scheduled registry
            "from rqjobs import get_queue\n\n\ndef defer(job, when):\n"
            "    get_queue('default').schedule_job(job, when)\n",
            lines=(5,),
            manual="schedule_job() has no one-to-one wrapper call",
        ),
        *IDIOM_INVALID,
        *CALLBACK_INVALID,
    ),
)


def is_factory(ctx: Context, func: ast.AST, qualname: Optional[str]) -> bool:
    """True when ``func`` is a configured queue factory (``queue-factories``)."""
    for pattern in ctx.config.queue_factories:
        if "." in pattern:
            if qualname == pattern:
                return True
        elif qualname is not None:
            if qualname.rsplit(".", 1)[-1] == pattern:
                return True
        elif isinstance(func, ast.Name) and func.id == pattern:
            # Defined in this module, or bound by nothing we can see (a star import).
            binding = ctx.binding_of(func)
            if binding is None or binding == LOCAL_DEF:
                return True
    return False


def is_queue(ctx: Context, expr: ast.AST) -> bool:
    """True when ``expr`` is known to evaluate to an RQ queue (also a module-level queue of
    another project module: ``from app.rq_queues import default_queue``)."""
    if isinstance(expr, ast.Call):
        qualname = ctx.resolve(expr.func)
        return qualname == QUEUE_CLASS or is_factory(ctx, expr.func, qualname)
    if ctx.binding_of(expr) == QUEUE:
        return True
    return imported_queue(ctx, expr) is not None


def imported_queue(ctx: Context, expr: ast.AST) -> Optional[Tuple[str, Optional[str], str]]:
    """(constructor, queue name, module path) when ``expr`` names a module-level RQ queue
    of another project module (built by rq.Queue, a subclass or a queue factory)."""
    built = ctx.project_object(expr)
    if built is None:
        return None
    constructor = built[0]
    if constructor == QUEUE_CLASS or is_factory(ctx, expr, constructor):
        return built
    return None


def is_scheduler(ctx: Context, expr: ast.AST) -> bool:
    """True when ``expr`` is known to be an rq-scheduler ``Scheduler``."""
    if isinstance(expr, ast.Call):
        return ctx.resolve(expr.func) in SCHEDULER_FACTORIES
    return ctx.binding_of(expr) == SCHEDULER


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    if not isinstance(value, ast.Call):
        return None
    if is_queue(ctx, value):
        return QUEUE
    return SCHEDULER if is_scheduler(ctx, value) else None


def queue_facts(ctx: Context, call: ast.Call) -> QueueFacts:
    name: Optional[ast.expr] = None
    connection: Optional[ast.expr] = None
    extra = []
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            continue
        if index < len(QUEUE_ARGUMENTS):
            if index == 0:
                name = arg
            else:
                connection = arg
        else:
            extra.append(f"positional argument {index + 1}")
    for kw in call.keywords:
        if kw.arg == "name":
            name = kw.value
        elif kw.arg == "connection":
            connection = kw.value
        elif kw.arg is not None:
            extra.append(kw.arg)
    subclass = subclass_path = None
    if isinstance(call.func, ast.Name) and isinstance(ctx.value_of(call.func), ast.ClassDef):
        subclass = call.func.id
    else:
        subclass_path = ctx.project_class(call.func)
        if subclass_path is not None:
            subclass = spelled(call.func)
    return QueueFacts(
        name=ast.unparse(name) if name is not None else None,
        connection=connection_facts(ctx, connection) if connection is not None else None,
        extra=tuple(extra),
        star=has_star_args(call) or has_star_kwargs(call),
        subclass=subclass,
        subclass_path=subclass_path,
    )


def enqueue_facts(ctx: Context, method: str, receiver: ast.AST) -> EnqueueFacts:
    variable = receiver.id if isinstance(receiver, ast.Name) else None
    shown = spelled(receiver)
    source = receiver if isinstance(receiver, ast.Call) else ctx.value_of(receiver)
    if not isinstance(source, ast.Call):
        imported = imported_queue(ctx, receiver)
        if imported is not None and ctx.binding_of(receiver) != QUEUE:
            constructor, name, path = imported
            return EnqueueFacts(
                method, shown, Origin.IMPORTED, None, constructor, variable, path, name
            )
        return EnqueueFacts(method, shown, Origin.UNSEEN, variable=variable)
    factory = ctx.resolve(source.func)
    if factory == QUEUE_CLASS:
        origin = Origin.BUILT_HERE
    elif wrapper_function(ctx.config, factory, frozenset({GET_QUEUE})):
        origin = Origin.WRAPPER
    else:
        origin = Origin.OTHER_FACTORY
    factory = factory or spelled(source.func)
    return EnqueueFacts(method, shown, origin, Span.of(source), factory, variable)


# Calls that look at a bound method without calling it later: callable(q.enqueue),
# inspect.signature(q.enqueue), print(q.enqueue).
INTROSPECTION_MODULES = ("inspect.", "typing.", "functools.wraps", "functools.update_wrapper")


def _introspects(ctx: Context, call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name) and func.id in _BUILTINS and ctx.binding_of(func) is None:
        return True
    qualname = ctx.resolve(func)
    return qualname is not None and qualname.startswith(INTROSPECTION_MODULES)


def _bound_enqueues(ctx: Context, call: ast.Call) -> None:
    """A queue's enqueue method handed to another call to be called later:
    ``schedule.every().day.do(q.enqueue, job)``, ``threading.Timer(5, q.enqueue, args=...)``,
    ``atexit.register(default_queue.enqueue_call, ...)``."""
    values = [*call.args, *[kw.value for kw in call.keywords]] if call.keywords else call.args
    for value in values:
        if type(value) is ast.Starred:
            value = value.value
        if (
            type(value) is ast.Attribute
            and value.attr in ENQUEUE_METHODS
            and is_queue(ctx, value.value)
            and not _introspects(ctx, call)
        ):
            facts = enqueue_facts(ctx, value.attr, value.value)
            facts = replace(facts, callback=True)
            ctx.report(value, RQJ003, facts, None, method=value.attr)


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    if call.args or call.keywords:
        _bound_enqueues(ctx, call)
    if callee == QUEUE_CLASS:
        ctx.report(call, RQJ002, queue_facts(ctx, call), callee, name=spelled(call.func))
        return
    func = call.func
    if not isinstance(func, ast.Attribute):
        return
    if func.attr in ENQUEUE_METHODS:
        if is_queue(ctx, func.value):
            facts = enqueue_facts(ctx, func.attr, func.value)
            ctx.report(call, RQJ003, facts, callee, method=func.attr)
            return
    if func.attr in SCHEDULER_POSITION and is_scheduler(ctx, func.value):
        facts = enqueue_facts(ctx, func.attr, func.value)  # rq-scheduler puts it on a queue
        ctx.report(call, RQJ003, facts, callee, method=func.attr)
    elif func.attr == DELAY and ctx.rq_job(func.value):
        shown = spelled(func.value)
        facts = EnqueueFacts(DELAY, shown, Origin.OTHER_FACTORY, factory="rq.decorators.job")
        ctx.report(call, RQJ003, facts, callee, method=DELAY)


FAMILY = Family("queues", (RQJ002, RQJ003), check_call, value_kind)
