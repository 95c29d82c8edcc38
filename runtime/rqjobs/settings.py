"""Settings read from the environment, each time they are asked for.

Nothing here is cached: tests and process managers can change the environment and the
next call sees it. Connections and queues built from these values are cached elsewhere
(see :mod:`rqjobs.connection` and :mod:`rqjobs.queues`) until :func:`rqjobs.reset_redis`.

===================== ================================ =========================================
Variable              Default                          Meaning
===================== ================================ =========================================
``REDIS_URL``         ``redis://localhost:6379/0``     ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``
``RQJOBS_QUEUES``     (unset: any name)                comma-separated allow-list of queue names
``RQJOBS_SERIALIZER`` ``pickle``                       ``pickle`` or ``json`` for every queue/worker
``SERVICE_ROLE``      ``all``                          see :mod:`rqjobs.roles`
``RQJOBS_SOCKET_TIMEOUT``          ``3``               seconds, for reads and writes
``RQJOBS_SOCKET_CONNECT_TIMEOUT``  ``2``               seconds, to open a connection
``RQJOBS_RETRIES``                 ``3``               re-sends after a connection error or timeout
``RQJOBS_CALL_DEADLINE``           ``10``              seconds one call may block, retries included
``RQJOBS_HEARTBEAT_INTERVAL``      ``5``               seconds between a running job's beats
``RQJOBS_ORPHAN_GRACE``            ``10``              seconds a popped, unstarted job holds
``RQJOBS_HEALTH_TIMEOUT``          ``0.5``             seconds, health's connect timeout (reads 2x)
``RQJOBS_HEALTH_DETAILS``          ``1``               ``0``: health hides queue names, hosts, pids
``RQJOBS_HEALTH_TOKEN``            (unset)             details only for a caller that presents it
``RQJOBS_HEALTH_MAX_QUEUES``       ``50``              queues listed by health at most
``RQJOBS_SCHEDULED_OVERDUE``       ``60``              seconds a scheduled job may be late
``RQJOBS_MIN_REPLICAS``            ``0``               replicas that must hold an enqueue (WAIT)
``RQJOBS_REPLICA_TIMEOUT_MS``      ``500``             milliseconds WAIT may take
===================== ================================ =========================================
"""

from __future__ import annotations

import os
import sys
from typing import Optional, overload

from .errors import ConfigurationError

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_SERIALIZER = "pickle"
SERIALIZERS = ("pickle", "json")
DEFAULT_SOCKET_TIMEOUT = 3.0
DEFAULT_SOCKET_CONNECT_TIMEOUT = 2.0
DEFAULT_RETRIES = 3

_FS_ENCODING = sys.getfilesystemencoding()
_ENV_KEYS: dict[str, bytes] = {}


@overload
def getenv(name: str) -> Optional[str]: ...
@overload
def getenv(name: str, default: str) -> str: ...
def getenv(name: str, default: Optional[str] = None) -> Optional[str]:
    """``os.environ.get(name, default)``, read live on every call, for less CPU.

    On POSIX ``os.environ`` keeps the environment in its ``_data`` dict (bytes to bytes) and
    every change made through ``os.environ`` (``monkeypatch.setenv``, ``patch.dict``) lands
    there; reading it directly skips the mapping layer's per-read encode/decode work (a
    few microseconds each, and an enqueue reads several settings). Anywhere else, or when
    ``os.environ`` has been replaced by another mapping, this is ``os.environ.get``.
    """
    environ = os.environ
    data = getattr(environ, "_data", None)
    if type(data) is not dict or os.name != "posix":
        return environ.get(name, default)
    key = _ENV_KEYS.get(name)
    if key is None:
        key = _ENV_KEYS[name] = name.encode(_FS_ENCODING, "surrogateescape")
    raw = data.get(key)
    if raw is None:
        return default
    return raw.decode(_FS_ENCODING, "surrogateescape")  # type: ignore[no-any-return]


def redis_url() -> str:
    """``REDIS_URL`` from the environment; else, in a configured Django project, the
    connection of django-rq's ``RQ_QUEUES`` (``"default"``, or the first queue), so one
    configuration serves django-rq and rqjobs; else :data:`DEFAULT_REDIS_URL`."""
    value = getenv("REDIS_URL", "").strip()
    if value:
        return value
    queue = _django_queue_config()
    if queue is not None:
        return _django_url(queue)
    return DEFAULT_REDIS_URL


def _django_settings() -> object | None:
    """``django.conf.settings`` when Django is imported and configured, else ``None``."""
    conf = sys.modules.get("django.conf")
    if conf is None:
        return None
    try:
        configured = conf.settings.configured  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a half-configured Django is no configuration
        return None
    return conf.settings if configured else None  # type: ignore[attr-defined]


