"""The codemods behind ``flake8-rqjobs fix``: one fixer module per rule family.

Each fixer module has ``analyse(ctx)``, which looks at the original libcst tree and records
fixes in ``ctx.plan`` or manual fixes with a reason (see :mod:`.base`). They run in the order
below, and :mod:`.engine` applies all their plans in one pass, then tidies imports.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Dict, List, Tuple

# fixer module (in this package) -> the codes it handles. Modules are imported on first use
# (:func:`load_fixers`): libcst takes ~0.6 s to import, and a run over files without
# violations never needs it.
FIXERS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("redis_clients", ("RQJ001",)),
    ("queues", ("RQJ002", "RQJ003")),
    ("starters", ("RQJ100",)),
    ("scheduler_locks", ("RQJ200", "RQJ201")),
    ("event_dedupe", ("RQJ300", "RQJ301")),
)
# Codes that are never rewritten: every site is listed as a manual fix with the rule's advice.
REPORT_ONLY: Tuple[str, ...] = ("RQJ300", "RQJ301")
ALL_CODES: Tuple[str, ...] = tuple(code for _, codes in FIXERS for code in codes)
FIXABLE_CODES: Tuple[str, ...] = tuple(c for c in ALL_CODES if c not in REPORT_ONLY)
DESCRIPTIONS: Dict[str, str] = {
    "RQJ001": "Redis.from_url(REDIS_URL) -> get_redis()",
    "RQJ002": "Queue(name, connection=...) -> enqueue(name, ...) / get_queue(name)",
    "RQJ003": "q.enqueue(f, ...) -> enqueue(name, f, ...)",
    "RQJ100": "deprecated starter calls removed",
    "RQJ200": "try/finally release_lock -> TTL-only lock",
    "RQJ201": "scheduler sleep -> configured tick",
    "RQJ300": "reported only (the dedupe key needs a human)",
    "RQJ301": "reported only (a key or job id that cannot recognise a retry)",
}


def load_fixers() -> List[Tuple[ModuleType, Tuple[str, ...]]]:
    """The fixer modules, in order, with their codes."""
    return [(importlib.import_module(f"{__name__}.{name}"), codes) for name, codes in FIXERS]
