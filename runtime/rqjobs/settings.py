"""Settings read from the environment, each time they are asked for.

Nothing here is cached: tests and process managers can change the environment and the
next call sees it. Connections and queues built from these values are cached elsewhere
(see :mod:`rqjobs.connection` and :mod:`rqjobs.queues`) until :func:`rqjobs.reset_redis`.

===================== ================================ =========================================
Variable              Default                          Meaning
===================== ================================ =========================================
``REDIS_URL``         ``redis://localhost:6379/0``     ``redis://``, ``rediss://`` or ``unix://``
``RQJOBS_QUEUES``     (unset: any name)                comma-separated allow-list of queue names
``RQJOBS_SERIALIZER`` ``pickle``                       ``pickle`` or ``json`` for every queue/worker
``SERVICE_ROLE``      ``all``                          see :mod:`rqjobs.roles`
``RQJOBS_SOCKET_TIMEOUT``          ``5``               seconds, for reads and writes
``RQJOBS_SOCKET_CONNECT_TIMEOUT``  ``5``               seconds, to open a connection
``RQJOBS_RETRIES``                 ``3``               re-sends after a connection error or timeout
===================== ================================ =========================================
"""

from __future__ import annotations

import os

from .errors import ConfigurationError

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_SERIALIZER = "pickle"
SERIALIZERS = ("pickle", "json")
DEFAULT_SOCKET_TIMEOUT = 5.0
DEFAULT_SOCKET_CONNECT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3


def redis_url() -> str:
    """``REDIS_URL`` from the environment, or :data:`DEFAULT_REDIS_URL` when unset or blank."""
    value = os.environ.get("REDIS_URL", "").strip()
    return value or DEFAULT_REDIS_URL


def allowed_queues() -> tuple[str, ...] | None:
    """Names listed in ``RQJOBS_QUEUES`` (comma separated); ``None`` when any name is allowed."""
    raw = os.environ.get("RQJOBS_QUEUES", "")
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    return names or None


def serializer_name() -> str:
    """``RQJOBS_SERIALIZER``: ``"pickle"`` (default) or ``"json"``; anything else raises."""
    value = os.environ.get("RQJOBS_SERIALIZER", "").strip().lower() or DEFAULT_SERIALIZER
    if value not in SERIALIZERS:
        raise ConfigurationError(
            f"RQJOBS_SERIALIZER={value!r} is not valid; use one of: {', '.join(SERIALIZERS)}"
        )
    return value


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigurationError(f"{name}={raw!r} must not be negative")
    return value


def socket_timeout() -> float:
    """``RQJOBS_SOCKET_TIMEOUT`` in seconds (default 5)."""
    return _number("RQJOBS_SOCKET_TIMEOUT", DEFAULT_SOCKET_TIMEOUT)


def socket_connect_timeout() -> float:
    """``RQJOBS_SOCKET_CONNECT_TIMEOUT`` in seconds (default 5)."""
    return _number("RQJOBS_SOCKET_CONNECT_TIMEOUT", DEFAULT_SOCKET_CONNECT_TIMEOUT)


def retries() -> int:
    """``RQJOBS_RETRIES``: re-sends of a command after a connection error (default 3)."""
    return int(_number("RQJOBS_RETRIES", DEFAULT_RETRIES))


def raw_service_role() -> str:
    """``SERVICE_ROLE`` lower-cased and stripped; ``"all"`` when unset. Not validated here."""
    return os.environ.get("SERVICE_ROLE", "").strip().lower() or "all"