def _django_queue_config() -> dict[str, object] | None:
    django_settings = _django_settings()
    queues = getattr(django_settings, "RQ_QUEUES", None) if django_settings else None
    if not queues:
        return None
    name = "default" if "default" in queues else next(iter(queues))
    return dict(queues[name])


def _django_url(queue: dict[str, object]) -> str:
    """django-rq's connection settings (``URL``, or ``HOST``/``PORT``/``DB``/``USERNAME``/
    ``PASSWORD``/``SSL``) as a Redis URL."""
    if queue.get("URL"):
        return str(queue["URL"])
    from urllib.parse import quote

    user = quote(str(queue.get("USERNAME") or ""), safe="")
    password = quote(str(queue.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    scheme = "rediss" if queue.get("SSL") else "redis"
    host = queue.get("HOST") or "localhost"
    return f"{scheme}://{auth}{host}:{queue.get('PORT') or 6379}/{queue.get('DB') or 0}"


def allowed_queues() -> tuple[str, ...] | None:
    """Names listed in ``RQJOBS_QUEUES`` (comma separated); ``None`` when any name is allowed."""
    raw = getenv("RQJOBS_QUEUES", "")
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    return names or None


def serializer_name() -> str:
    """``RQJOBS_SERIALIZER``: ``"pickle"`` (default) or ``"json"``; anything else raises."""
    value = getenv("RQJOBS_SERIALIZER", "").strip().lower() or _django_serializer()
    if value not in SERIALIZERS:
        raise ConfigurationError(
            f"RQJOBS_SERIALIZER={value!r} is not valid; use one of: {', '.join(SERIALIZERS)}"
        )
    return value


def _django_serializer() -> str:
    """In a Django project: ``settings.RQJOBS["SERIALIZER"]``, else the ``SERIALIZER`` of
    django-rq's queue (rq's dotted paths mapped to ``pickle``/``json``), else pickle."""
    django_settings = _django_settings()
    own = getattr(django_settings, "RQJOBS", None) or {}
    if own.get("SERIALIZER"):
        return str(own["SERIALIZER"]).strip().lower()
    queue = _django_queue_config() or {}
    configured = str(queue.get("SERIALIZER") or "")
    if configured.endswith("JSONSerializer"):
        return "json"
    return DEFAULT_SERIALIZER


_numbers: dict[tuple[str, str], float] = {}  # (name, raw value) -> the valid number it is


def _number(name: str, default: float) -> float:
    raw = getenv(name)
    if raw is None:
        return default
    known = _numbers.get((name, raw))
    if known is not None:
        return known
    text = raw.strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a number") from None
    if value < 0:
        raise ConfigurationError(f"{name}={text!r} must not be negative")
    if len(_numbers) > 256:
        _numbers.clear()
    _numbers[(name, raw)] = value
    return value


def socket_timeout() -> float:
    """``RQJOBS_SOCKET_TIMEOUT`` in seconds (default 3)."""
    return _number("RQJOBS_SOCKET_TIMEOUT", DEFAULT_SOCKET_TIMEOUT)


def socket_connect_timeout() -> float:
    """``RQJOBS_SOCKET_CONNECT_TIMEOUT`` in seconds (default 2)."""
    return _number("RQJOBS_SOCKET_CONNECT_TIMEOUT", DEFAULT_SOCKET_CONNECT_TIMEOUT)


def retries() -> int:
    """``RQJOBS_RETRIES``: re-sends of a command after a connection error (default 3)."""
    return int(_number("RQJOBS_RETRIES", DEFAULT_RETRIES))


def raw_service_role() -> str:
    """``SERVICE_ROLE`` lower-cased and stripped; ``"all"`` when unset. Not validated here."""
    return getenv("SERVICE_ROLE", "").strip().lower() or "all"


DEFAULT_CALL_DEADLINE = 10.0
DEFAULT_HEARTBEAT_INTERVAL = 5.0
DEFAULT_ORPHAN_GRACE = 10.0
DEFAULT_HEALTH_MAX_QUEUES = 50
DEFAULT_SCHEDULED_OVERDUE = 60.0


def _positive_number(name: str, default: float) -> float:
    value = _number(name, default)
    if value <= 0:
        raise ConfigurationError(f"{name}={getenv(name)!r} must be positive")
    return value


def call_deadline() -> float:
    """``RQJOBS_CALL_DEADLINE``: seconds one runtime call may block in all (default 10)."""
    return _positive_number("RQJOBS_CALL_DEADLINE", DEFAULT_CALL_DEADLINE)


def heartbeat_interval() -> float:
    """``RQJOBS_HEARTBEAT_INTERVAL``: seconds between a running job's liveness beats (5).

    A started job whose beat is older than two intervals is dead for ``enqueue_with_dedupe``.
    """
    return _positive_number("RQJOBS_HEARTBEAT_INTERVAL", DEFAULT_HEARTBEAT_INTERVAL)


def orphan_grace() -> float:
    """``RQJOBS_ORPHAN_GRACE``: seconds a ``queued`` job found in no list is given (10).

    A worker pops the id, then marks the job started: in between the job is in no list.
    Only a job seen that way for longer than this is an orphan (its worker died).
    """
    return _positive_number("RQJOBS_ORPHAN_GRACE", DEFAULT_ORPHAN_GRACE)


def health_details() -> bool:
    """``RQJOBS_HEALTH_DETAILS``: ``0``/``false``/``no``/``off`` hides queue names, hosts, pids."""
    raw = getenv("RQJOBS_HEALTH_DETAILS", "").strip().lower()
    if raw in ("", "1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"RQJOBS_HEALTH_DETAILS={raw!r} is not valid; use 1 or 0")


def health_token() -> str | None:
    """``RQJOBS_HEALTH_TOKEN``: when set, health shows details only to a caller presenting it."""
    return getenv("RQJOBS_HEALTH_TOKEN", "").strip() or None


def health_max_queues() -> int:
    """``RQJOBS_HEALTH_MAX_QUEUES``: at most this many queues are listed by health (50)."""
    return int(_positive_number("RQJOBS_HEALTH_MAX_QUEUES", DEFAULT_HEALTH_MAX_QUEUES))


def scheduled_overdue() -> float:
    """``RQJOBS_SCHEDULED_OVERDUE``: a scheduled job later than this makes health degraded (60)."""
    return _positive_number("RQJOBS_SCHEDULED_OVERDUE", DEFAULT_SCHEDULED_OVERDUE)


DEFAULT_HEALTH_TIMEOUT = 0.5


def health_timeout() -> float:
    """``RQJOBS_HEALTH_TIMEOUT``: health's connect timeout in seconds (0.5; reads get twice).

    A bad value falls back to the default: a health check must answer, not fail on config.
    """
    try:
        return _positive_number("RQJOBS_HEALTH_TIMEOUT", DEFAULT_HEALTH_TIMEOUT)
    except ConfigurationError:
        return DEFAULT_HEALTH_TIMEOUT


def queue_environment() -> tuple[str | None, str | None, str | None]:
    """The raw ``REDIS_URL``, ``RQJOBS_QUEUES`` and ``RQJOBS_SERIALIZER``: what a cached queue
    depends on (read on every call; :func:`rqjobs.get_queue` keys its cache with it)."""
    return (getenv("REDIS_URL"), getenv("RQJOBS_QUEUES"), getenv("RQJOBS_SERIALIZER"))


def raw_call_deadline() -> str | None:
    """``RQJOBS_CALL_DEADLINE`` as written (the connection caches the parsed value by it)."""
    return getenv("RQJOBS_CALL_DEADLINE")


# -- replica acknowledgement (rqjobs.replication) ------------------------------------------

DEFAULT_MIN_REPLICAS = 0
DEFAULT_REPLICA_TIMEOUT_MS = 500


def min_replicas() -> int:
    """``RQJOBS_MIN_REPLICAS``: replicas that must hold each enqueue before it returns (0: off).

    With ``N > 0``, ``enqueue`` and ``enqueue_with_dedupe`` send ``WAIT N timeout`` after
    their script and raise :class:`rqjobs.errors.ReplicationTimeout` when fewer than ``N``
    replicas acknowledged in time.
    """
    value = _number("RQJOBS_MIN_REPLICAS", DEFAULT_MIN_REPLICAS)
    if value != int(value):
        raise ConfigurationError(
            f"RQJOBS_MIN_REPLICAS={getenv('RQJOBS_MIN_REPLICAS')!r} must be a whole number"
        )
    return int(value)


def replica_timeout_ms() -> int:
    """``RQJOBS_REPLICA_TIMEOUT_MS``: how long ``WAIT`` may block, in milliseconds (500).

    Must be positive. The wait is cut to the socket timeout minus 100 ms (WAIT's reply must
    arrive before the read times out) and to what the call's deadline leaves.
    """
    value = _positive_number("RQJOBS_REPLICA_TIMEOUT_MS", DEFAULT_REPLICA_TIMEOUT_MS)
    return int(value)
