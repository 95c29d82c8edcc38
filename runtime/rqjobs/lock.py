"""The scheduler's TTL-only cycle lock.

One key per cycle: ``rqjobs:scheduler:lock:{cycle}`` where ``cycle = floor(now / tick)``.
The winner of a cycle is whoever ``SET key token NX EX ttl`` first; the key is never deleted
by hand, it expires. Because the next cycle has a new key, a holder that crashes costs at most
the rest of its own cycle: the next tick's lock is free for anyone (one-tick failover), while a
single fixed key would block everybody until its TTL ran out.

The token names the holder (``host:pid:random``). Extending a lock compares the token first
(one Lua script), so a holder can never extend a lock somebody else took after its own expired.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any, Optional

from . import scripts
from .keys import SCHEDULER_LOCK_PREFIX
from .replies import text_or_none as _text

__all__ = [
    "LOCK_KEY_PREFIX",
    "DEFAULT_LOCK_TTL",
    "cycle_lock_key",
    "make_holder_token",
    "try_acquire_scheduler_lock",
    "extend_scheduler_lock",
    "get_lock_holder",
]

LOCK_KEY_PREFIX = SCHEDULER_LOCK_PREFIX
DEFAULT_LOCK_TTL = 90

# KEYS[1] lock key; ARGV[1] token; ARGV[2] ttl seconds.
# Returns 1 when the caller holds the lock and its TTL was set, 0 otherwise.
_EXTEND_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def cycle_lock_key(cycle: int) -> str:
    """``rqjobs:scheduler:lock:{cycle}``."""
    return f"{LOCK_KEY_PREFIX}{int(cycle)}"


def make_holder_token() -> str:
    """``host:pid:random``: who holds a lock, readable in ``redis-cli GET``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def try_acquire_scheduler_lock(
    redis: Any, key: str, ttl: int = DEFAULT_LOCK_TTL, token: Optional[str] = None
) -> Optional[str]:
    """Try to take ``key`` for ``ttl`` seconds: ``SET key token NX EX ttl``.

    Returns the token when this caller holds the lock, ``None`` when somebody else does.
    If the SET's reply was lost and the client re-sent it, the re-send sees the key already
    set; a ``GET`` then recognises our own token, so a lost reply never loses a cycle.
    The lock is never released by hand: it expires after ``ttl``.
    """
    if ttl <= 0:
        raise ValueError(f"lock ttl must be positive, got {ttl!r}")
    token = token or make_holder_token()
    if redis.set(key, token, nx=True, ex=int(ttl)):
        return token
    if _text(redis.get(key)) == token:
        return token
    return None


def extend_scheduler_lock(redis: Any, key: str, token: str, ttl: int = DEFAULT_LOCK_TTL) -> bool:
    """Set ``key``'s TTL to ``ttl`` seconds only if it still holds ``token`` (one Lua script).

    Returns ``False`` when the lock expired or belongs to someone else (nothing is changed).
    """
    return bool(scripts.run(_EXTEND_IF_OWNER, redis, [key], [token, int(ttl)]))


def get_lock_holder(redis: Any, key: str) -> Optional[str]:
    """The token stored in ``key`` (``host:pid:random``), or ``None`` when free."""
    return _text(redis.get(key))
