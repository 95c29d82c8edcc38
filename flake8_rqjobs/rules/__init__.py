"""The RQJ rules, one module per family, registered here.

- ``redis_clients``: RQJ001 (Redis client or pool built outside the wrapper)
- ``queues``: RQJ002 (RQ Queue built outside the wrapper), RQJ003 (enqueue on a raw queue)
- ``starters``: RQJ100 (deprecated in-process scheduler starter)
- ``scheduler_locks``: RQJ200 (lock released by hand), RQJ201 (tick longer than max-tick)
- ``dedupe``: RQJ300 (event job without dedupe key), RQJ301 (key that cannot dedupe)
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, Optional, Tuple

from flake8_rqjobs.rules import dedupe, queues, redis_clients, scheduler_locks, starters
from flake8_rqjobs.rules.base import Context, Example, Rule

__all__ = ["ALL_RULES", "CALL_CHECKS", "RULES", "VALUE_KINDS", "Example", "Rule"]

_FAMILIES = (redis_clients, queues, starters, scheduler_locks, dedupe)

ALL_RULES: Tuple[Rule, ...] = tuple(rule for family in _FAMILIES for rule in family.RULES)
RULES: Dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}

CALL_CHECKS: Tuple[Callable[[Context, ast.Call, Optional[str]], None], ...] = tuple(
    family.check_call for family in _FAMILIES
)
VALUE_KINDS: Tuple[Callable[[Context, ast.AST], Optional[str]], ...] = (
    queues.value_kind,
    scheduler_locks.value_kind,
    dedupe.value_kind,
)
