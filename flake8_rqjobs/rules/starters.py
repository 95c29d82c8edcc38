"""RQJ100: a call to a deprecated in-process scheduler starter."""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from typing import Optional

from flake8_rqjobs.rules.base import Context, Invalid, Rule, Valid, keyword, terminal_name

RQJ100 = Rule(
    code="RQJ100",
    summary="deprecated in-process scheduler starter called",
    message=(
        "{name}() starts a deprecated in-process scheduler: it runs in every process that "
        "imports it, so jobs are scheduled once per process and die with it. Run the "
        "scheduler service (`rqjobs scheduler`, SERVICE_ROLE=scheduler) instead."
    ),
    doc="""\
## What it does
Flags calls to functions whose name matches the `deprecated` patterns (default
`start_*_scheduler`, `_start_*_scheduler`, `start_session_processor`), and such a function
handed to a thread or process as `target=`. Definitions are not calls and are not flagged;
names such as `start_worker` or `start_of_month` do not match.

## Why is this bad?
A starter called at import or app start-up runs a scheduler thread inside every web and worker
process: N processes schedule every job N times, a deploy restarts the scheduler with the web
app, and nothing notices when its thread dies.

## Example
```python
def create_app():
    app = Flask(__name__)
    start_reminder_scheduler(app)
    return app
```

## Use instead
```python
def create_app():
    return Flask(__name__)

# and run `rqjobs scheduler` as its own service (SERVICE_ROLE=scheduler)
```
""",
    valid=(
        Valid("def start_reminder_scheduler():\n    pass\n"),
        Valid("start_worker()\nstart_of_month()\nrestart_scheduler_later = 1\n"),
        Valid("scheduler.start()\n"),
        Valid("start_reminder_scheduler = None\nx = start_reminder_scheduler\n"),
        Valid(
            "start_poll_loop()\n",
            options={"deprecated": ["start_*_scheduler"]},
        ),
    ),
    invalid=(
        Invalid(
            "from app.jobs import start_reminder_scheduler\n\nstart_reminder_scheduler()\n",
            lines=(3,),
        ),
        Invalid("import app.bg as bg\n\nbg._start_cleanup_scheduler(app)\n", lines=(3,)),
        Invalid("def create_app():\n    start_session_processor()\n", lines=(2,)),
        Invalid(
            "import threading\n\n"
            "threading.Thread(target=start_sync_scheduler, daemon=True).start()\n",
            lines=(3,),
        ),
        Invalid("start_poll_loop()\n", options={"deprecated": ["start_*_loop"]}, lines=(1,)),
    ),
)

RULES = (RQJ100,)


def _deprecated(ctx: Context, name: Optional[str]) -> bool:
    return name is not None and any(fnmatchcase(name, p) for p in ctx.config.deprecated)


def check_call(ctx: Context, call: ast.Call, qualname: Optional[str]) -> None:
    name = terminal_name(call.func)
    if _deprecated(ctx, name):
        ctx.report(call, RQJ100, name=name)
        return
    target = keyword(call, "target")
    if target is not None and isinstance(target.value, (ast.Name, ast.Attribute)):
        name = terminal_name(target.value)
        if _deprecated(ctx, name):
            ctx.report(target.value, RQJ100, name=name)
