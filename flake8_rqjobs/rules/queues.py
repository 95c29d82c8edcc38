"""RQJ002 (an RQ queue built outside the wrapper) and RQJ003 (a job enqueued straight on an
RQ queue object outside the wrapper)."""

from __future__ import annotations

import ast
from typing import FrozenSet, Optional

from flake8_rqjobs.names import LOCAL_DEF
from flake8_rqjobs.rules.base import Context, Invalid, Rule, Valid, spelled
from flake8_rqjobs.rules.redis_clients import CLIENT_CLASSES

QUEUE_CLASS = "rq.Queue"
QUEUE = "@queue"  # binding kind: an RQ queue object
TRACKED_CLASSES: FrozenSet[str] = frozenset({QUEUE_CLASS, *CLIENT_CLASSES})
ENQUEUE_METHODS: FrozenSet[str] = frozenset(
    {"enqueue", "enqueue_call", "enqueue_at", "enqueue_in", "enqueue_many"}
)

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
    ),
    invalid=(
        Invalid("from rq import Queue\n\nq = Queue('emails', connection=r)\n", lines=(3,)),
        Invalid("from rq import Queue as Q\n\nq = Q(name='emails')\n", lines=(3,)),
        Invalid("from rq.queue import Queue\n\nq = Queue()\n", lines=(3,)),
        Invalid("import rq\n\nq = rq.Queue('x', connection=r)\n", lines=(3,)),
        Invalid("import rq as r\n\nq = r.queue.Queue('x')\n", lines=(3,)),
        Invalid(
            "from rq import Queue\n\nQueue('x', connection=r).enqueue(f)\n",
            lines=(3,),
            also=("RQJ003",),
        ),
        Invalid("from rq import Queue\n\nn = len(Queue('x').failed_job_registry)\n", lines=(3,)),
        Invalid(
            "from rq import Queue as BaseQueue\n\nclass MyQueue(BaseQueue):\n    pass\n\n"
            "q = MyQueue('x')\n",
            lines=(6,),
        ),
        Invalid("def make():\n    from rq import Queue\n    return Queue('x')\n", lines=(3,)),
        Invalid(
            "def make():\n    return Queue('x')\n\nfrom rq import Queue\n",
            lines=(2,),
        ),
        Invalid("from rq import Queue\n\nqs = [Queue(n) for n in NAMES]\n", lines=(3,)),
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
Flags `.enqueue(...)`, `.enqueue_call(...)`, `.enqueue_at(...)`, `.enqueue_in(...)` and
`.enqueue_many(...)` outside the wrapper when the receiver is known to be an RQ queue: built by
`rq.Queue(...)` in the same scope (or a module-level variable), or returned by a configured
queue factory (`queue-factories`, default `get_queue` and `django_rq.get_queue`). A receiver the
linter cannot tell apart from anything else (a parameter, `self.queue` set elsewhere) is not
flagged.

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
    valid=(
        Valid("import rqjobs\n\nrqjobs.enqueue('emails', send_email, 1)\n"),
        Valid("def f(q):\n    q.enqueue(send_email, 1)\n"),
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
    ),
    invalid=(
        Invalid("from rqjobs import get_queue\n\nget_queue('emails').enqueue(f, 1)\n", lines=(3,)),
        Invalid(
            "import django_rq\n\nq = django_rq.get_queue('high')\nq.enqueue_call(func=f)\n",
            lines=(4,),
        ),
        Invalid(
            "from rq import Queue\n\nq = Queue('x')\n\ndef later():\n    q.enqueue_in(delta, f)\n",
            lines=(6,),
            also=("RQJ002",),
        ),
        Invalid(
            "def get_queue(name):\n    ...\n\ndef f():\n    q = get_queue('x')\n"
            "    q.enqueue_at(when, job)\n",
            lines=(6,),
        ),
        Invalid(
            "from app.qs import make_q\n\nmake_q('x').enqueue(f)\n",
            options={"queue-factories": ["make_q"]},
            lines=(3,),
        ),
        Invalid(
            "class Svc:\n    def run(self):\n        from rqjobs import get_queue\n"
            "        self.q = get_queue('x')\n        self.q.enqueue_many(data)\n",
            lines=(5,),
        ),
    ),
)

RULES = (RQJ002, RQJ003)


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
    """True when ``expr`` is known to evaluate to an RQ queue."""
    if isinstance(expr, ast.Call):
        qualname = ctx.resolve(expr.func)
        return qualname == QUEUE_CLASS or is_factory(ctx, expr.func, qualname)
    return ctx.binding_of(expr) == QUEUE


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    return QUEUE if isinstance(value, ast.Call) and is_queue(ctx, value) else None


def check_call(ctx: Context, call: ast.Call, qualname: Optional[str]) -> None:
    if qualname == QUEUE_CLASS:
        ctx.report(call, RQJ002, name=spelled(call.func))
        return
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in ENQUEUE_METHODS:
        if is_queue(ctx, func.value):
            ctx.report(call, RQJ003, method=func.attr)
