"""Service roles: which kind of process this is, and what it may start.

``SERVICE_ROLE`` is one of :data:`ROLES` (default ``all``). Each role has a set of
capabilities (:data:`CAPABILITIES`); code that starts background work guards itself with
:func:`requires_capability` or :func:`requires_role` and raises :class:`RoleViolation`
in the wrong process instead of silently starting a second scheduler in every web worker.

======================  ===  ======  =========  =====  ===
capability              api  worker  scheduler  calls  all
======================  ===  ======  =========  =====  ===
``http_server``         yes  no      yes        yes    yes
``blueprints``          yes  no      no         yes    yes
``background_threads``  no   no      yes        yes    yes
``warmup_threads``      no   no      no         yes    yes
``startup_cleanup``     no   no      no         yes    yes
``realtime_threads``    no   no      no         yes    yes
``worker``              no   yes     no         no     yes
``scheduler``           no   no      yes        no     yes
======================  ===  ======  =========  =====  ===

The scheduler keeps ``http_server`` for its health endpoint and ``background_threads``
for its tick; it serves no blueprints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from . import settings
from .errors import ConfigurationError, RoleViolation

__all__ = [
    "ROLES",
    "CAPABILITY_NAMES",
    "CAPABILITIES",
    "RoleViolation",
    "current_role",
    "allows",
    "check_role",
    "requires_role",
    "requires_capability",
    "deprecated_starter",
]

F = TypeVar("F", bound=Callable[..., Any])

ROLES: tuple[str, ...] = ("api", "worker", "scheduler", "calls", "all")
CAPABILITY_NAMES: tuple[str, ...] = (
    "http_server",
    "blueprints",
    "background_threads",
    "warmup_threads",
    "startup_cleanup",
    "realtime_threads",
    "worker",
    "scheduler",
)
CAPABILITIES: dict[str, frozenset[str]] = {
    "api": frozenset({"http_server", "blueprints"}),
    "worker": frozenset({"worker"}),
    "scheduler": frozenset({"http_server", "background_threads", "scheduler"}),
    "calls": frozenset(
        {
            "http_server",
            "blueprints",
            "background_threads",
            "warmup_threads",
            "startup_cleanup",
            "realtime_threads",
        }
    ),
    "all": frozenset(CAPABILITY_NAMES),
}

DEPRECATED_MESSAGE = "Deprecated - use scheduler service"


def current_role() -> str:
    """``SERVICE_ROLE`` (default ``"all"``); raises ``ConfigurationError`` if invalid."""
    role = settings.raw_service_role()
    if role not in ROLES:
        raise ConfigurationError(
            f"SERVICE_ROLE={role!r} is not valid; use one of: {', '.join(ROLES)}"
        )
    return role


check_role = current_role  # call it at start-up: raises early with the valid values listed


def _check_capability_name(capability: str) -> None:
    if capability not in CAPABILITY_NAMES:
        raise ValueError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITY_NAMES)}")


def allows(capability: str, role: str | None = None) -> bool:
    """Whether ``role`` (default: :func:`current_role`) may use ``capability``."""
    _check_capability_name(capability)
    return capability in CAPABILITIES[role if role is not None else current_role()]


def requires_role(*roles: str) -> Callable[[F], F]:
    """Decorator: the function runs only when ``SERVICE_ROLE`` is one of ``roles`` (or ``all``).

    Otherwise it raises :class:`RoleViolation` naming the function, the current role and the
    roles it needs. The role is read at call time, not at import.
    """
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if not roles:
        raise ValueError("requires_role() needs at least one role")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            role = current_role()
            if role != "all" and role not in roles:
                raise RoleViolation(
                    f"{func.__qualname__}() runs only in SERVICE_ROLE {' or '.join(roles)}; "
                    f"this process is {role!r}"
                )
            return func(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def requires_capability(capability: str) -> Callable[[F], F]:
    """Decorator: the function runs only when the current role allows ``capability``.

    Otherwise it raises :class:`RoleViolation` naming the capability and the roles that have it.
    """
    _check_capability_name(capability)

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            role = current_role()
            if capability not in CAPABILITIES[role]:
                having = [name for name in ROLES if capability in CAPABILITIES[name]]
                raise RoleViolation(
                    f"{func.__qualname__}() needs capability {capability!r}, which SERVICE_ROLE "
                    f"{role!r} does not have (roles with it: {', '.join(having)})"
                )
            return func(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


@overload
def deprecated_starter(func: F) -> F: ...


@overload
def deprecated_starter(*, replacement: str = ...) -> Callable[[F], F]: ...


def deprecated_starter(func: Any = None, *, replacement: str = "scheduler service") -> Any:
    """Turn a legacy ``start_*_scheduler`` function into one that raises.

    Calling the decorated function raises ``RuntimeError("Deprecated - use scheduler service")``
    (with ``replacement`` in place of ``scheduler service`` when given) and starts nothing.
    Usable bare (``@deprecated_starter``) or with ``@deprecated_starter(replacement=...)``.
    """

    def decorate(target: F) -> F:
        @functools.wraps(target)
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"Deprecated - use {replacement}")

        refuse.__deprecated_starter__ = True  # type: ignore[attr-defined]
        return refuse  # type: ignore[return-value]

    if func is not None:
        return decorate(func)
    return decorate
