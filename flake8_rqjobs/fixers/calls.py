"""Small helpers to read and rebuild call arguments without disturbing their layout."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import libcst as cst


def positional(call: cst.Call) -> List[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def keyword(call: cst.Call, name: str) -> Optional[cst.Arg]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def string_value(expr: cst.BaseExpression) -> Optional[str]:
    """The value of a plain string literal (no f-string), else None."""
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def is_literal_string(expr: Optional[cst.BaseExpression]) -> bool:
    return expr is not None and string_value(expr) is not None


def drop_args(call: cst.Call, drop: Sequence[int]) -> cst.Call:
    """``call`` without the arguments at the indexes ``drop``; commas and the whitespace
    before ``)`` are repaired so that no stray comma or ``)`` line is left behind."""
    args = list(call.args)
    if not drop:
        return call
    last_dropped = max(drop) == len(args) - 1
    tail = args[-1]
    kept = [arg for index, arg in enumerate(args) if index not in drop]
    if not kept:
        return call.with_changes(args=[], whitespace_before_args=cst.SimpleWhitespace(""))
    if last_dropped:
        had_trailing = isinstance(tail.comma, cst.Comma)
        if had_trailing:
            kept[-1] = kept[-1].with_changes(comma=tail.comma)
        else:
            kept[-1] = kept[-1].with_changes(
                comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=tail.whitespace_after_arg
            )
    return call.with_changes(args=kept)


def separator(call: cst.Call) -> cst.Comma:
    """The comma to put between arguments of a rebuilt ``call``: ``", "`` on one line, or a
    comma followed by the call's own newline and indentation."""
    whitespace = call.whitespace_before_args
    if isinstance(whitespace, cst.ParenthesizedWhitespace):
        return cst.Comma(whitespace_after=whitespace)
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


ArgSpec = Tuple[Optional[str], cst.BaseExpression, str]  # keyword, value, star ("", "*", "**")


def build_args(template: cst.Call, specs: Sequence[ArgSpec]) -> List[cst.Arg]:
    """New arguments laid out like ``template``'s (one line, or one per line)."""
    comma = separator(template)
    args: List[cst.Arg] = []
    for keyword_name, value, star in specs:
        if keyword_name is not None:
            arg = cst.Arg(
                value=value,
                keyword=cst.Name(keyword_name),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        else:
            arg = cst.Arg(value=value, star=star)  # type: ignore[arg-type]
        args.append(arg.with_changes(comma=comma))
    if args:
        last = template.args[-1] if template.args else None
        if last is not None:
            args[-1] = args[-1].with_changes(
                comma=last.comma, whitespace_after_arg=last.whitespace_after_arg
            )
        else:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


def prepend_arg(call: cst.Call, value: cst.BaseExpression) -> List[cst.Arg]:
    """``call``'s arguments with ``value`` inserted first, in the call's layout."""
    first = cst.Arg(value=value, comma=separator(call))
    if not call.args:
        return [first.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return [first, *call.args]


class _Effects(cst.CSTVisitor):
    """The outermost sub-expressions that do something when evaluated: calls, assignment
    expressions (``n := 60`` binds ``n``), ``await`` and ``yield``."""

    KINDS = (cst.Call, cst.NamedExpr, cst.Await, cst.Yield)

    def __init__(self) -> None:
        super().__init__()
        self.found: List[cst.BaseExpression] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp)):
            return False  # nothing in a lambda runs; a comprehension is looked at as a whole
        if isinstance(node, self.KINDS):
            self.found.append(node)
            return False
        return True


def effects(node: cst.CSTNode) -> List[cst.BaseExpression]:
    """Sub-expressions of ``node`` whose evaluation has an effect that removing ``node``
    would drop (see :class:`_Effects`)."""
    finder = _Effects()
    node.visit(finder)
    return finder.found


def effect_reason(what: str, call: cst.Call, module: cst.Module) -> Optional[str]:
    """Why removing ``call`` would drop an effect of its callee expression or arguments
    (``what``: "the starter's arguments"), naming the first one exactly; ``None`` when
    there is none."""
    found = effects(call.func)
    for arg in call.args:
        found += effects(arg.value)
    if not found:
        return None
    first = found[0]
    code = module.code_for_node(first).strip()
    if len(code) > 60:
        code = code[:57] + "..."
    if isinstance(first, cst.NamedExpr):
        target = module.code_for_node(first.target)
        return (
            f"{what} bind {target} ({code}), which removing the call would leave unbound; "
            "keep the assignment and remove the call by hand"
        )
    return (
        f"{what} evaluate {code}, which removing the call would skip; keep it and remove the "
        "call by hand"
    )
