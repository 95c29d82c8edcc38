"""``@event_job``: mark a job as the handler of provider events, with its dedupe key.

::

    from rqjobs import event_job

    @event_job(key="webhook:baileys:{message_id}", queue="webhooks")
    def process_message(message_id: str, payload: dict) -> None:
        ...

    # in the webhook handler, once per message of the delivery:
    process_message.deliver(message["id"], message)

``deliver(*args, **kwargs)`` is ``enqueue_with_dedupe(queue, func, *args,
dedupe_key=<key formatted with the call's arguments>, ttl=..., **kwargs)``: one job per event,
``None`` for a duplicate (see :mod:`rqjobs.dedupe`). The function itself is unchanged and can
still be called directly, or enqueued by hand. The flake8 rules recognise ``@event_job``
(RQJ300: an event job enqueued without a dedupe key is reported).

The template's fields are the function's parameter names, bound as Python binds the call
(``{message_id}``, ``{event.id}``, ``{payload[id]}`` all work: ``str.format`` rules). A
field that is missing or empty raises ``ValueError`` before anything is written.
"""

from __future__ import annotations

import functools
import inspect
import string
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar, overload

from .dedupe import DEFAULT_TTL, enqueue_with_dedupe
from .enqueue import RQ_OPTIONS

__all__ = ["event_job", "EventJob"]

F = TypeVar("F", bound=Callable[..., Any])
# Keywords of deliver() that are enqueue options, not the job's own arguments.
_DELIVER_OPTIONS = tuple(name for name in RQ_OPTIONS if name != "ttl") + (
    "job_ttl",
    "release_on_failure",
)


@dataclass(frozen=True)
class EventJob:
    """What ``@event_job`` recorded on a function (its ``rqjobs_event`` attribute)."""

    key: Optional[str]
    queue: str
    ttl: int

    def dedupe_key(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        """The key for one call: the template formatted with the call's bound arguments."""
        if self.key is None:
            raise ValueError(
                f"@event_job on {func.__qualname__} has no key template: pass dedupe_key= to "
                "deliver(), or declare @event_job(key='provider:{event_id}')"
            )
        try:
            bound = inspect.signature(func).bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise ValueError(f"{func.__qualname__}.deliver(): {exc}") from None
        bound.apply_defaults()
        try:
            return self.key.format(**bound.arguments)
        except (KeyError, IndexError, AttributeError) as exc:
            raise ValueError(
                f"@event_job key {self.key!r} of {func.__qualname__}: the call has no value "
                f"for {exc}"
            ) from None


def _fields(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


@overload
def event_job(func: F) -> F: ...
@overload
def event_job(
    func: None = None, *, key: Optional[str] = None, queue: str = "default", ttl: int = DEFAULT_TTL
) -> Callable[[F], F]: ...
def event_job(
    func: Optional[F] = None,
    *,
    key: Optional[str] = None,
    queue: str = "default",
    ttl: int = DEFAULT_TTL,
) -> Any:
    """Mark ``func`` as an event job; add ``func.deliver(*args, **kwargs)``.

    ``key`` is the dedupe-key template (``"webhook:twilio:{call_sid}:{event_type}"``),
    ``queue`` the queue name, ``ttl`` the dedupe window in seconds. A template field that is
    not a parameter of ``func`` raises ``ValueError`` at decoration time.
    """

    def decorate(target: F) -> F:
        if key is not None:
            parameters = inspect.signature(target).parameters
            for field in _fields(key):
                name = field.split(".", 1)[0].split("[", 1)[0]
                if name not in parameters:
                    raise ValueError(
                        f"@event_job key {key!r}: {{{field}}} is not a parameter of "
                        f"{target.__qualname__}{inspect.signature(target)}"
                    )
        spec = EventJob(key=key, queue=queue, ttl=ttl)

        @functools.wraps(target)
        def deliver(*args: Any, **kwargs: Any) -> Any:
            """``enqueue_with_dedupe`` of one event: ``None`` when it is a duplicate."""
            window = kwargs.pop("ttl", spec.ttl)  # the dedupe window, as for enqueue_with_dedupe
            options = {name: kwargs.pop(name) for name in _DELIVER_OPTIONS if name in kwargs}
            dedupe_key = kwargs.pop("dedupe_key", None)
            if dedupe_key is None:
                dedupe_key = spec.dedupe_key(target, args, kwargs)
            return enqueue_with_dedupe(
                spec.queue, target, *args, dedupe_key=dedupe_key, ttl=window, **kwargs, **options
            )

        target.rqjobs_event = spec  # type: ignore[attr-defined]
        target.deliver = deliver  # type: ignore[attr-defined]
        return target

    if func is not None:
        return decorate(func)
    return decorate
