"""RQJ004 and RQJ005 fixer: RQ's connection stack and in-process workers are reported, never
rewritten.

A connection-stack site needs each queue and worker inside it to get its own connection, and
an in-process worker moves to a process of its own (a deployment change): both are human
decisions, so every site is listed as a manual fix with what the linter found (its
:class:`IdiomFacts`). No libcst needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_rqjobs.rules.base import Site
from flake8_rqjobs.rules.rq_idioms import RQJ004, RQJ005, IdiomFacts

if TYPE_CHECKING:
    from flake8_rqjobs.fixers.base import FixContext


def manual_reason(site: Site) -> str:
    """The manual-fix text for a site of this family."""
    facts = site.facts
    assert isinstance(facts, IdiomFacts)
    if site.code == RQJ004.code:
        return (
            f"{facts.name}() is RQ's connection stack, removed in RQ 2: give every queue and "
            "worker that relied on it its own connection (get_queue(name), get_redis()) and "
            "drop the call"
        )
    return (
        f"{facts.name}.work() runs an RQ worker inside {facts.where}: run it as its own "
        "process (rqjobs worker QUEUES) and drop the call"
    )


def analyse(ctx: FixContext) -> None:
    for rule in (RQJ004, RQJ005):
        for site in ctx.sites_of(rule.code):
            ctx.manual(site, manual_reason(site))
