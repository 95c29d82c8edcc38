"""RQJ100 fixer: calls to deprecated in-process scheduler starters go away.

Reads the linter's :class:`~flake8_rqjobs.rules.starters.StarterFacts`. A bare call statement
such as ``start_reminder_scheduler(app)`` is removed; with ``--deprecate-definitions`` each
definition of a deprecated starter raises instead. What is rewritten and when the fixer
declines is the rule's ``fix_safety`` (``flake8-rqjobs explain RQJ100``).
"""

from __future__ import annotations

from typing import List

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.fixers.base import FixContext
from flake8_rqjobs.rules.base import Site
from flake8_rqjobs.rules.starters import (
    DEPRECATED_DECORATOR,
    DEPRECATION_MESSAGE,
    RQJ100,
    StarterFacts,
    is_deprecated,
)

CODE = RQJ100.code


def analyse(ctx: FixContext) -> None:
    for site in ctx.sites_of(CODE):
        _remove_call(ctx, site)
    if ctx.options.deprecate_definitions and ctx.selected(CODE):
        for function in ctx.positions.functions:
            name = function.name.value
            if is_deprecated(name, ctx.config.deprecated) and not _already_deprecated(function):
                ctx.plan.replace[id(function)] = _deprecate
                ctx.fixed_definition(CODE, function)


def _remove_call(ctx: FixContext, site: Site) -> None:
    facts = site.facts
    assert isinstance(facts, StarterFacts)
    if facts.handed_to is not None:
        ctx.manual(
            site,
            f"{facts.name} is handed to {facts.handed_to}(target=...), not called: removing "
            "the thread or process would also drop whatever else it does; remove it by hand",
        )
        return
    call = ctx.node(site)
    statement = ctx.positions.statement_of(call) if call is not None else None
    bare = (
        call is not None
        and isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is call
    )
    if not bare:
        ctx.manual(site, "the starter's result is used; remove the call by hand")
        return
    assert call is not None and statement is not None
    reason = calls.effect_reason("the starter's arguments", call, ctx.module)
    if reason is not None:
        ctx.manual(site, reason)
        return
    ctx.plan.remove.add(id(statement))
    ctx.fixed(site)


def _is_string_statement(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _docstring(body: cst.BaseSuite) -> List[cst.BaseStatement]:
    statements = list(body.body) if isinstance(body, cst.IndentedBlock) else []
    return statements[:1] if statements and _is_string_statement(statements[0]) else []


def _raise_statement() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(
        body=[
            cst.Raise(
                exc=cst.Call(
                    func=cst.Name("RuntimeError"),
                    args=[cst.Arg(cst.SimpleString(f'"{DEPRECATION_MESSAGE}"'))],
                )
            )
        ]
    )


def _already_deprecated(function: cst.FunctionDef) -> bool:
    """Is ``function`` a deprecated starter already? Decorated with ``deprecated_starter``
    (bare, called, or as an attribute such as ``rqjobs.deprecated_starter(...)``), or with a
    body that is only ``raise RuntimeError("Deprecated - use scheduler service")`` after an
    optional docstring (any quotes, comments or line breaks)."""
    if any(_is_deprecated_starter(d.decorator) for d in function.decorators):
        return True
    body = function.body
    statements = list(body.body) if isinstance(body, cst.IndentedBlock) else []
    rest = statements[len(_docstring(body)) :]
    if len(rest) != 1 or not isinstance(rest[0], cst.SimpleStatementLine):
        return False
    small = rest[0].body
    return len(small) == 1 and _is_deprecation_raise(small[0])


def _is_deprecated_starter(decorator: cst.BaseExpression) -> bool:
    if isinstance(decorator, cst.Call):
        decorator = decorator.func
    if isinstance(decorator, cst.Attribute):
        return decorator.attr.value == DEPRECATED_DECORATOR
    return isinstance(decorator, cst.Name) and decorator.value == DEPRECATED_DECORATOR


def _is_deprecation_raise(statement: cst.BaseSmallStatement) -> bool:
    if not isinstance(statement, cst.Raise) or statement.cause is not None:
        return False
    call = statement.exc
    if not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Name)
        and call.func.value == "RuntimeError"
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
    ):
        return False
    value = call.args[0].value
    return isinstance(value, cst.SimpleString) and value.evaluated_value == DEPRECATION_MESSAGE


def _deprecate(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.FunctionDef)
    body = node.body
    if isinstance(body, cst.IndentedBlock):
        new_body = body.with_changes(body=[*_docstring(body), _raise_statement()], footer=[])
    else:
        new_body = cst.IndentedBlock(body=[_raise_statement()])
    return node.with_changes(body=new_body)
