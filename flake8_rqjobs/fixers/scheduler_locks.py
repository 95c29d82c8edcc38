"""RQJ200/RQJ201 fixer: TTL-only scheduler locks and a short scheduler tick.

Reads the linter's :class:`~flake8_rqjobs.rules.scheduler_locks.ReleaseFacts` (which release,
and how the lock was created) and
:class:`~flake8_rqjobs.rules.scheduler_locks.SleepFacts` (the seconds, and whether they are
one literal). The linter already decided what is scheduler code. What is rewritten and when
the fixer declines is the rules' ``fix_safety`` (``flake8-rqjobs explain RQJ200``).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Set

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.rules.base import Site
from flake8_rqjobs.rules.scheduler_locks import (
    RQJ200,
    RQJ201,
    LockOrigin,
    ReleaseFacts,
    SleepFacts,
)

LOCK = RQJ200.code
TICK = RQJ201.code

_LOCK_REASONS: Dict[LockOrigin, str] = {
    LockOrigin.NO_TIMEOUT: "the lock has no timeout: without this release it would be held forever",
    LockOrigin.UNSEEN: "cannot see how this lock was created; make it TTL-only by hand",
}


def decline_reason(facts: ReleaseFacts) -> Optional[str]:
    """Why dropping this release is unsafe, or None."""
    return _LOCK_REASONS.get(facts.lock)


def _release_site(ctx: FixContext, statement: cst.BaseStatement) -> Optional[Site]:
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.Call)
    ):
        return ctx.site_for(LOCK, statement.body[0].value)
    return None


def _released_call(statement: cst.BaseStatement) -> cst.Call:
    assert isinstance(statement, cst.SimpleStatementLine)
    expr = statement.body[0]
    assert isinstance(expr, cst.Expr) and isinstance(expr.value, cst.Call)
    return expr.value


def analyse(ctx: FixContext) -> None:
    handled: Set[Site] = set()
    for node in ctx.positions.tries if ctx.sites_of(LOCK) else ():
        _finally(ctx, node, handled)
    for site in ctx.sites_of(LOCK):
        if site not in handled:
            facts = site.facts
            assert isinstance(facts, ReleaseFacts)
            reason = decline_reason(facts) or (
                "lock released outside a try/finally: make the lock TTL-only by hand"
            )
            ctx.manual(site, reason)
    for site in ctx.sites_of(TICK):
        _tick(ctx, site)


def _finally(ctx: FixContext, node: cst.Try, handled: Set[Site]) -> None:
    """``try: ... finally: release_lock(...)``: the releases go, and the ``finally`` (or the
    whole ``try``) when nothing else is left in it."""
    if node.finalbody is None or not isinstance(node.finalbody.body, cst.IndentedBlock):
        return
    statements = list(node.finalbody.body.body)
    releases: List[cst.BaseStatement] = []
    for statement in statements:
        site = _release_site(ctx, statement)
        if site is None:
            continue
        handled.add(site)
        facts = site.facts
        assert isinstance(facts, ReleaseFacts)
        reason = decline_reason(facts) or calls.effect_reason(
            "the release's arguments", _released_call(statement), ctx.module
        )
        if reason is not None:
            ctx.manual(site, reason)
            continue
        releases.append(statement)
        ctx.fixed(site)
    if not releases:
        return
    for statement in releases:
        ctx.plan.remove.add(id(statement))
    if len(releases) == len(statements):
        if node.handlers:
            ctx.plan.drop_finally.add(id(node))
        else:
            ctx.plan.unwrap.add(id(node))


def _tick_literal(value: float) -> cst.BaseExpression:
    if float(value).is_integer():
        return cst.Integer(str(int(value)))
    return cst.Float(repr(float(value)))


def _constant(value: cst.BaseExpression) -> Callable[[cst.CSTNode], cst.CSTNode]:
    return lambda node: value


def _tick(ctx: FixContext, site: Site) -> None:
    facts = site.facts
    assert isinstance(facts, SleepFacts)
    if not facts.plain_arguments:
        ctx.manual(site, "sleep() with unexpected arguments; shorten the tick by hand")
        return
    if not facts.literal:
        ctx.manual(
            site,
            f"the sleep of {facts.seconds:g} s is not a literal number (a constant or "
            "arithmetic); shorten the tick where it is defined, by hand",
        )
        return
    call = ctx.node(site)
    argument = call.args[0].value if call is not None and call.args else None
    if not isinstance(argument, (cst.Integer, cst.Float)):  # pragma: no cover - a literal
        ctx.manual(site, "the sleep is not a literal number; shorten the tick by hand")
        return
    ctx.plan.replace[id(argument)] = _constant(_tick_literal(ctx.config.max_tick))
    ctx.fixed(site)
