"""RQJ200 (a scheduler lock released by hand) and RQJ201 (a scheduler loop that sleeps longer
than the failover tick). Both apply to scheduler code only: files matching `scheduler-paths`
(default: any path with "sched" in it), or functions and classes whose name contains
"scheduler"."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import Enum
from typing import FrozenSet, Optional, Tuple

from flake8_rqjobs.rules.base import (
    Context,
    Facts,
    Family,
    Invalid,
    Rule,
    Trigger,
    Valid,
    is_none,
    keyword,
    terminal_name,
)

LOCK = "@lock"  # binding kind: a redis-py lock object
LOCK_CLASSES: FrozenSet[str] = frozenset({"redis.lock.Lock"})
LOCK_METHOD = "lock"  # redis-py's Redis.lock(name, timeout=...)
RELEASE_FUNCTIONS: FrozenSet[str] = frozenset(
    {"release_lock", "release_locks", "remove_lock", "unlock"}
)
RELEASE_METHOD = "release"
# A sleep is any imported function called ``sleep`` (time.sleep, asyncio.sleep, gevent.sleep,
# eventlet.sleep, ...); its seconds are the first argument or one of these keywords.
SLEEP = "sleep"
SLEEP_KEYWORDS: Tuple[str, ...] = ("delay", "seconds", "secs")
SCHEDULER_WORD = "scheduler"  # in a function name: scheduler code


def is_sleep(callee: Optional[str]) -> bool:
    return callee is not None and "." in callee and callee.rsplit(".", 1)[-1] == SLEEP


# --- facts ------------------------------------------------------------------------------
class LockOrigin(Enum):
    WITH_TIMEOUT = "created with a timeout"
    NO_TIMEOUT = "created without a timeout"
    UNSEEN = "not created by an assignment in this scope"
    NOT_A_LOCK_OBJECT = "a release function, not a lock object"


@dataclass(frozen=True)
class ReleaseFacts(Facts):
    """RQJ200: the release called, and how the released lock was created."""

    name: str
    lock: LockOrigin


@dataclass(frozen=True)
class SleepFacts(Facts):
    """RQJ201: the seconds slept, and whether they are one literal number passed
    positionally and alone (the only shape the fixer rewrites)."""

    seconds: float
    literal: bool
    plain_arguments: bool


# Issue 10, item 5: lock releases in other shapes, scheduler code by class and module name.
RELEASE_VALID = (
    Valid(  # release_locks() in ordinary job code
        "from app.locks import release_locks\n\n\ndef import_contacts(batch):\n    try:\n"
        "        load(batch)\n    finally:\n        release_locks(batch.keys)\n",
        filename="crm/imports.py",
    ),
    Valid(  # a thread lock in a scheduler class
        "import threading\n\n\nclass DigestScheduler:\n    def __init__(self):\n"
        "        self._mutex = threading.Lock()\n\n    def tick(self):\n"
        "        self._mutex.acquire()\n        self._mutex.release()\n",
        filename="mail/digests.py",
    ),
    Valid(  # a Redis lock kept in an attribute, outside scheduler code
        "class ImportJob:\n    def __init__(self, redis):\n"
        "        self.lock = redis.lock('import', timeout=60)\n\n    def run(self):\n"
        "        self.lock.release()\n",
        filename="crm/jobs.py",
    ),
    Valid(  # unlock() of something in a module that is not scheduler code
        "def open_door(door):\n    door.unlock()\n",
        filename="iot/doors.py",
    ),
)
RELEASE_INVALID = (
    Invalid(  # release_locks() in a finally, in a module under sched/
        "from app.locks import acquire_locks, release_locks\n\n\ndef tick():\n"
        "    if acquire_locks(['digest']):\n        try:\n            send_digests()\n"
        "        finally:\n            release_locks(['digest'])\n",
        filename="app/sched/tick.py",
        lines=(9,),
        expected_replacement=(
            "from app.locks import acquire_locks\n\n\ndef tick():\n"
            "    if acquire_locks(['digest']):\n        send_digests()\n"
        ),
    ),
    Invalid(  # remove_lock() outside a finally, in a *Scheduler class
        "class ReminderScheduler:\n    def run_once(self):\n        if self.store.take('rem'):\n"
        "            self.send_due()\n            self.store.remove_lock('rem')\n",
        filename="app/reminders.py",
        lines=(5,),
        manual="lock released outside a try/finally: make the lock TTL-only by hand",
    ),
    Invalid(  # unlock() in a finally, in a scheduling module
        "def run_periodic(store):\n    store.lock('periodic')\n    try:\n        run_due()\n"
        "    finally:\n        store.unlock('periodic')\n",
        filename="jobs/scheduling.py",
        lines=(6,),
        expected_replacement=(
            "def run_periodic(store):\n    store.lock('periodic')\n    run_due()\n"
        ),
    ),
    Invalid(  # a lock object kept by __init__, released by another method
        "class DigestScheduler:\n    def __init__(self, redis):\n"
        "        self.lock = redis.lock('digest', timeout=30)\n\n    def tick(self):\n"
        "        try:\n            send_digests()\n        finally:\n"
        "            self.lock.release()\n",
        filename="mail/digests.py",
        lines=(9,),
        manual="cannot see how this lock was created; make it TTL-only by hand",
    ),
    Invalid(  # lock.release() outside a finally, in a *Scheduler class
        "class CampaignScheduler:\n    def tick(self):\n"
        "        lock = self.redis.lock('campaigns', timeout=10)\n"
        "        if lock.acquire(blocking=False):\n            send_campaigns()\n"
        "            lock.release()\n",
        filename="marketing/campaigns.py",
        lines=(6,),
        manual="lock released outside a try/finally: make the lock TTL-only by hand",
    ),
)

RQJ200 = Rule(
    code="RQJ200",
    summary="scheduler lock released by hand",
    message=(
        "{name}() releases a scheduler lock by hand: a crash before it keeps the lock, and a "
        "release after a slow tick frees a lock another scheduler now holds. Let the lock "
        "expire by its TTL (rqjobs' scheduler) instead."
    ),
    doc="""\
