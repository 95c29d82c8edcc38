"""RQJ300 and RQJ301: dedupe problems are reported, never rewritten.

RQJ300 (an event job enqueued without a dedupe key) and RQJ301 (a dedupe key or event job id
built from a value that differs on every delivery, or a constant) both need a key that
identifies the provider's event (a message SID, a webhook delivery id): only a human can
choose it, so every site is listed as a manual fix with the rule's advice.
"""

from __future__ import annotations

from flake8_rqjobs.fixers.base import FixContext

CODES = ("RQJ300", "RQJ301")
ADVICE = (
    "event job enqueued without a dedupe key: call enqueue_with_dedupe(queue, func, ..., "
    "dedupe_key=<provider event id>) so that a provider retry cannot run it twice"
)
KEY_ADVICE = (
    "dedupe key or event job id that cannot recognise a retry: build it from the provider's "
    'event id (dedupe_key=f"webhook:{provider}:{message_id}")'
)


def reason(code: str, message: str = "") -> str:
    """The manual-fix text for a report-only site: the rule's advice. For RQJ301 the
    linter's own message (``message``, with or without its code) says what is wrong there."""
    if code == "RQJ300":
        return ADVICE
    text = message[len(code) :].strip() if message.startswith(code) else message.strip()
    return text or KEY_ADVICE


def analyse(ctx: FixContext) -> None:
    if ctx.sites is None:
        return
    for code in CODES:
        if not ctx.selected(code):
            continue
        for line in sorted(ctx.sites.get(code, ())):
            ctx.manual_at(code, line, reason(code, ctx.messages.get((code, line), "")))
