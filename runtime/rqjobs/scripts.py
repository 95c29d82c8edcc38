"""The Lua scripts behind ``enqueue`` and ``enqueue_with_dedupe``.

Each script does one whole enqueue in one atomic step and one round trip: it writes the
job hash exactly as RQ's ``Job.to_dict()`` serialises it (the Python side builds the
field list from that public API), pushes the id onto ``rq:queue:<name>``, registers the
queue in ``rq:queues`` and bumps the cluster-wide counters in ``rqjobs:counters:*``.

Every call carries a random token that is stored in the job hash (field
``rqjobs_token``) and, for dedupe, as the lock's value. When a reply is lost and the
client re-sends the command, the script finds its own token and answers "already done"
(2) instead of pushing the id a second time.
"""

from __future__ import annotations

import hashlib
from typing import Any

from redis.exceptions import NoScriptError

TOKEN_FIELD = "rqjobs_token"  # spelled out in the Lua below
COUNTERS_ENQUEUED = "rqjobs:counters:enqueued"
COUNTERS_DEDUPE_HITS = "rqjobs:counters:dedupe_hits"

APPLIED = 1
ALREADY_APPLIED = 2
DUPLICATE_LOCK = 0
DUPLICATE_IN_FLIGHT = 3

ENQUEUE = """
-- KEYS: 1 job hash, 2 queue list, 3 rq:queues, 4 counters:enqueued
-- ARGV: 1 token, 2 push L/R, 3 job ttl (<=0: none), 4 queue name, 5 unique 1/0, 6 job id,
--       7 the HSET field/value pairs, packed (see pack_fields)
if redis.call('HGET', KEYS[1], 'rqjobs_token') == ARGV[1] then
    return 2
end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
redis.call('HSET', KEYS[1], unpack(cmsgpack.unpack(ARGV[7])))
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
end
if ARGV[2] == 'L' then
    redis.call('LPUSH', KEYS[2], ARGV[6])
else
    redis.call('RPUSH', KEYS[2], ARGV[6])
end
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
return 1
"""

# Terminal statuses: a job hash in any other state is still in flight (queued, started,
# deferred, scheduled, rate limited, ...), so a repeat of its event is a duplicate.
DEDUPE_ENQUEUE = """
-- KEYS: 1 lock, 2 job hash, 3 queue list, 4 rq:queues, 5 counters:enqueued,
--       6 counters:dedupe_hits, 7 finished registry, 8 failed registry, 9 canceled registry
-- ARGV: 1 token, 2 lock ttl, 3 push L/R, 4 job ttl (<=0: none), 5 queue name, 6 job id,
--       7 the HSET field/value pairs, packed (see pack_fields)
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
    return 2
end
if held then
    redis.call('HINCRBY', KEYS[6], ARGV[5], 1)
    return 0
end
local job = redis.call('HMGET', KEYS[2], 'status', 'rqjobs_token')
local status = job[1]
if job[2] == ARGV[1] then
    return 2
end
if status then
    if status ~= 'finished' and status ~= 'failed'
            and status ~= 'stopped' and status ~= 'canceled' then
        redis.call('HINCRBY', KEYS[6], ARGV[5], 1)
        return 3
    end
    -- An earlier run of this event is over and its window has passed: start afresh.
    redis.call('DEL', KEYS[2])
    redis.call('ZREM', KEYS[7], ARGV[6])
    redis.call('ZREM', KEYS[8], ARGV[6])
    redis.call('ZREM', KEYS[9], ARGV[6])
end
redis.call('HSET', KEYS[2], unpack(cmsgpack.unpack(ARGV[7])))
local ttl = tonumber(ARGV[4])
if ttl and ttl > 0 then
    redis.call('EXPIRE', KEYS[2], ttl)
end
if ARGV[3] == 'L' then
    redis.call('LPUSH', KEYS[3], ARGV[6])
else
    redis.call('RPUSH', KEYS[3], ARGV[6])
end
redis.call('SADD', KEYS[4], KEYS[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
return 1
"""

# KEYS: 1 lock, 2 job hash. Deletes the lock only while it still holds this job's token.
RELEASE_LOCK = """
local token = redis.call('HGET', KEYS[2], 'rqjobs_token')
if token and redis.call('GET', KEYS[1]) == token then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


_shas: dict[str, str] = {}


def run(source: str, client: Any, keys: list[Any], args: list[Any]) -> Any:
    """Run ``source`` on ``client`` with EVALSHA, loading it once after NOSCRIPT.

    A server restart (or ``SCRIPT FLUSH``) empties Redis's script cache; the NOSCRIPT reply
    makes this load the script and send EVALSHA again. Loading is idempotent.
    """
    sha = _shas.get(source)
    if sha is None:
        sha = _shas[source] = hashlib.sha1(source.encode("utf-8")).hexdigest()
    try:
        return client.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        client.script_load(source)
        return client.evalsha(sha, len(keys), *keys, *args)


_STR32 = b"\xdb"


def _as_bytes(value: Any) -> bytes:
    """What redis-py would send for ``value`` (its ``Encoder.encode`` rules)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, (int, float)):
        return repr(value).encode()
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"cannot write a {type(value).__name__} into a job hash")


def pack_fields(flat: list[Any]) -> bytes:
    """``flat`` (field, value, ...) as one MessagePack array of raw strings.

    One argument instead of ~30 makes the command cheaper to build and parse; the scripts
    unpack it with Redis's (and Valkey's) built-in ``cmsgpack``. Each item is a str32
    (``0xdb`` + 4-byte length + bytes), which carries arbitrary bytes (RQ's zlib data).
    """
    parts = [b"\xdd" + len(flat).to_bytes(4, "big")]
    append = parts.append
    for item in flat:
        data = _as_bytes(item)
        append(_STR32 + len(data).to_bytes(4, "big"))
        append(data)
    return b"".join(parts)


def hset_args(mapping: dict[str, Any], *, fresh: bool = False) -> list[Any]:
    """Flatten a ``Job.to_dict()`` mapping into HSET field/value arguments (``None`` dropped).

    ``fresh=True`` (the hash does not exist yet) also drops empty strings: ``to_dict()``
    writes ``''`` for ``started_at``, ``worker_name``, callback names, ... only to clear an
    older hash, and RQ (2 and 3) reads a missing field exactly like an empty one.
    """
    flat: list[Any] = []
    append = flat.append
    for field, value in mapping.items():
        if value is None or (fresh and value == ""):
            continue
        if value is True or value is False:
            value = int(value)
        append(field)
        append(value)
    return flat
