"""RQJ300 (an event job enqueued without a dedupe key) and RQJ301 (a dedupe key or event job id
that cannot recognise a retry of the same event)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum
from fnmatch import fnmatchcase
from typing import FrozenSet, Optional, Tuple

from flake8_rqjobs.rules.base import (
    Context,
    Facts,
    Family,
    FixAvailability,
    Invalid,
    Rule,
    Trigger,
    Valid,
    has_star_kwargs,
    keyword,
    string_value,
    terminal_name,
)
from flake8_rqjobs.rules.queues import JOB_POSITION, is_queue
from flake8_rqjobs.rules.redis_clients import wrapper_function

EVENT_JOB_DECORATOR = "event_job"
NONDET = "@nondet"  # binding kind: a value that differs on every call
ROUTE_DECORATORS: FrozenSet[str] = frozenset(
    {"route", "get", "post", "put", "patch", "delete", "api_route"}
)
ROUTE_WORDS = ("webhook", "callback")
# Functions whose result differs on every call (canonical qualified names or module prefixes).
NONDETERMINISTIC: FrozenSet[str] = frozenset(
    {
        "uuid.uuid1",
        "uuid.uuid4",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "os.urandom",
    }
)
NONDETERMINISTIC_MODULES = ("random.", "secrets.")
# The wrapper's enqueue functions.
ENQUEUE = "enqueue"
ENQUEUE_WITH_DEDUPE = "enqueue_with_dedupe"
WRAPPER_FUNCTIONS: FrozenSet[str] = frozenset({ENQUEUE, ENQUEUE_WITH_DEDUPE})
DEDUPE_KEY = "dedupe_key"
DJANGO_RQ_ENQUEUE = "django_rq.enqueue"
# What the fix reports for every site: only a human can choose the event's key.
NO_KEY_ADVICE = (
    "event job enqueued without a dedupe key: call enqueue_with_dedupe(queue, func, ..., "
    "dedupe_key=<provider event id>) so that a provider retry cannot run it twice"
)


class EnqueueKind(Enum):
    WRAPPER_ENQUEUE = "the wrapper's enqueue()"
    WRAPPER_DEDUPE = "the wrapper's enqueue_with_dedupe()"
    QUEUE_METHOD = "an RQ queue's enqueue method"


@dataclass(frozen=True)
class DedupeFacts(Facts):
    """RQJ300/RQJ301: how the job is enqueued, the job's name, and what is wrong with its
    key or job id (``problem``, RQJ301)."""

    kind: EnqueueKind
    job: Optional[str]
    problem: Optional[str] = None


# A project module that declares an event job (the examples enqueue it from another).
_DECORATED_ELSEWHERE = {
    "app/jobs.py": "from rqjobs import event_job\n\n\n@event_job\ndef sync_lead(event):\n"
    "    return event\n"
}

RQJ300 = Rule(
    code="RQJ300",
    summary="event job enqueued without a dedupe key",
    message=(
        "{job} is an event job enqueued without a dedupe key: a provider that retries the "
        "delivery gets it run twice. Use {wrapper}.enqueue_with_dedupe(queue, func, ..., "
        "dedupe_key=...) instead."
    ),
    doc="""\
