"""RQJ200/RQJ201 fixer: TTL-only scheduler locks and a short scheduler tick.

What it rewrites, in scheduler code (as the linter defines it):

- RQJ200: ``try: <body> finally: release_lock(...)`` becomes ``<body>``: the lock then expires
  by its TTL, so a crash can never leave it held and a standby takes over within one TTL.
  Other statements of the ``finally`` stay in it; ``except`` clauses stay. The same goes for
  ``lock.release()`` on a redis-py lock created with a ``timeout=``.
- RQJ201: a literal ``sleep(60)`` in a scheduler loop becomes ``sleep(<max-tick>)``.

What it refuses (manual fixes): a release outside a ``finally``, a redis-py lock without a
``timeout`` (without the release it would be held forever), a release on a line with other
statements, ``try``/``except*``.
"""

from __future__ import annotations

from typing import Callable, List, Optional

import libcst as cst

from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.fixers.scopes import ASSIGN

LOCK = "RQJ200"
TICK = "RQJ201"
RELEASE_NAMES = {"release_lock", "remove_lock"}
SLEEPS = {"time.sleep", "asyncio.sleep"}


def _in_scheduler_code(ctx: FixContext, node: cst.CSTNode) -> bool:
    if ctx.sites is not None or ctx.is_scheduler_file:
        return True  # the linter already decided; or the file is scheduler code
    return any(
        isinstance(a, cst.FunctionDef) and "scheduler" in a.name.value
        for a in ctx.model.ancestors(node)
    )


def _release_problem(ctx: FixContext, call: cst.Call) -> Optional[str]:
    """None when ``call`` is a lock release this fixer may drop; else why not."""
    func = call.func
    name = (
        func.value
        if isinstance(func, cst.Name)
        else func.attr.value
        if isinstance(func, cst.Attribute)
        else ""
    )
    if name in RELEASE_NAMES:
        return None
    if name == "release" and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        binding = ctx.model.single_binding(func.value.value, ctx.model.scope_at(call))
        value = binding.value if binding is not None and binding.kind == ASSIGN else None
        if isinstance(value, cst.Call):
            timeout = next(
                (a for a in value.args if a.keyword is not None and a.keyword.value == "timeout"),
                None,
            )
            if timeout is None or (
                isinstance(timeout.value, cst.Name) and timeout.value.value == "None"
            ):
                return "the lock has no timeout: without this release it would be held forever"
            return None
        return "cannot see how this lock was created; make it TTL-only by hand"
    return "not a lock release this fixer knows"


def _release_statement(ctx: FixContext, statement: cst.BaseStatement) -> Optional[cst.Call]:
    if (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.Call)
    ):
        call = statement.body[0].value
        if ctx.flagged(LOCK, call):
            return call
    return None


def analyse(ctx: FixContext) -> None:
    handled: set = set()
    if ctx.selected(LOCK):
        for node in ctx.model.tries:
            if node.finalbody is None or not isinstance(node.finalbody.body, cst.IndentedBlock):
                continue
            statements = list(node.finalbody.body.body)
            releases: List[cst.BaseStatement] = []
            for statement in statements:
                call = _release_statement(ctx, statement)
                if call is None or not _in_scheduler_code(ctx, call):
                    continue
                handled.add(id(call))
                problem = _release_problem(ctx, call)
                if problem:
                    ctx.manual(LOCK, call, problem)
                    continue
                releases.append(statement)
                ctx.fixed(LOCK, call)
            if not releases:
                continue
            for statement in releases:
                ctx.plan.remove.add(id(statement))
            if len(releases) == len(statements):
                if node.handlers:
                    ctx.plan.drop_finally.add(id(node))
                else:
                    ctx.plan.unwrap.add(id(node))
        for call in ctx.model.calls:
            if (
                id(call) not in handled
                and ctx.flagged(LOCK, call)
                and _release_problem(ctx, call) != "not a lock release this fixer knows"
            ):
                ctx.manual(
                    LOCK,
                    call,
                    ("lock released outside a try/finally: make the lock TTL-only by hand"),
                )
    if ctx.selected(TICK):
        _ticks(ctx)


def _tick_literal(value: float) -> cst.BaseExpression:
    if float(value).is_integer():
        return cst.Integer(str(int(value)))
    return cst.Float(repr(float(value)))


def _constant(value: cst.BaseExpression) -> Callable[[cst.CSTNode], cst.CSTNode]:
    return lambda node: value


def _ticks(ctx: FixContext) -> None:
    model = ctx.model
    limit = ctx.config.max_tick
    for call in model.calls:
        if not ctx.flagged(TICK, call):
            continue
        if model.qualname(call.func, model.scope_at(call)) not in SLEEPS:
            continue
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            ctx.manual(TICK, call, "sleep() with unexpected arguments; shorten the tick by hand")
            continue
        argument = call.args[0].value
        if not isinstance(argument, (cst.Integer, cst.Float)):
            ctx.manual(TICK, call, "the sleep is not a literal number; shorten the tick by hand")
            continue
        if ctx.sites is None:
            in_loop = any(isinstance(a, (cst.While, cst.For)) for a in model.ancestors(call))
            if (
                not in_loop
                or not _in_scheduler_code(ctx, call)
                or float(argument.evaluated_value) <= limit
            ):
                continue
        new_value = _tick_literal(limit)
        ctx.plan.replace[id(argument)] = _constant(new_value)
        ctx.fixed(TICK, call)
