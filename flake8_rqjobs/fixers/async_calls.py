"""RQJ400 fixer: blocking calls inside ``async def`` are reported, never rewritten.

Whether the call moves to a thread (``run_in_threadpool``/``asyncio.to_thread``), the handler
becomes a plain ``def``, or the code awaits ``rqjobs.aio`` is a human decision (each changes
when the call runs or how the framework runs the handler), so every site is listed as a
manual fix with what the linter found (its :class:`AsyncCallFacts`). No libcst needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flake8_rqjobs.rules.async_calls import RQJ400, AsyncCallFacts
from flake8_rqjobs.rules.base import Site

if TYPE_CHECKING:
    from flake8_rqjobs.fixers.base import FixContext

# The calls rqjobs.aio has (an awaitable twin of the blocking call).
AIO_FUNCTIONS = frozenset({"enqueue", "enqueue_with_dedupe", "get_queue_stats", "health_report"})
GENERIC_ADVICE = (
    "a blocking rqjobs/RQ call inside async def holds the event loop: pass the function to "
    "run_in_threadpool/asyncio.to_thread, or make the handler a plain def"
)


def manual_reason(site: Site) -> str:
    """The manual-fix text for a site of this family."""
    facts = site.facts
    if not isinstance(facts, AsyncCallFacts):
        return GENERIC_ADVICE
    if facts.rq_call:
        return (
            f"{facts.call}() is a blocking RQ call inside async def {facts.coroutine}: RQ has "
            "no async API; pass the function (not its call) to run_in_threadpool/"
            "asyncio.to_thread, or make the handler a plain def"
        )
    if facts.redis_command:
        return (
            f"{facts.call}() is a blocking Redis command inside async def {facts.coroutine}: "
            "await a redis.asyncio client instead, or pass the function (not its call) to "
            "run_in_threadpool/asyncio.to_thread, or make the handler a plain def"
        )
    if facts.func not in AIO_FUNCTIONS:  # no async twin (enqueue_at, enqueue_in, ...)
        return (
            f"{facts.call}() blocks the event loop inside async def {facts.coroutine}: "
            "rqjobs.aio has no such call; pass the function (not its call) to "
            "run_in_threadpool/asyncio.to_thread, or make the handler a plain def"
        )
    return (
        f"{facts.call}() blocks the event loop inside async def {facts.coroutine}: "
        f"await rqjobs.aio.{facts.func}(...) or pass the function (not its call) to "
        "run_in_threadpool/asyncio.to_thread, or make the handler a plain def"
    )


def analyse(ctx: FixContext) -> None:
    for site in ctx.sites_of(RQJ400.code):
        ctx.manual(site, manual_reason(site))