## What it does
Flags, in scheduler code, `release_lock(...)`, `release_locks(...)`, `remove_lock(...)`,
`unlock(...)` (also as methods: `x.release_lock(...)`), and `.release()` on a lock that came
from a `.lock(...)` call (redis-py's `Redis.lock`) or from `redis.lock.Lock(...)`, also one
kept in an attribute by another method (`self.lock = r.lock(...)`), in a `finally` or not.
Scheduler code is a file matching `scheduler-paths` (default: any path with "sched" in it:
`app/scheduler.py`, `app/sched/tick.py`, `jobs/scheduling.py`), a function whose name
contains "scheduler", or a method of a class whose name does (`class ReminderScheduler`). A
`release_lock` in ordinary job code (a bulk-operation gate, a per-run lock) is not flagged.

## Why is this bad?
A lock that must be released by hand stays held when the process is killed before the
release, blocking every standby until its TTL runs out; a release after a tick that outlived
the TTL deletes the lock a second scheduler took meanwhile, and two schedulers run at once.
A per-cycle lock that only ever expires has neither problem.

## Example
```python
def run_scheduler():
    while True:
        if acquire_lock("scheduler"):
            try:
                enqueue_due_jobs()
            finally:
                release_lock("scheduler")
        time.sleep(15)
```

## Use instead
```python
from rqjobs import PeriodicJob, Schedule, run_scheduler

run_scheduler(Schedule([PeriodicJob("due", enqueue_due_jobs, every=15)]))
```
""",
    sample={"name": "release_lock"},
    triggers=(Trigger("cheduler"),),
    scheduler_paths=True,
    fix="try/finally release_lock -> TTL-only lock",
    fix_safety="""\
In scheduler code, `try: <body> finally: release_lock(...)` becomes `<body>`: the lock then
expires by its TTL, so a crash can never leave it held and a standby takes over within one
TTL. Other statements of the `finally` stay in it; `except` clauses stay. The same goes for
`lock.release()` on a redis-py lock created with a `timeout=`.

The fixer declines, naming the reason, for a release outside a `finally`, a lock created
without a `timeout` (without the release it would be held forever), a lock whose creation
it cannot see, and a release whose arguments have an effect (`release_lock(r, audit(...))`:
the `audit(...)` call would go with it).
""",
    valid=(
        *RELEASE_VALID,
        Valid(
            "def bulk_import(rows):\n    try:\n        load(rows)\n    finally:\n"
            "        release_lock('bulk')\n"
        ),
        Valid(
            "import threading\n\ndef run_scheduler():\n    lock = threading.Lock()\n"
            "    lock.release()\n"
        ),
        Valid("def run_scheduler(lock):\n    lock.release()\n"),
        Valid("release_lock('x')\n", filename="app/tasks/import_job.py"),
        Valid(
            "release_lock('x')\n",
            filename="app/periodic/jobs.py",
            options={"scheduler-paths": ["*/cron/*"]},
        ),
    ),
    invalid=(
        Invalid(
            "def run_scheduler():\n    try:\n        tick()\n    finally:\n"
            "        release_lock('s')\n",
            lines=(5,),
            expected_replacement="def run_scheduler():\n    tick()\n",
        ),
        Invalid(
            "from app import locks\n\nlocks.remove_lock('s')\n",
            filename="app/scheduler.py",
            lines=(3,),
            manual="lock released outside a try/finally: make the lock TTL-only by hand",
        ),
        Invalid(
            "self.release_lock('s')\n",
            filename="app/schedulers/main.py",
            lines=(1,),
            manual="lock released outside a try/finally: make the lock TTL-only by hand",
        ),
        Invalid(
            "def _start_email_scheduler(r):\n    lock = r.lock('s', timeout=60)\n"
            "    lock.acquire()\n    lock.release()\n",
            lines=(4,),
            also=(),
            manual="lock released outside a try/finally: make the lock TTL-only by hand",
        ),
        Invalid(
            "from redis.lock import Lock\n\nlk = Lock(r, 'x')\nlk.release()\n",
            filename="app/scheduler/loop.py",
            lines=(4,),
            manual="the lock has no timeout: without this release it would be held forever",
        ),
        Invalid(
            "def scheduler_tick(r):\n    with r.lock('s') as held:\n        held.release()\n",
            lines=(3,),
            manual="cannot see how this lock was created; make it TTL-only by hand",
        ),
        Invalid(
            "release_lock('x')\n",
            filename="app/periodic/jobs.py",
            options={"scheduler-paths": ["*/periodic/*"]},
            lines=(1,),
            manual="lock released outside a try/finally: make the lock TTL-only by hand",
        ),
        *RELEASE_INVALID,
    ),
)

RQJ201 = Rule(
    code="RQJ201",
    summary="scheduler loop sleeps longer than the failover tick",
    message=(
        "sleep({seconds:g}) in a scheduler loop exceeds the {max_tick:g} s tick: a dead "
        "scheduler goes unnoticed and failover waits as long. Tick every {max_tick:g} s at "
        "most (rqjobs' scheduler does)."
    ),
    doc="""\
## What it does
Flags, inside a loop in scheduler code, `time.sleep(N)`, `asyncio.sleep(N)` or an imported
`sleep(N)` where `N` is a number (a literal, simple arithmetic on literals, or a module-level
constant assigned once) above `max-tick` (default 15 seconds).

## Why is this bad?
The tick is the failover time: a standby scheduler notices a dead holder only on its next
tick, and health checks see the last tick age. With a 60 s sleep, a crash costs up to a minute
of missed periods and a health check cannot tell a slow tick from a dead process.

## Example
```python
while True:
    run_due_jobs()
    time.sleep(60)
```

## Use instead
```python
while True:
    run_due_jobs()
    time.sleep(15)
```
""",
    sample={"seconds": 60, "max_tick": 15},
    triggers=(Trigger("cheduler"),),
    scheduler_paths=True,
    fix="scheduler sleep -> configured tick",
    fix_safety="""\
A sleep of a literal number in a scheduler loop (any imported `sleep`: `time.sleep`,
`asyncio.sleep`, `gevent.sleep`, ...) sleeps `max-tick` seconds instead.

The fixer declines, naming the reason, when the seconds are not one literal number (a
constant, arithmetic: shorten it where it is defined) or are passed with other arguments.
""",
    valid=(
        Valid("import time\n\ndef run_scheduler():\n    while True:\n        time.sleep(15)\n"),
        Valid("import time\n\ndef run_scheduler():\n    time.sleep(60)\n"),
        Valid("import time\n\ndef poll():\n    while True:\n        time.sleep(60)\n"),
        Valid("def run_scheduler(self):\n    while True:\n        self.sleep(60)\n"),
        Valid("import time\n\ndef run_scheduler(n):\n    while True:\n        time.sleep(n)\n"),
        Valid(
            "import time\n\nwhile True:\n    time.sleep(60)\n",
            filename="app/scheduler.py",
            options={"max-tick": 60},
        ),
    ),
    invalid=(
        Invalid(
            "import time\n\ndef run_scheduler():\n    while True:\n        time.sleep(60)\n",
            lines=(5,),
            expected_replacement=(
                "import time\n\ndef run_scheduler():\n    while True:\n        time.sleep(15)\n"
            ),
        ),
        Invalid(
            "from time import sleep\n\nfor _ in iter(int, 1):\n    sleep(30.5)\n",
            filename="app/scheduler.py",
            lines=(4,),
            expected_replacement=(
                "from time import sleep\n\nfor _ in iter(int, 1):\n    sleep(15)\n"
            ),
        ),
        Invalid(
            "import asyncio\n\nasync def scheduler_loop():\n    while True:\n"
            "        await asyncio.sleep(5 * 60)\n",
            lines=(5,),
            manual=(
                "the sleep of 300 s is not a literal number (a constant or arithmetic); shorten the"
            ),
        ),
        Invalid(
            "import time as t\n\nTICK = 60\n\ndef run_scheduler():\n    while True:\n"
            "        t.sleep(TICK)\n",
            lines=(7,),
            manual=(
                "the sleep of 60 s is not a literal number (a constant or arithmetic); shorten the"
            ),
        ),
        Invalid(
            "import time\n\nwhile True:\n    time.sleep(20)\n",
            filename="app/scheduler.py",
            options={"max-tick": 10},
            lines=(4,),
            expected_replacement="import time\n\nwhile True:\n    time.sleep(10)\n",
        ),
        Invalid(
            "import gevent\n\ndef run_scheduler():\n    while True:\n        gevent.sleep(60)\n",
            lines=(5,),
            expected_replacement=(
                "import gevent\n\ndef run_scheduler():\n    while True:\n        gevent.sleep(15)\n"
            ),
        ),
    ),
)


def _is_lock_source(ctx: Context, expr: ast.AST) -> bool:
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    if isinstance(func, ast.Attribute) and func.attr == LOCK_METHOD:
        return True
    return ctx.resolve(func) in LOCK_CLASSES


def value_kind(ctx: Context, value: ast.AST) -> Optional[str]:
    return LOCK if _is_lock_source(ctx, value) else None


def _lock_origin(ctx: Context, receiver: ast.AST) -> LockOrigin:
    source = ctx.value_of(receiver)
    if not isinstance(source, ast.Call):
        return LockOrigin.UNSEEN
    timeout = keyword(source, "timeout")
    if timeout is None or is_none(timeout.value):
        return LockOrigin.NO_TIMEOUT
    return LockOrigin.WITH_TIMEOUT


def _check_release(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    func = call.func
    name = terminal_name(func)
    if name in RELEASE_FUNCTIONS:
        assert name is not None
        facts = ReleaseFacts(name, LockOrigin.NOT_A_LOCK_OBJECT)
        ctx.report(call, RQJ200, facts, callee, name=name)
    elif isinstance(func, ast.Attribute) and func.attr == RELEASE_METHOD:
        receiver = func.value
        if _is_lock_source(ctx, receiver) or ctx.binding_of(receiver) == LOCK:
            facts = ReleaseFacts("lock.release", _lock_origin(ctx, receiver))
            ctx.report(call, RQJ200, facts, callee, name="lock.release")


def _check_sleep(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    if not is_sleep(callee):
        return
    argument: Optional[ast.AST] = None
    if call.args:
        argument = call.args[0]
    else:
        for name in SLEEP_KEYWORDS:
            kw = keyword(call, name)
            if kw is not None:
                argument = kw.value
                break
    seconds = ctx.number(argument) if argument is not None else None
    max_tick = ctx.config.max_tick
    if seconds is not None and seconds > max_tick:
        literal = isinstance(argument, ast.Constant)
        plain = len(call.args) == 1 and not call.keywords
        facts = SleepFacts(seconds, literal, plain)
        ctx.report(call, RQJ201, facts, callee, seconds=seconds, max_tick=max_tick)


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    if not ctx.in_scheduler_code():
        return
    _check_release(ctx, call, callee)
    if ctx.loop_depth:
        _check_sleep(ctx, call, callee)


FAMILY = Family("scheduler_locks", (RQJ200, RQJ201), check_call, value_kind)
