"""Turn ``q.enqueue(f, ...)`` / ``q.enqueue_call(func=f, ...)`` into the wrapper's
``enqueue(name, f, ...)``, and ``q.enqueue_at(when, f, ...)`` / ``q.enqueue_in(delay, f, ...)``
into its ``enqueue_at(name, when, f, ...)`` / ``enqueue_in(name, delay, f, ...)``, keeping the
arguments' layout (the queues fixer's editing half)."""

from __future__ import annotations

import keyword as keywords
from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst

from flake8_rqjobs.fixers import calls
from flake8_rqjobs.rules.queues import RQ_OPTIONS

# enqueue_call's own keywords, and their enqueue spelling.
CALL_OPTIONS: Dict[str, str] = {
    name: name for name in RQ_OPTIONS - {"job_timeout", "args", "kwargs"}
}
CALL_OPTIONS["timeout"] = "job_timeout"

Builder = Callable[[cst.Call, str, cst.BaseExpression], cst.Call]
# RQ's scheduling methods, each the same-named wrapper call: ``q.enqueue_at(when, f, ...)``
# -> ``enqueue_at(name, when, f, ...)``, ``q.enqueue_in(delay, f, ...)`` likewise.
SCHEDULING = frozenset({"enqueue_at", "enqueue_in"})
# The wrapper's own parameters of those calls: a job keyword of that name would collide.
WRAPPER_PARAMETERS = {
    "enqueue_at": frozenset({"queue", "when", "func"}),
    "enqueue_in": frozenset({"queue", "delay", "func"}),
}


def convert_enqueue(
    call: cst.Call, method: str
) -> Tuple[Optional[Callable[[cst.Call, str, cst.BaseExpression], cst.Call]], str]:
    """A builder for ``enqueue(name, ...)`` from ``recv.<method>(...)``, or a reason."""
    if method == "enqueue":
        first = call.args[0] if call.args else None
        if first is None or first.keyword is not None or first.star:
            return None, "the job function is not the first positional argument"
        return build_enqueue, ""
    if method in SCHEDULING:
        head = call.args[:2]
        if len(head) < 2 or any(arg.keyword is not None or arg.star for arg in head):
            what = "time" if method == "enqueue_at" else "delay"
            return (
                None,
                f"the {what} and the job function are not the first two positional arguments",
            )
        own = WRAPPER_PARAMETERS[method]
        for arg in call.args[2:]:
            if arg.keyword is not None and arg.keyword.value in own:
                return None, (
                    f"the job's keyword {arg.keyword.value!r} would be taken by the wrapper's "
                    f"{method}() for its own parameter"
                )
        return build_enqueue, ""
    return _convert_enqueue_call(call)


def build_enqueue(updated: cst.Call, local: str, name: cst.BaseExpression) -> cst.Call:
    """``recv.<method>(a, ...)`` -> ``local(name, a, ...)`` (the arguments kept as they are)."""
    return updated.with_changes(func=cst.Name(local), args=calls.prepend_arg(updated, name))


def _convert_enqueue_call(call: cst.Call):  # type: ignore[no-untyped-def]
    if calls.has_star(call):
        return None, "enqueue_call with *args/**kwargs: its options cannot be checked"
    slots: dict = {}
    positional_names = ["func", "args", "kwargs"]
    for index, arg in enumerate(call.args):
        if arg.keyword is None:
            if index >= len(positional_names):
                return None, "enqueue_call with more than three positional arguments"
            slots[positional_names[index]] = index
        else:
            slots[arg.keyword.value] = index
    if "func" not in slots:
        return None, "enqueue_call without func"
    unknown = [k for k in slots if k not in ("func", "args", "kwargs") and k not in CALL_OPTIONS]
    if unknown:
        return None, f"enqueue_call with unknown keyword {unknown[0]}"
    options = {CALL_OPTIONS[k] for k in slots if k in CALL_OPTIONS}
    if "args" in slots:
        value = call.args[slots["args"]].value
        if not _literal_args(value):
            return None, "enqueue_call args= is not a literal tuple or list"
    if "kwargs" in slots:
        value = call.args[slots["kwargs"]].value
        problem = _literal_kwargs(value, options)
        if problem:
            return None, problem

    def build(updated: cst.Call, local: str, name: cst.BaseExpression) -> cst.Call:
        args = updated.args
        specs: List[calls.ArgSpec] = [(None, name, ""), (None, args[slots["func"]].value, "")]
        if "args" in slots:
            value = args[slots["args"]].value
            if isinstance(value, (cst.Tuple, cst.List)):
                specs += [(None, element.value, "") for element in value.elements]
        if "kwargs" in slots:
            value = args[slots["kwargs"]].value
            if isinstance(value, cst.Dict):
                for element in value.elements:
                    assert isinstance(element, cst.DictElement)
                    key = calls.string_value(element.key)
                    assert key is not None
                    specs.append((key, element.value, ""))
        for index, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword.value in CALL_OPTIONS:
                specs.append((CALL_OPTIONS[arg.keyword.value], arg.value, ""))
            del index
        return updated.with_changes(func=cst.Name(local), args=calls.build_args(updated, specs))

    return build, ""


def _literal_args(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Name) and value.value == "None":
        return True
    return isinstance(value, (cst.Tuple, cst.List)) and not any(
        isinstance(e, cst.StarredElement) for e in value.elements
    )


def _literal_kwargs(value: cst.BaseExpression, options: set) -> str:
    if isinstance(value, cst.Name) and value.value == "None":
        return ""
    if not isinstance(value, cst.Dict):
        return "enqueue_call kwargs= is not a literal dict"
    seen = set()
    for element in value.elements:
        if not isinstance(element, cst.DictElement):
            return "enqueue_call kwargs= unpacks another mapping"
        key = calls.string_value(element.key)
        if key is None or not key.isidentifier() or keywords.iskeyword(key):
            return "enqueue_call kwargs= has a key that is not a plain name"
        if key in RQ_OPTIONS:
            return f"the job's keyword {key!r} would be taken by enqueue() as an RQ option"
        if key in options or key in seen:
            return f"keyword {key!r} given twice"
        seen.add(key)
    return ""
