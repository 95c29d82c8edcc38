"""Redis Sentinel URLs: ``redis+sentinel://`` for every ``rqjobs`` client.

Forms (the ``redis-sentinel-url`` package's, which several RQ dashboards accept)::

    redis+sentinel://host1:26379,host2:26379,host3:26379/mymaster
    redis+sentinel://host1,host2/mymaster/2                    # port 26379, database 2
    redis+sentinel://:password@host1:26379,host2:26379/mymaster  # the data nodes' password
    redis+sentinel://user:password@host1:26379/mymaster          # an ACL user
    rediss+sentinel://host1:26379/mymaster                      # TLS to data nodes and sentinels
    redis+sentinel://[::1]:26379/mymaster?db=3

The userinfo is the password (and ACL user) of the master and replicas, not of the
sentinels. Query options:

============================== ========================================================
``sentinel_password``          the sentinels' own password (``requirepass`` of sentinel)
``sentinel_username``          the sentinels' ACL user
``ssl``                        ``true``: TLS to the data nodes (as ``rediss+sentinel://``)
``sentinel_ssl``               TLS to the sentinels (default: the same as ``ssl``)
``ssl_cert_reqs``              ``none`` / ``optional`` / ``required`` (default required)
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_check_hostname``: as redis-py
``socket_timeout``             seconds, reads on the data nodes (overrides RQJOBS_SOCKET_TIMEOUT)
``socket_connect_timeout``     seconds, connects to the data nodes
``sentinel_socket_timeout``    seconds, a sentinel's reply (default min(socket timeout, 1))
``sentinel_socket_connect_timeout`` seconds, a connect to a sentinel (default min(.., 1))
``min_other_sentinels``        ignore a sentinel that sees fewer peers (default 0)
``db``                         the database (or the path's second part)
``client_name``, ``max_connections``: as redis-py
============================== ========================================================

How the client follows a promotion: the pool is redis-py's ``SentinelConnectionPool``.
Every new connection asks the sentinels for the master (``SENTINEL MASTERS``; a master
that a sentinel sees down is not taken); a dead master's connections fail
(``ConnectionError``), a demoted master's ``READONLY`` reply closes the connection
(redis-py turns it into a ``ConnectionError``), and the command's :class:`DeadlineRetry`
reconnects, which discovers the new master. All of it, sentinel queries included, runs
under the call's one deadline (``RQJOBS_CALL_DEADLINE``): a sentinel query never starts
after the deadline and each sentinel is asked once per discovery (no retries of its own).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from .errors import ConfigurationError

__all__ = [
    "SENTINEL_SCHEMES",
    "DEFAULT_SENTINEL_PORT",
    "SentinelConfig",
    "is_sentinel_url",
    "parse_sentinel_url",
    "build_sentinel_client",
    "sentinel_url_from_config",
    "sentinel_report",
]

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379
SENTINEL_TIMEOUT_CAP = 1.0

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f", "")
_FLOATS = (
    "socket_timeout",
    "socket_connect_timeout",
    "sentinel_socket_timeout",
    "sentinel_socket_connect_timeout",
)
_INTS = ("db", "min_other_sentinels", "max_connections")
_BOOLS = ("ssl", "sentinel_ssl", "ssl_check_hostname")
_STRINGS = (
    "password",
    "username",
    "sentinel_password",
    "sentinel_username",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "client_name",
)
KNOWN_OPTIONS = _FLOATS + _INTS + _BOOLS + _STRINGS
_SSL_OPTIONS = (
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
)


@dataclass
class SentinelConfig:
    """What a ``redis+sentinel://`` URL says (see the module docstring)."""

    sentinels: list[tuple[str, int]]
    service_name: str
    db: int = 0
    username: Optional[str] = None
    password: Optional[str] = None
    ssl: bool = False
    sentinel_ssl: bool = False
    sentinel_username: Optional[str] = None
    sentinel_password: Optional[str] = None
    min_other_sentinels: int = 0
    #: options for the data-node connections (timeouts, TLS files, client_name, ...)
    options: dict[str, Any] = field(default_factory=dict)
    #: ``sentinel_socket_timeout`` / ``sentinel_socket_connect_timeout`` when given
    sentinel_options: dict[str, Any] = field(default_factory=dict)


def is_sentinel_url(url: str) -> bool:
    """``True`` for ``redis+sentinel://`` and ``rediss+sentinel://`` URLs."""
    scheme = url.split("://", 1)[0].strip().lower() if "://" in url else ""
    return scheme in SENTINEL_SCHEMES


