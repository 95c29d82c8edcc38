"""RQJ100 fixer: calls to deprecated in-process scheduler starters go away.

What it rewrites: a bare call statement such as ``start_reminder_scheduler(app)`` is removed
(its comments stay; an emptied block gets ``pass``). With ``--deprecate-definitions``, each
definition of a deprecated starter keeps its signature and docstring, and its body becomes
``raise RuntimeError("Deprecated - use scheduler service")``; a definition that already
raises that, or that is decorated with ``@deprecated_starter`` (``rqjobs.deprecated_starter``,
bare or called), is left alone.

What it refuses (manual fixes): a call whose result is used (``t = start_x_scheduler()``), and
a call whose arguments call something (removing it would skip those calls too).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import List

import libcst as cst

from flake8_rqjobs.fixers.base import FixContext

CODE = "RQJ100"
MESSAGE = "Deprecated - use scheduler service"
DECORATOR = "deprecated_starter"  # rqjobs.deprecated_starter: the function raises already


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def is_deprecated(name: str, patterns: tuple) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def analyse(ctx: FixContext) -> None:
    model = ctx.model
    patterns = ctx.config.deprecated
    for call in model.calls:
        if not is_deprecated(_callee_name(call), patterns) or not ctx.flagged(CODE, call):
            continue
        statement = model.statement_of(call)
        bare = (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and statement.body[0].value is call
        )
        if not bare:
            ctx.manual(CODE, call, "the starter's result is used; remove the call by hand")
            continue
        if any(_calls_something(arg.value) for arg in call.args):
            ctx.manual(CODE, call, "the starter's arguments call something; remove it by hand")
            continue
        assert statement is not None
        ctx.plan.remove.add(id(statement))
        ctx.fixed(CODE, call)
    if ctx.options.deprecate_definitions and ctx.selected(CODE):
        for function in model.functions:
            if is_deprecated(function.name.value, patterns) and not _already_deprecated(function):
                ctx.plan.replace[id(function)] = _deprecate
                ctx.fixed(CODE, function)


class _CallFinder(cst.CSTVisitor):
    found = False

    def visit_Call(self, node: cst.Call) -> bool:
        self.found = True
        return False


def _calls_something(expr: cst.BaseExpression) -> bool:
    finder = _CallFinder()
    expr.visit(finder)
    return finder.found


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
                    func=cst.Name("RuntimeError"), args=[cst.Arg(cst.SimpleString(f'"{MESSAGE}"'))]
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
        return decorator.attr.value == DECORATOR
    return isinstance(decorator, cst.Name) and decorator.value == DECORATOR


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
    return isinstance(value, cst.SimpleString) and value.evaluated_value == MESSAGE


def _deprecate(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.FunctionDef)
    body = node.body
    if isinstance(body, cst.IndentedBlock):
        new_body = body.with_changes(body=[*_docstring(body), _raise_statement()], footer=[])
    else:
        new_body = cst.IndentedBlock(body=[_raise_statement()])
    return node.with_changes(body=new_body)