## What it does
Flags a plain `enqueue(...)` (the wrapper's) or a queue's `.enqueue(...)` /
`.enqueue_call(...)` / `.enqueue_at(...)` / `.enqueue_in(...)` of an event job: a job whose
name matches `event-jobs` (default `*webhook*_job`, `push_send_job`, `*recording*_job`,
`*twilio_callback*`), or that is decorated with `@event_job` in the same module, or any job
enqueued inside an HTTP handler whose route path contains "webhook" or "callback". A call that
passes `**kwargs` is not flagged (the key may be inside), nor one with `job_id=` and
`unique=True` (RQ's own atomic dedupe).

## Why is this bad?
Webhook providers (WhatsApp, Twilio, Stripe) deliver at least once: a slow answer or a network
blip makes them send the same event again. Without a dedupe key each delivery becomes a job,
and the customer gets two messages, two charges, two call recordings.

## Example
```python
@app.post("/webhooks/whatsapp")
def whatsapp_webhook():
    enqueue("webhooks", process_webhook_job, request.json)
    return "", 204
```

## Use instead
```python
@app.post("/webhooks/whatsapp")
def whatsapp_webhook():
    event = request.json
    enqueue_with_dedupe(
        "webhooks", process_webhook_job, event,
        dedupe_key=f"webhook:whatsapp:{event['id']}",
    )
    return "", 204
```
""",
    sample={"job": "process_webhook_job"},
    triggers=(Trigger("enqueue"),),
    fix="reported only (the dedupe key needs a human)",
    fix_safety="""\
Never rewritten: the key must identify the provider's event (a message SID, a webhook
delivery id), and only a human can choose it. Every site is listed as a manual fix with this
advice.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('hooks', process_webhook_job, e, dedupe_key=f\"wa:{e['id']}\")\n"
        ),
        Valid("from rqjobs import enqueue\n\nenqueue('emails', send_email_job, 1)\n"),
        Valid("from kombu import Queue\n\ndef f(q):\n    q.enqueue(process_webhook_job)\n"),
        Valid("enqueue('hooks', process_webhook_job, e)\n"),
        Valid("from rqjobs import enqueue\n\nenqueue('hooks', process_webhook_job, **opts)\n"),
        Valid(
            "from rqjobs import get_queue\n\n"
            "get_queue('h').enqueue(process_webhook_job, job_id=f'wa-{mid}', unique=True)\n",
            filename="app/services/jobs.py",
        ),
        Valid(
            "from rqjobs import enqueue\n\nenqueue('hooks', process_webhook_job, e)\n",
            options={"event-jobs": ["push_send_job"]},
        ),
        Valid(
            "from rqjobs import enqueue\n\n@app.get('/health')\ndef health():\n"
            "    enqueue('q', ping_job)\n"
        ),
        Valid(
            "import django_rq\n\ndjango_rq.enqueue(send_digest_job, user_id)\n",
        ),
        Valid(
            "import django_rq\n\n"
            "django_rq.enqueue(process_stripe_webhook_job, e, job_id=f\"stripe-{e['id']}\", "
            "unique=True)\n",
        ),
        Valid(
            "from rqjobs import enqueue\n\nfrom app.jobs import sync_lead\n\n"
            "enqueue('crm', sync_lead, payload)\n",
            files={"app/jobs.py": "def sync_lead(event):\n    return event\n"},
        ),
        Valid(
            "from app.services.jobs import enqueue_job\n\n"
            "enqueue_job('hooks', process_webhook_job, event)\n",
            files={"app/services/jobs.py": "def enqueue_job(queue, func, *args):\n    ...\n"},
        ),
    ),
    invalid=(
        Invalid(
            "from rqjobs import enqueue\n\nenqueue('hooks', process_webhook_job, e)\n",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "import rqjobs\n\nrqjobs.enqueue('push', push_send_job, uid)\n",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from app.services.jobs import enqueue\n\n"
            "enqueue('calls', tasks.save_recording_job, sid)\n",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from .services import jobs\n\njobs.enqueue('calls', handle_twilio_callback, sid)\n",
            filename="app/views.py",
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rq import Queue\n\nq = Queue('hooks')\nq.enqueue(process_webhook_job, e)\n",
            lines=(4,),
            also=("RQJ002", "RQJ003"),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue\n\n@event_job\ndef sync_contact(e):\n    pass\n\n"
            "enqueue('q', sync_contact, e)\n",
            lines=(7,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue\n\n"
            "@app.route('/twilio/status-callback', methods=['POST'])\n"
            "def status():\n    enqueue('q', update_status, request.form)\n",
            lines=(5,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue\n\n@router.post(path='/webhooks/stripe')\n"
            "async def stripe():\n    enqueue('q', 'app.tasks.charge', 1)\n",
            lines=(5,),
            also=("RQJ400",),  # a blocking enqueue inside async def
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from myco.jobs import enqueue\n\nenqueue('q', lead_sync, e)\n",
            options={"wrapper-module": "myco.jobs", "event-jobs": ["lead_*"]},
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from lib.bg import enqueue\n\nenqueue('q', process_webhook_job, e)\n",
            options={"wrapper-modules": ["lib/bg.py"]},
            lines=(3,),
            manual=(
                "event job enqueued without a dedupe key: call "
                "enqueue_with_dedupe(queue, func, ...,"
            ),
        ),
        Invalid(
            "from app.services.jobs import enqueue_job\n\n"
            "enqueue_job('hooks', process_webhook_job, event)\n",
            files={"app/services/jobs.py": "from rqjobs import enqueue\n\nenqueue_job = enqueue\n"},
            lines=(3,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        Invalid(
            "from rqjobs import enqueue\n\nfrom app.jobs import sync_lead\n\n"
            "enqueue('crm', sync_lead, payload)\n",
            files=_DECORATED_ELSEWHERE,
            lines=(5,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        Invalid(
            "from rqjobs import enqueue\n\nenqueue('crm', 'app.jobs.sync_lead', payload)\n",
            files=_DECORATED_ELSEWHERE,
            lines=(3,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
        Invalid(
            "import django_rq\n\n\ndef stripe_webhook(request):\n"
            "    django_rq.enqueue(process_stripe_webhook_job, request.body)\n",
            filename="billing/views.py",
            lines=(5,),
            manual="event job enqueued without a dedupe key: call enqueue_with_dedupe(",
        ),
    ),
)

RQJ301 = Rule(
    code="RQJ301",
    summary="dedupe key or event job id that cannot recognise a retry",
    message=(
        "{problem}, so a retried event is not recognised as a duplicate. Build the key from "
        'the event\'s own id instead (e.g. dedupe_key=f"webhook:{{provider}}:{{message_id}}").'
    ),
    doc="""\
## What it does
Flags `enqueue_with_dedupe(...)` whose `dedupe_key` is missing, empty, a constant without any
placeholder, or built from a value that differs on every call (`uuid4()`, `uuid1()`,
`time.time()`, `datetime.now()`, `random`, `secrets`, also through a local variable); and an
event job enqueued with a `job_id` built from such a value.

## Why is this bad?
A key that changes on every delivery (a timestamp, a random id) never matches the retry, so
the event runs twice anyway; a constant key makes every event a duplicate of the first one, so
all but one are dropped for the whole window. A millisecond timestamp in a job id turns each
retry into a new job.

## Example
```python
enqueue_with_dedupe("hooks", process_webhook_job, e, dedupe_key=f"wa:{uuid4()}")
enqueue("hooks", process_webhook_job, e, job_id=f"wa-{int(time.time() * 1000)}")
```

## Use instead
```python
enqueue_with_dedupe("hooks", process_webhook_job, e, dedupe_key=f"wa:{e['id']}")
```
""",
    sample={"problem": "dedupe_key built from uuid.uuid4(), which differs on every delivery"},
    triggers=(Trigger("enqueue"),),
    fix="reported only (a key or job id that cannot recognise a retry)",
    fix_safety="""\
Never rewritten: a key that recognises a retry must be built from the provider's event id,
which only a human can pick. Every site is listed as a manual fix that says what is wrong
with its key or job id.
""",
    fix_availability=FixAvailability.NEVER,
    valid=(
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', process_webhook_job, e, dedupe_key='wa:%s' % e['id'])\n"
        ),
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\nenqueue_with_dedupe('q', f, e, **options)\n"
        ),
        Valid(
            "import time\nfrom rqjobs import enqueue\n\n"
            "enqueue('q', send_report_job, job_id=f'r-{time.time()}')\n"
        ),
        Valid(
            "from rqjobs import enqueue_with_dedupe\n\ndef uuid4():\n    return 'fixed'\n\n"
            "enqueue_with_dedupe('q', f, dedupe_key=f'k:{uuid4()}')\n"
        ),
    ),
    invalid=(
        Invalid(
            "from rqjobs import enqueue_with_dedupe\n\nenqueue_with_dedupe('q', f, e)\n",
            lines=(3,),
            manual=(
                "enqueue_with_dedupe() without a dedupe_key: build the key from the "
                "provider's event"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', f, e, dedupe_key='')\n",
            lines=(3,),
            manual=(
                "enqueue_with_dedupe() with an empty dedupe_key: build the key from the provider's"
            ),
        ),
        Invalid(
            "from rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', f, e, dedupe_key='webhook:wa')\n",
            lines=(3,),
            manual=(
                "dedupe_key 'webhook:wa' is a constant: every event collapses into "
                "one: build the key"
            ),
        ),
        Invalid(
            "from uuid import uuid4\nimport rqjobs\n\n"
            "rqjobs.enqueue_with_dedupe('q', f, e, dedupe_key=f'wa:{uuid4()}')\n",
            lines=(4,),
            manual=(
                "dedupe_key built from uuid.uuid4(), which differs on every delivery: build the key"
            ),
        ),
        Invalid(
            "from datetime import datetime\nfrom rqjobs import enqueue_with_dedupe\n\n"
            "def h(e):\n    key = 'wa:' + datetime.now().isoformat()\n"
            "    enqueue_with_dedupe('q', f, e, dedupe_key=key)\n",
            lines=(6,),
            manual=(
                "dedupe_key built from key, which differs on every delivery: build the key from the"
            ),
        ),
        Invalid(
            "import time\nfrom rqjobs import enqueue_with_dedupe\n\n"
            "enqueue_with_dedupe('q', process_webhook_job, e,\n"
            "                    dedupe_key=f'wa-{int(time.time() * 1000)}')\n",
            lines=(4,),
            manual=(
                "dedupe_key built from time.time(), which differs on every delivery: build the key"
            ),
        ),
        Invalid(
            "import time\nfrom rqjobs import enqueue\n\n"
            "enqueue('q', process_webhook_job, e, job_id=f'wa-{int(time.time() * 1000)}')\n",
            lines=(4,),
            also=("RQJ300",),
            manual="job_id of event job process_webhook_job built from time.time(), which differs",
        ),
        Invalid(
            "import random\nimport rqjobs\n\n"
            "rqjobs.enqueue_with_dedupe('q', push_send_job, u, dedupe_key=f'p:{u}',\n"
            "                           job_id=f'push-{random.random()}')\n",
            lines=(4,),
            manual=(
                "job_id of event job push_send_job built from random.random(), which "
                "differs on every"
            ),
        ),
    ),
)


def is_webhook_route(decorator: ast.AST) -> bool:
    """True for a route decorator whose path mentions a webhook or callback:
    ``@app.route("/webhooks/x")``, ``@bp.post("/twilio/callback")``, ``@router.post(path=...)``."""
    if not isinstance(decorator, ast.Call):
        return False
    func = decorator.func
    if not isinstance(func, ast.Attribute) or func.attr not in ROUTE_DECORATORS:
        return False
    candidates = list(decorator.args[:1])
    for name in ("rule", "path"):
        kw = keyword(decorator, name)
        if kw is not None:
            candidates.append(kw.value)
    for candidate in candidates:
        if isinstance(candidate, ast.Constant) and isinstance(candidate.value, str):
            path = candidate.value.lower()
            if any(word in path for word in ROUTE_WORDS):
                return True
    return False


def _nondeterministic_call(ctx: Context, expr: ast.AST) -> Optional[str]:
    """The spelled name of the first non-deterministic call or variable in ``expr``."""
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            qualname = ctx.resolve(node.func)
            if qualname is not None and (
                qualname in NONDETERMINISTIC or qualname.startswith(NONDETERMINISTIC_MODULES)
            ):
                return qualname + "()"
        elif isinstance(node, ast.Name) and ctx.binding_of(node) == NONDET:
            return node.id
    return None


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    if isinstance(value, (ast.Name, ast.Attribute, ast.Constant)):
        return None
    return NONDET if _nondeterministic_call(ctx, value) else None


def _job_expr(call: ast.Call, position: int) -> Optional[ast.AST]:
    if len(call.args) > position:
        return call.args[position]
    kw = keyword(call, "func") or keyword(call, "f")
    return kw.value if kw is not None else None


def _job_name(expr: Optional[ast.AST]) -> Optional[str]:
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value.rsplit(".", 1)[-1]
    return terminal_name(expr)


def _is_event_job(ctx: Context, name: Optional[str], expr: Optional[ast.AST]) -> bool:
    if ctx.in_webhook_handler:
        return True
    if name is None:
        return False
    if isinstance(expr, ast.Name) and name in ctx.event_job_defs:
        return True
    if expr is not None and ctx.project_event_job(expr):
        return True  # decorated with @event_job in its own module
    dotted = string_value(expr)
    return any(
        fnmatchcase(name, pattern) or (dotted is not None and fnmatchcase(dotted, pattern))
        for pattern in ctx.config.event_jobs
    )


def _key_problem(ctx: Context, call: ast.Call) -> Optional[str]:
    kw = keyword(call, DEDUPE_KEY)
    if kw is None:
        if has_star_kwargs(call):
            return None
        return "enqueue_with_dedupe() without a dedupe_key"
    value = kw.value
    if isinstance(value, ast.Constant):
        if value.value is None or (isinstance(value.value, str) and not value.value.strip()):
            return "enqueue_with_dedupe() with an empty dedupe_key"
        return f"dedupe_key {value.value!r} is a constant: every event collapses into one"
    if isinstance(value, ast.JoinedStr) and not any(
        isinstance(part, ast.FormattedValue) for part in value.values
    ):
        return "dedupe_key is an f-string without placeholders: every event collapses into one"
    source = _nondeterministic_call(ctx, value)
    if source is not None:
        return f"dedupe_key built from {source}, which differs on every delivery"
    return None


def _split(
    ctx: Context, call: ast.Call, callee: Optional[str]
) -> Tuple[Optional[EnqueueKind], int]:
    """(how the job is enqueued, the job's position), or (None, 0) for any other call."""
    if wrapper_function(ctx.config, callee, WRAPPER_FUNCTIONS):
        assert callee is not None
        dedupe = callee.rsplit(".", 1)[-1] == ENQUEUE_WITH_DEDUPE
        kind = EnqueueKind.WRAPPER_DEDUPE if dedupe else EnqueueKind.WRAPPER_ENQUEUE
        return kind, 1 if len(call.args) >= 2 else 0
    if callee == DJANGO_RQ_ENQUEUE:  # django_rq.enqueue(func, ...): the default queue
        return EnqueueKind.QUEUE_METHOD, 0
    func = call.func
    if isinstance(func, ast.Attribute):
        position = JOB_POSITION.get(func.attr)
        if position is not None and is_queue(ctx, func.value):
            return EnqueueKind.QUEUE_METHOD, position
    return None, 0


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    kind, position = _split(ctx, call, callee)
    if kind is None:
        return
    job = _job_expr(call, position)
    name = _job_name(job)
    if kind is EnqueueKind.WRAPPER_DEDUPE:
        problem = _key_problem(ctx, call)
        if problem is not None:
            facts = DedupeFacts(kind, name, problem)
            ctx.report(call, RQJ301, facts, callee, problem=problem)
    if not _is_event_job(ctx, name, job):
        return
    job_id = keyword(call, "job_id")
    if job_id is not None:
        source = _nondeterministic_call(ctx, job_id.value)
        if source is not None:
            problem = (
                f"job_id of event job {name or 'job'} built from {source}, "
                "which differs on every delivery"
            )
            ctx.report(call, RQJ301, DedupeFacts(kind, name, problem), callee, problem=problem)
    if kind is EnqueueKind.WRAPPER_DEDUPE or has_star_kwargs(call):
        return
    unique = keyword(call, "unique")
    if (
        job_id is not None
        and unique is not None
        and isinstance(unique.value, ast.Constant)
        and unique.value.value is True
    ):
        return
    if keyword(call, DEDUPE_KEY) is not None:
        return
    ctx.report(call, RQJ300, DedupeFacts(kind, name), callee, job=name or "this job")


FAMILY = Family("dedupe", (RQJ300, RQJ301), check_call, value_kind)