def _bad(url: str, why: str) -> ConfigurationError:
    from .connection import redact_url

    return ConfigurationError(
        f"REDIS_URL {redact_url(url)!r} is not a valid Sentinel URL: {why} (expected "
        "redis+sentinel://[:password@]host1:port1,host2:port2/service_name[/db])"
    )


def _host_port(url: str, item: str) -> tuple[str, int]:
    item = item.strip()
    if not item:
        raise _bad(url, "an empty sentinel address (two commas, or a trailing comma)")
    if item.startswith("["):
        end = item.find("]")
        if end < 0:
            raise _bad(url, f"unclosed IPv6 address {item!r}")
        host, rest = item[1:end], item[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad(url, f"{host!r} is not an IPv6 address") from None
        if rest and not rest.startswith(":"):
            raise _bad(url, f"unexpected {rest!r} after the IPv6 address")
        has_port, port_text = bool(rest), rest[1:]
    else:
        if item.count(":") > 1:
            raise _bad(url, f"write an IPv6 sentinel address in brackets: [{item}]")
        host, colon, port_text = item.partition(":")
        has_port = bool(colon)
        if not host:
            raise _bad(url, f"sentinel address {item!r} has no host")
    if not has_port:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _bad(url, f"sentinel port {port_text!r} is not a port number (1-65535)")
    return host, int(port_text)


def _option(url: str, name: str, value: str) -> Any:
    if name in _FLOATS:
        try:
            number = float(value)
        except ValueError:
            raise _bad(url, f"{name}={value!r} is not a number of seconds") from None
        if not number > 0:
            raise _bad(url, f"{name}={value!r} must be positive")
        return number
    if name in _INTS:
        if not value.isdigit():
            raise _bad(url, f"{name}={value!r} is not a non-negative integer")
        return int(value)
    if name in _BOOLS:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _bad(url, f"{name}={value!r} is not a boolean (true/false)")
    if name == "ssl_cert_reqs" and value.lower() not in ("none", "optional", "required"):
        raise _bad(url, f"ssl_cert_reqs={value!r}: use none, optional or required")
    return value


def parse_sentinel_url(url: str) -> SentinelConfig:
    """Parse a ``redis+sentinel://`` URL; :class:`ConfigurationError` (one line, password
    redacted) for a bad one."""
    text = url.strip()
    if not is_sentinel_url(text):
        raise _bad(url, "the scheme must be redis+sentinel:// or rediss+sentinel://")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise _bad(url, str(exc).split(":")[0]) from None
    if parts.fragment:
        raise _bad(url, "a '#' fragment is not allowed")
    netloc = parts.netloc
    userinfo, _, hostinfo = netloc.rpartition("@")
    username: Optional[str] = None
    password: Optional[str] = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        if colon:
            username = unquote(user) or None
            password = unquote(secret) or None
        else:
            password = unquote(user) or None  # redis+sentinel://secret@host: password only
    if not hostinfo:
        raise _bad(url, "no sentinel host")
    sentinels = [_host_port(url, item) for item in hostinfo.split(",")]
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path
    segments = [unquote(segment) for segment in path.split("/")[1:]]
    if not segments or not segments[0]:
        raise _bad(url, "no service name (the master's name in sentinel.conf) after the hosts")
    if len(segments) > 2:
        raise _bad(url, f"unexpected path {parts.path!r}: use /service_name or /service_name/db")
    config = SentinelConfig(sentinels=sentinels, service_name=segments[0])
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise _bad(url, f"database {segments[1]!r} is not a number")
        config.db = int(segments[1])
    config.ssl = parts.scheme.lower() == "rediss+sentinel"
    seen: set[str] = set()
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in KNOWN_OPTIONS:
            raise _bad(url, f"unknown option {name!r} (known: {', '.join(sorted(KNOWN_OPTIONS))})")
        if name in seen:
            raise _bad(url, f"option {name!r} is given twice")
        seen.add(name)
        parsed = _option(url, name, value)
        if name == "db":
            config.db = parsed
        elif name == "ssl":
            config.ssl = config.ssl or parsed
        elif name == "sentinel_ssl":
            config.sentinel_ssl = parsed
        elif name == "password":
            password = parsed or password
        elif name == "username":
            username = parsed or username
        elif name == "sentinel_password":
            config.sentinel_password = parsed or None
        elif name == "sentinel_username":
            config.sentinel_username = parsed or None
        elif name == "min_other_sentinels":
            config.min_other_sentinels = parsed
        elif name.startswith("sentinel_socket"):
            config.sentinel_options[name[len("sentinel_") :]] = parsed
        else:
            config.options[name] = parsed
    if "sentinel_ssl" not in seen:
        config.sentinel_ssl = config.ssl
    config.username, config.password = username, password
    return config


class SentinelNodeRedis(redis.Redis):
    """The client of one sentinel: one attempt per query, never after the call's deadline."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        from .connection import current_call_deadline

        state = current_call_deadline()
        if state is not None and state.remaining() <= 0:
            raise RedisTimeoutError(
                "rqjobs call deadline passed before the sentinel could be asked for the "
                "master (RQJOBS_CALL_DEADLINE)"
            )
        return super().execute_command(*args, **options)


_NO_RETRY = Retry(NoBackoff(), 0)


def _sentinel_kwargs(config: SentinelConfig, data: dict[str, Any]) -> dict[str, Any]:
    def capped(name: str) -> float:
        given = config.sentinel_options.get(name)
        if given is not None:
            return float(given)
        value = data.get(name)
        return SENTINEL_TIMEOUT_CAP if not value else min(float(value), SENTINEL_TIMEOUT_CAP)

    kwargs: dict[str, Any] = {
        "socket_timeout": capped("socket_timeout"),
        "socket_connect_timeout": capped("socket_connect_timeout"),
        "retry": _NO_RETRY,
        "health_check_interval": 0,
    }
    if config.sentinel_password:
        kwargs["password"] = config.sentinel_password
    if config.sentinel_username:
        kwargs["username"] = config.sentinel_username
    if config.sentinel_ssl:
        kwargs["ssl"] = True
        for name in _SSL_OPTIONS:
            if name in data:
                kwargs[name] = data[name]
    return kwargs


def master_options(config: SentinelConfig, options: dict[str, Any]) -> dict[str, Any]:
    """The master connection's options: the runtime's ``options`` with the URL's own query
    options, db and credentials over them (as ``Redis.from_url`` does); TLS-only options
    are dropped when the master is not reached over TLS."""
    data = dict(options)
    data.update(config.options)
    data["db"] = config.db
    if config.password is not None:
        data["password"] = config.password
    if config.username is not None:
        data["username"] = config.username
    if config.ssl:
        data["ssl"] = True
    elif not data.get("ssl"):
        data.pop("ssl_check_hostname", None)
    return data


def build_sentinel_client(
    url: str,
    options: dict[str, Any],
    redis_class: type[redis.Redis],
    *,
    rebuild_retry: Any = None,
) -> tuple[redis.Redis, list[redis.Redis]]:
    """A ``redis_class`` client on the master of the URL's service, and its sentinel clients.

    ``options`` are the runtime's connection options (timeouts, ``retry``, ...); the URL's
    own query options override them, as with ``Redis.from_url``. ``rebuild_retry(connect,
    socket)``, when given, makes the retry again from the final timeouts.
    """
    config = parse_sentinel_url(url)
    data = master_options(config, options)
    if rebuild_retry is not None:
        data["retry"] = rebuild_retry(
            data.get("socket_connect_timeout"), data.get("socket_timeout")
        )
    manager = Sentinel(
        config.sentinels,
        min_other_sentinels=config.min_other_sentinels,
        sentinel_kwargs={},  # replaced below by our own clients
    )
    sentinel_kwargs = _sentinel_kwargs(config, data)
    manager.sentinel_kwargs = sentinel_kwargs
    manager.sentinels = [
        SentinelNodeRedis(host, port, **sentinel_kwargs) for host, port in config.sentinels
    ]
    manager.connection_kwargs = {}
    pool = SentinelConnectionPool(config.service_name, manager, **data)
    client = redis_class(connection_pool=pool)
    client.auto_close_connection_pool = True
    client.rqjobs_sentinel = manager  # type: ignore[attr-defined]
    client.rqjobs_service_name = config.service_name  # type: ignore[attr-defined]
    return client, list(manager.sentinels)


def sentinel_url_from_config(sentinel: dict[str, Any]) -> str:
    """A ``redis+sentinel://`` URL for rq's ``SENTINEL`` settings dict (``-c`` modules).

    Keys as rq reads them: ``INSTANCES`` (``[(host, port), ...]``, default
    ``[('localhost', 26379)]``), ``MASTER_NAME`` (``mymaster``), ``DB`` (0), ``USERNAME``,
    ``PASSWORD``, ``SOCKET_TIMEOUT``, ``SSL``, ``CONNECTION_KWARGS`` (only the URL's query
    options) and ``SENTINEL_KWARGS`` (``password``, ``username``, ``socket_timeout``,
    ``socket_connect_timeout``, ``ssl``). Anything else is a :class:`ConfigurationError`.
    """
    from urllib.parse import quote, urlencode

    if not isinstance(sentinel, dict):
        raise ConfigurationError("SENTINEL must be a dict (rq's -c settings format)")
    instances = sentinel.get("INSTANCES") or [("localhost", DEFAULT_SENTINEL_PORT)]
    hosts = []
    for instance in instances:
        try:
            host, port = instance
            port = int(port)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"SENTINEL['INSTANCES'] entry {instance!r} is not a (host, port) pair"
            ) from None
        host = str(host)
        hosts.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    userinfo = ""
    password = sentinel.get("PASSWORD")
    username = sentinel.get("USERNAME")
    if password:
        userinfo = f"{quote(str(username or ''), safe='')}:{quote(str(password), safe='')}@"
    query: list[tuple[str, str]] = []
    if sentinel.get("SOCKET_TIMEOUT") is not None:
        query.append(("socket_timeout", str(sentinel["SOCKET_TIMEOUT"])))
    for name, value in dict(sentinel.get("CONNECTION_KWARGS") or {}).items():
        if name not in KNOWN_OPTIONS or name.startswith("sentinel_"):
            supported = ", ".join(n for n in KNOWN_OPTIONS if not n.startswith("sentinel_"))
            raise ConfigurationError(
                f"SENTINEL['CONNECTION_KWARGS'][{name!r}] is not supported by rqjobs "
                f"(supported: {supported})"
            )
        query.append((name, _query_value(value)))
    for name, value in dict(sentinel.get("SENTINEL_KWARGS") or {}).items():
        target = f"sentinel_{name}"
        if target not in KNOWN_OPTIONS:
            raise ConfigurationError(
                f"SENTINEL['SENTINEL_KWARGS'][{name!r}] is not supported by rqjobs "
                "(supported: password, username, socket_timeout, socket_connect_timeout, ssl)"
            )
        query.append((target, _query_value(value)))
    scheme = "rediss+sentinel" if sentinel.get("SSL") else "redis+sentinel"
    master = quote(str(sentinel.get("MASTER_NAME") or "mymaster"), safe="")
    url = f"{scheme}://{userinfo}{','.join(hosts)}/{master}/{int(sentinel.get('DB') or 0)}"
    if query:
        url += "?" + urlencode(query)
    parse_sentinel_url(url)  # one clear line now rather than at the first command
    return url


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sentinel_report(client: Any, timeout: float) -> Optional[dict[str, Any]]:
    """For health: the current master as the sentinels say, and which sentinels answer.

    ``None`` for a client that is not built from a Sentinel URL. Each sentinel is asked
    ``SENTINEL GET-MASTER-ADDR-BY-NAME`` once with ``timeout`` seconds (connect and read).
    ``{"service": ..., "master": "host:port" or None, "sentinels": [{"address", "reachable",
    "master"}...], "reachable": n, "configured": m, "agree": bool}``.
    """
    manager = getattr(client, "rqjobs_sentinel", None)
    service = getattr(client, "rqjobs_service_name", None)
    if manager is None or service is None:
        return None
    entries = []
    seen_masters: set[str] = set()
    for node in list(manager.sentinels):
        kwargs = node.connection_pool.connection_kwargs
        address = f"{kwargs.get('host')}:{kwargs.get('port')}"
        entry: dict[str, Any] = {"address": address, "reachable": False, "master": None}
        probe_kwargs = {
            k: v
            for k, v in kwargs.items()
            if k in ("host", "port", "password", "username") or k.startswith("ssl")
        }
        probe = redis.Redis(
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=_NO_RETRY,
            health_check_interval=0,
            **probe_kwargs,
        )
        try:
            reply = probe.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service)
            entry["reachable"] = True
            if reply:
                host, port = (v.decode() if isinstance(v, bytes) else str(v) for v in reply)
                entry["master"] = f"{host}:{port}"
                seen_masters.add(entry["master"])
        except Exception as exc:  # noqa: BLE001 - a report, never a failure
            entry["error"] = type(exc).__name__
        finally:
            probe.close()
        entries.append(entry)
    reachable = sum(1 for entry in entries if entry["reachable"])
    master = next(iter(seen_masters)) if len(seen_masters) == 1 else None
    return {
        "service": service,
        "master": master,
        "sentinels": entries,
        "reachable": reachable,
        "configured": len(entries),
        "agree": len(seen_masters) == 1,
    }
