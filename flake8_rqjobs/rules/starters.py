"""RQJ100: a call to a deprecated in-process scheduler starter.

The family's tables (what a deprecated definition raises, the runtime's decorator that marks
one) and its facts (:class:`StarterFacts`) are stated here once; ``fixers/starters.py`` reads
them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Optional, Tuple

from flake8_rqjobs.config import Config
from flake8_rqjobs.rules.base import (
    Context,
    Facts,
    Family,
    Invalid,
    Rule,
    Valid,
    keyword,
    pattern_words,
    terminal_name,
)

DEPRECATION_MESSAGE = "Deprecated - use scheduler service"  # what a deprecated starter raises
DEPRECATED_DECORATOR = "deprecated_starter"  # rqjobs.deprecated_starter: the function raises
STARTER_KEYWORD = "target"  # Thread(target=...), Process(target=...)


@dataclass(frozen=True)
class StarterFacts(Facts):
    """RQJ100: the starter's name, and whether it is handed to a thread or process as
    ``target=`` (``handed_to``: the call that receives it) instead of being called."""

    name: str
    handed_to: Optional[str] = None


def deprecated_words(config: Config) -> Tuple[str, ...]:
    return pattern_words(config.deprecated)


def is_deprecated(name: Optional[str], patterns: Tuple[str, ...]) -> bool:
    return name is not None and any(fnmatchcase(name, p) for p in patterns)


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
    sample={"name": "start_reminder_scheduler"},
    triggers=(),
    config_triggers=deprecated_words,
    fix="deprecated starter calls removed",
    fix_safety="""\
A bare call statement such as `start_reminder_scheduler(app)` is removed (its comments stay;
an emptied block gets `pass`). With `--deprecate-definitions`, each definition of a deprecated
starter keeps its signature and docstring and its body becomes
`raise RuntimeError("Deprecated - use scheduler service")`; a definition that already raises
that, or is decorated with `@deprecated_starter`, is left alone.

The fixer declines, naming the reason, when the starter's result is used
(`t = start_x_scheduler()`), when its arguments have an effect (a call, `n := 60`, `await`:
removing the call would skip it, or leave `n` unbound), and when the starter is handed to a
thread or process as `target=` (the thread's other work would go with it).
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
            expected_replacement="\n",
        ),
        Invalid(
            "import app.bg as bg\n\nbg._start_cleanup_scheduler(app)\n",
            lines=(3,),
            expected_replacement="\n",
        ),
        Invalid(
            "def create_app():\n    start_session_processor()\n",
            lines=(2,),
            expected_replacement="def create_app():\n    pass\n",
        ),
        Invalid(
            "import threading\n\n"
            "threading.Thread(target=start_sync_scheduler, daemon=True).start()\n",
            lines=(3,),
            manual=(
                "start_sync_scheduler is handed to threading.Thread(target=...), not "
                "called: removing"
            ),
        ),
        Invalid(
            "start_poll_loop()\n",
            options={"deprecated": ["start_*_loop"]},
            lines=(1,),
            expected_replacement="\n",
        ),
    ),
)


def check_call(ctx: Context, call: ast.Call, callee: Optional[str]) -> None:
    patterns = ctx.config.deprecated
    name = terminal_name(call.func)
    if is_deprecated(name, patterns):
        assert name is not None
        ctx.report(call, RQJ100, StarterFacts(name), callee, name=name)
        return
    target = keyword(call, STARTER_KEYWORD)
    if target is not None and isinstance(target.value, (ast.Name, ast.Attribute)):
        name = terminal_name(target.value)
        if is_deprecated(name, patterns):
            assert name is not None
            receiver = callee or terminal_name(call.func) or "the call"
            facts = StarterFacts(name, handed_to=receiver)
            ctx.report(target.value, RQJ100, facts, ctx.resolve(target.value), name=name)


FAMILY = Family("starters", (RQJ100,), check_call)
