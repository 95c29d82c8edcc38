"""The RQJ rules: one module per family, discovered by name (no list to edit).

Every module of this package except ``base`` is a family and defines ``FAMILY``; its fixer is
``flake8_rqjobs.fixers.<family>`` and its fix examples ``tests/fixers/examples/<family>/``.
Families are ordered by their first code:

- ``redis_clients``: RQJ001 (Redis client or pool built outside the wrapper)
- ``queues``: RQJ002 (RQ Queue built outside the wrapper), RQJ003 (enqueue on a raw queue)
- ``rq_idioms``: RQJ004 (RQ's connection stack, removed in RQ 2), RQJ005 (an RQ worker run
  inside web or scheduler code)
- ``starters``: RQJ100 (deprecated in-process scheduler starter)
- ``scheduler_locks``: RQJ200 (lock released by hand), RQJ201 (tick longer than max-tick)
- ``dedupe``: RQJ300 (event job without dedupe key), RQJ301 (key that cannot dedupe)
- ``async_calls``: RQJ400 (a blocking rqjobs/RQ call inside ``async def``)
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Dict, List, Tuple

from flake8_rqjobs.rules.base import (
    CallCheck,
    Example,
    Family,
    Finish,
    Rule,
    ValueKind,
    WithCheck,
)

__all__ = [
    "ALL_RULES",
    "CALL_CHECKS",
    "FAMILIES",
    "FINISHERS",
    "RULES",
    "VALUE_KINDS",
    "WITH_CHECKS",
    "Example",
    "Rule",
]


def _discover() -> Tuple[Family, ...]:
    found: List[Family] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base" or module.name.startswith("_"):
            continue
        family = importlib.import_module(f"{__name__}.{module.name}").FAMILY
        if family.name != module.name:
            raise RuntimeError(f"rules/{module.name}.py declares family {family.name!r}")
        found.append(family)
    return tuple(sorted(found, key=lambda f: f.rules[0].code))


FAMILIES: Tuple[Family, ...] = _discover()
ALL_RULES: Tuple[Rule, ...] = tuple(rule for family in FAMILIES for rule in family.rules)
RULES: Dict[str, Rule] = {rule.code: rule for rule in ALL_RULES}
FAMILY_OF: Dict[str, Family] = {rule.code: f for f in FAMILIES for rule in f.rules}
CALL_CHECKS: Tuple[CallCheck, ...] = tuple(family.check_call for family in FAMILIES)
VALUE_KINDS: Tuple[ValueKind, ...] = tuple(
    family.value_kind for family in FAMILIES if family.value_kind is not None
)
FINISHERS: Tuple[Finish, ...] = tuple(
    family.finish for family in FAMILIES if family.finish is not None
)
WITH_CHECKS: Tuple[WithCheck, ...] = tuple(
    family.check_with for family in FAMILIES if family.check_with is not None
)
