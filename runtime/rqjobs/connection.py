"""One Redis client per process and per set of options.

:func:`get_redis` builds a client from ``REDIS_URL`` the first time it is asked for and
returns the same object afterwards (thread-safe). Different keyword options, for example
``decode_responses=True`` for a cache, get their own cached client, so a legacy call site
keeps its behaviour when it moves to the wrapper.

Timeouts and the retry policy are explicit (see :mod:`rqjobs.settings`), not redis-py's
defaults (10 silent re-sends). Re-sends are safe for what ``rqjobs`` writes itself: its
enqueue scripts recognise a command they already applied (see :mod:`rqjobs.scripts`).

After ``fork()`` (RQ's work horse forks) the child never reuses the parent's sockets: the
cache is keyed by process id and emptied in the child.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from . import settings
from .errors import ConfigurationError

__all__ = ["get_redis", "reset_redis", "redact_url", "default_options"]

_lock = threading.Lock()
_clients: dict[Any, redis.Redis] = {}
_pid = os.getpid()
_reset_hooks: list[Any] = []

REDACTED = "***"


def is_secret_option(name: str) -> bool:
    """``password`` and any ``*_password`` option (``ssl_password``, the key's passphrase)."""
    lowered = name.lower()
    return lowered == "password" or lowered.endswith("_password")


def url_secrets(url: str) -> list[str]:
    """The secret values in ``url``: the userinfo password and every secret query option."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
        if parts.username and not parts.password and parts.scheme.startswith("redis"):
            found.append(parts.username)  # redis://secret@host: a password-only URL
        pairs = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return []
    found += [value for key, value in pairs if is_secret_option(key) and value]
    return found


def redact_url(url: str) -> str:
    """``url`` with any password (userinfo, ``?password=``, ``?ssl_password=``) replaced by
    ``***``.

    Use it for every log line, exception message and health report that shows a URL.
    An unparseable URL is returned as ``"<unparseable Redis URL>"``.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostinfo = netloc.rpartition("@")
            if ":" in userinfo:
                user = userinfo.split(":", 1)[0]
                userinfo = f"{user}:{REDACTED}"
            elif userinfo and parts.scheme.startswith("redis"):
                # redis://secret@host is a password-only URL for redis-py.
                userinfo = REDACTED
            netloc = f"{userinfo}@{hostinfo}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(is_secret_option(key) for key, _ in pairs):
                query = urlencode(
                    [(key, REDACTED if is_secret_option(key) else value) for key, value in pairs],
                    safe="*",
                )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparseable Redis URL>"


def default_options() -> dict[str, Any]:
    """The explicit connection options every client gets unless the caller overrides them.

    ``socket_timeout``/``socket_connect_timeout`` (5 s), a jittered exponential backoff of
    50 ms .. 1 s with ``RQJOBS_RETRIES`` (3) re-sends on connection errors and timeouts, and
    ``health_check_interval`` 30 s (a PING before reusing a connection idle that long).
    """
    return {
        "socket_timeout": settings.socket_timeout(),
        "socket_connect_timeout": settings.socket_connect_timeout(),
        "retry": Retry(ExponentialWithJitterBackoff(cap=1.0, base=0.05), settings.retries()),
        "health_check_interval": 30,
    }


def _option_key(options: dict[str, Any]) -> tuple[Any, ...]:
    items = []
    for name in sorted(options):
        value = options[name]
        try:
            hash(value)
        except TypeError:
            value = ("id", id(value))
        items.append((name, value))
    return tuple(items)


def _forget_after_fork() -> None:
    """In a forked child: drop the parent's clients without touching their sockets."""
    global _lock, _pid
    _lock = threading.Lock()
    _clients.clear()
    _pid = os.getpid()
    for hook in list(_reset_hooks):
        hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def get_redis(**options: Any) -> redis.Redis:
    """The process's client for ``REDIS_URL``, created on first use.

    ``options`` are any ``redis.Redis.from_url`` keywords (``decode_responses``,
    ``socket_timeout``, ``client_name``, ``max_connections``, ``retry``, ...); they override
    :func:`default_options`. Each distinct set of options has its own cached client.
    Creating the client does not connect; the first command does.

    Raises :class:`rqjobs.errors.ConfigurationError` (a ``ValueError``) when ``REDIS_URL``
    is malformed; the message shows the URL with its password redacted.
    """
    url = settings.redis_url()
    if os.getpid() != _pid:
        _forget_after_fork()
    key = (url, _option_key(options))
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            merged = default_options()
            merged.update(options)
            try:
                client = redis.Redis.from_url(url, **merged)
            except ValueError as exc:
                raise ConfigurationError(
                    f"REDIS_URL {redact_url(url)!r} is not a valid Redis URL "
                    "(expected redis://, rediss:// or unix://)"
                ) from _scrub(exc, url)
            _clients[key] = client
        return client


def _scrub(exc: BaseException, url: str) -> BaseException | None:
    """The chained cause, unless its text could contain the URL (and so the password)."""
    text = str(exc)
    parsed_password = None
    try:
        parsed_password = urlsplit(url).password
    except ValueError:
        return None
    if url in text or (parsed_password and parsed_password in text):
        return None
    return exc


def reset_redis() -> None:
    """Close and forget every cached client (and the queues built on them)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a broken client must not raise
            pass
    for hook in list(_reset_hooks):
        hook()


def on_reset(hook: Any) -> None:
    """Register ``hook()`` to run on :func:`reset_redis` and in a forked child (internal use)."""
    _reset_hooks.append(hook)


def current_url_redacted() -> str:
    """``REDIS_URL`` as it is safe to show."""
    return redact_url(settings.redis_url())
