"""The codemods behind ``flake8-rqjobs fix``: one fixer module per rule family.

A family's fixer is ``fixers/<family>.py`` (the name of ``rules/<family>.py``), found by that
name: there is no list to edit. It defines ``analyse(ctx)`` (see :mod:`.base`), and a family
whose rules are never rewritten may define ``manual_reason(site)``, which answers its sites
without parsing the file with libcst. :mod:`.engine` applies every fixer's plan in one pass,
then tidies imports. Fixer modules are imported on first use (:func:`load_fixers`): libcst
takes ~0.6 s to import, and a run over files without violations never needs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Dict, List, Tuple

from flake8_rqjobs.rules import FAMILIES, FAMILY_OF, RULES
from flake8_rqjobs.rules.base import Family, FixAvailability

ALL_CODES: Tuple[str, ...] = tuple(RULES)
# Codes that are never rewritten: every site is listed as a manual fix with the rule's advice.
REPORT_ONLY: Tuple[str, ...] = tuple(
    code for code, rule in RULES.items() if rule.fix_availability is FixAvailability.NEVER
)
DESCRIPTIONS: Dict[str, str] = {code: rule.fix for code, rule in RULES.items()}


def fixer_module(family: Family) -> ModuleType:
    """``flake8_rqjobs.fixers.<family>``; a family without one is a bug (a test checks)."""
    return importlib.import_module(f"{__name__}.{family.name}")


def has_fixer(family: Family) -> bool:
    return importlib.util.find_spec(f"{__name__}.{family.name}") is not None


def load_fixers() -> List[Tuple[ModuleType, Tuple[str, ...]]]:
    """The fixer modules, in the families' order, with their codes."""
    return [
        (fixer_module(family), tuple(rule.code for rule in family.rules)) for family in FAMILIES
    ]


def family_of(code: str) -> Family:
    return FAMILY_OF[code]
