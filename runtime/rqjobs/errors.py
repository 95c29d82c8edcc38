"""Exceptions raised by the ``rqjobs`` runtime.

Every error that is about configuration is also a ``ValueError`` so that call sites
which already catch ``ValueError`` for bad input keep working.
"""

from __future__ import annotations


class RqjobsError(Exception):
    """Base class of every exception defined by ``rqjobs``."""


class ConfigurationError(RqjobsError, ValueError):
    """A setting (``REDIS_URL``, ``SERVICE_ROLE``, ``RQJOBS_QUEUES``, ...) is invalid.

    The message names the setting and the valid values. A Redis URL in it is redacted.
    """


class UnknownQueueError(ConfigurationError):
    """A queue name is not in the ``RQJOBS_QUEUES`` allow-list (message lists the allowed ones)."""


class InvalidDedupeKeyError(RqjobsError, ValueError):
    """A dedupe key is empty, blank, has an empty part (``webhook:baileys:``) or is not a string."""


class RoleViolation(RqjobsError, RuntimeError):
    """Code that needs a capability ran in a service role that does not have it."""


try:  # redis-py is a hard dependency; the guard keeps this module importable on its own.
    from redis.exceptions import ConnectionError as _RedisConnectionError
except ImportError:  # pragma: no cover
    _RedisConnectionError = ConnectionError  # type: ignore[misc,assignment]


class RedisUnavailable(RqjobsError, _RedisConnectionError):
    """Redis could not be reached (after the configured retries).

    A subclass of ``redis.exceptions.ConnectionError``, so existing ``except`` clauses still
    match. Its message names the redacted URL, never the password. A webhook handler should
    answer 5xx so that the provider retries the delivery.
    """


try:  # RQ >= 2.7 (or so) has it; older RQ 2 releases do not.
    from rq.exceptions import DuplicateJobError
except ImportError:  # pragma: no cover - depends on the installed RQ

    class DuplicateJobError(RqjobsError):  # type: ignore[no-redef]
        """``unique=True`` and a job with that id exists (RQ's own class when it has one)."""
