"""RQJ300: event jobs enqueued without a dedupe key are reported, never rewritten.

The dedupe key must identify the provider's event (a message SID, a webhook delivery id):
only a human can choose it, so every RQJ300 site is listed as a manual fix with the rule's
advice.
"""

from __future__ import annotations

from flake8_rqjobs.fixers.base import FixContext

CODE = "RQJ300"
ADVICE = (
    "event job enqueued without a dedupe key: call enqueue_with_dedupe(queue, func, ..., "
    "dedupe_key=<provider event id>) so that a provider retry cannot run it twice"
)


def analyse(ctx: FixContext) -> None:
    if not ctx.selected(CODE) or ctx.sites is None:
        return
    for line in sorted(ctx.sites.get(CODE, ())):
        ctx.manual_at(CODE, line, ADVICE)
