"""RQJ300 and RQJ301 fixer: dedupe problems are reported, never rewritten.

RQJ300 (an event job enqueued without a dedupe key) and RQJ301 (a dedupe key or event job id
built from a value that differs on every delivery, or a constant) both need a key that
identifies the provider's event (a message SID, a webhook delivery id): only a human can
choose it, so every site is listed as a manual fix: RQJ300 with the rule's advice, RQJ301 with
what the linter found wrong with the key (its :class:`DedupeFacts`). No libcst needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_rqjobs.rules.base import Site
from flake8_rqjobs.rules.dedupe import NO_KEY_ADVICE, RQJ300, RQJ301, DedupeFacts

if TYPE_CHECKING:
    from flake8_rqjobs.fixers.base import FixContext

KEY_ADVICE = (
    'build the key from the provider\'s event id (dedupe_key=f"webhook:{provider}:{message_id}")'
)


def manual_reason(site: Site) -> str:
    """The manual-fix text for a site of this family."""
    facts = site.facts
    if site.code == RQJ301.code and isinstance(facts, DedupeFacts) and facts.problem:
        return f"{facts.problem}: {KEY_ADVICE}"
    return NO_KEY_ADVICE


def analyse(ctx: FixContext) -> None:
    for rule in (RQJ300, RQJ301):
        for site in ctx.sites_of(rule.code):
            ctx.manual(site, manual_reason(site))
