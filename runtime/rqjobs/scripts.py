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

from . import keys

TOKEN_FIELD = "rqjobs_token"  # spelled out in the Lua below
COUNTERS_ENQUEUED = keys.COUNTERS_ENQUEUED
COUNTERS_DEDUPE_HITS = keys.COUNTERS_DEDUPE_HITS

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

# Does a job still hold its event? One Lua function, shared by the enqueue script and the
# read-only status script, so ``enqueue_with_dedupe`` and ``rqjobs dedupe show`` can never
# disagree. It reads only; the callers decide what to write. The rule, per rq status:
#
# queued     holds while the id is in ``<p>:queue:<origin>`` or its ``:intermediate`` list. In
#            neither, a worker has popped it and not marked it started yet, or died in
#            between (BLPOP of a multi-queue worker): seen that way for ``grace`` seconds
#            (the first sighting is stamped in ``rqjobs_orphan_seen``), it is an orphan.
# started    holds while the job beats: an rqjobs worker refreshes ``rqjobs:alive:<id>``;
#            any other worker's job holds while rq's own execution registry
#            ``<p>:executions:<id>`` has an entry that has not expired.
# scheduled  holds while in ``<p>:scheduled:<origin>`` and an rq scheduler holds
#            ``<p>:scheduler-lock:<origin>`` (someone will move it back to its queue).
# deferred   holds while in ``<p>:deferred:<origin>``.
# finished   holds inside the dedupe window (the lock exists), and the lock is marked
#            ``done:`` by the job's success callback, so it still holds after rq drops the hash.
# failed     holds inside the window only with ``release_on_failure=False`` (``rqjobs_keep``).
# stopped, canceled, gone (no hash): never hold.  Any other status (rate limited, ...) holds.
DEDUPE_STATE = """
local function rqjobs_now()
    local t = redis.call('TIME')
    return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- -> holds (bool), state, stamp to write (or false), origin (or false)
local function job_state(job_key, job_id, p, grace, now)
    local f = redis.call('HMGET', job_key, 'status', 'origin', 'rqjobs_beat', 'worker_name',
                         'rqjobs_orphan_seen', 'enqueued_at', 'rqjobs_keep')
    local status, origin = f[1], f[2] or ''
    if not status then
        return false, 'gone', false, false
    end
    if status == 'queued' then
        local queue = p .. ':queue:' .. origin
        if redis.call('LPOS', queue, job_id, 'RANK', -1)
                or redis.call('LPOS', queue .. ':intermediate', job_id) then
            return true, 'queued', false, origin
        end
        local stamp = (f[6] or '') .. '|'
        local seen = f[5]
        if seen and string.sub(seen, 1, #stamp) == stamp then
            if now - tonumber(string.sub(seen, #stamp + 1)) >= grace then
                return false, 'orphaned', false, origin
            end
            return true, 'popped', false, origin
        end
        return true, 'popped', stamp .. string.format('%.3f', now), origin
    end
    if status == 'started' then
        if f[3] and f[3] == f[4] then
            if redis.call('EXISTS', 'rqjobs:alive:' .. job_id) == 1 then
                return true, 'started', false, origin
            end
            return false, 'dead', false, origin
        end
        local live = redis.call('ZRANGEBYSCORE', p .. ':executions:' .. job_id, now, '+inf',
                                'LIMIT', 0, 1)
        if #live > 0 then
            return true, 'started', false, origin
        end
        return false, 'dead', false, origin
    end
    if status == 'scheduled' then
        if not redis.call('ZSCORE', p .. ':scheduled:' .. origin, job_id) then
            return false, 'orphaned', false, origin
        end
        if redis.call('EXISTS', p .. ':scheduler-lock:' .. origin) == 1 then
            return true, 'scheduled', false, origin
        end
        return false, 'unscheduled', false, origin
    end
    if status == 'deferred' then
        if redis.call('ZSCORE', p .. ':deferred:' .. origin, job_id) then
            return true, 'deferred', false, origin
        end
        return false, 'orphaned', false, origin
    end
    if status == 'finished' then
        return 'window', 'finished', false, origin
    end
    if status == 'failed' then
        if f[7] == '1' then
            return 'window', 'failed', false, origin
        end
        return false, 'failed', false, origin
    end
    if status == 'stopped' or status == 'canceled' then
        return false, status, false, origin
    end
    return true, status, false, origin
end

-- -> code (0 lock held, 3 in flight without a lock, 1 free to enqueue, 2 this call's own),
--    state, stamp, origin (or false when there is no job hash)
local function dedupe_decide(lock_key, job_key, job_id, token, p, grace)
    local held = redis.call('GET', lock_key)
    if held and held == token then
        return 2, 'own', false, false
    end
    if redis.call('HGET', job_key, 'rqjobs_token') == token then
        return 2, 'own', false, false
    end
    if held and string.sub(held, 1, 5) == 'done:' then
        return 0, 'finished', false, false
    end
    local holds, state, stamp, origin = job_state(job_key, job_id, p, grace, rqjobs_now())
    if holds == 'window' then
        holds = held and true or false
    end
    if holds then
        return held and 0 or 3, state, stamp, origin
    end
    if state == 'gone' and not held then
        state = 'free'
    end
    return 1, state, false, origin
end

-- The stale record of a job that no longer holds its event, out of every rq structure.
local function clear_job(job_key, job_id, p, origin)
    local wip = p .. ':wip:' .. origin
    for _, execution in ipairs(redis.call('ZRANGE', p .. ':executions:' .. job_id, 0, -1)) do
        redis.call('ZREM', wip, job_id .. ':' .. execution)
    end
    redis.call('DEL', job_key, p .. ':executions:' .. job_id, p .. ':results:' .. job_id,
               'rqjobs:alive:' .. job_id)
    for _, kind in ipairs({'finished', 'failed', 'canceled', 'scheduled', 'deferred'}) do
        redis.call('ZREM', p .. ':' .. kind .. ':' .. origin, job_id)
    end
    redis.call('LREM', p .. ':queue:' .. origin .. ':intermediate', 0, job_id)
end

-- Writes that only count or stamp: a refused write (OOM, READONLY) must not turn a
-- duplicate into an error, so they go through pcall.
local function soft_hit(counters, queue_name)
    redis.pcall('HINCRBY', counters, queue_name, 1)
end
"""

DEDUPE_ENQUEUE = DEDUPE_STATE + """
-- KEYS: 1 lock, 2 job hash, 3 queue list, 4 rq:queues, 5 counters:enqueued,
--       6 counters:dedupe_hits
-- ARGV: 1 token, 2 lock ttl, 3 push L/R, 4 job ttl (<=0: none), 5 queue name, 6 job id,
--       7 the HSET field/value pairs, packed (see pack_fields), 8 rq key prefix,
--       9 orphan grace (seconds)
local code, state, stamp, origin = dedupe_decide(KEYS[1], KEYS[2], ARGV[6], ARGV[1], ARGV[8],
                                                 tonumber(ARGV[9]))
if code == 2 then
    return {2, state}
end
if code ~= 1 then
    soft_hit(KEYS[6], ARGV[5])
    if stamp then
        redis.pcall('HSET', KEYS[2], 'rqjobs_orphan_seen', stamp)
    end
    return {code, state}
end
if origin then
    clear_job(KEYS[2], ARGV[6], ARGV[8], origin)
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
return {1, state}
"""

# KEYS: 1 lock, 2 job hash. ARGV: 1 job id, 2 rq key prefix, 3 orphan grace, 4 stamp 1/0,
#       5 clear the stale record 1/0 (the WATCH/MULTI path clears before it enqueues).
# -> {code, state, lock value or false, lock pttl, rq status or false, origin or false}
DEDUPE_STATUS = DEDUPE_STATE + """
local code, state, stamp, origin = dedupe_decide(KEYS[1], KEYS[2], ARGV[1], '', ARGV[2],
                                                 tonumber(ARGV[3]))
if stamp and ARGV[4] == '1' then
    redis.pcall('HSET', KEYS[2], 'rqjobs_orphan_seen', stamp)
end
local status = redis.call('HGET', KEYS[2], 'status')
if code == 1 and ARGV[5] == '1' then
    if origin then
        clear_job(KEYS[2], ARGV[1], ARGV[2], origin)
    else
        redis.call('DEL', KEYS[2])  -- a hash without a status (a late heartbeat's leftover)
    end
end
return {code, state, redis.call('GET', KEYS[1]) or false, redis.call('PTTL', KEYS[1]),
        status or false, origin or false}
"""

# KEYS: 1 lock, 2 job hash. The job's success callback: the window now remembers that the
# event was processed, even after rq deletes the job hash (``result_ttl``).
MARK_DONE = """
local token = redis.call('HGET', KEYS[2], 'rqjobs_token')
if token and redis.call('GET', KEYS[1]) == token then
    redis.call('SET', KEYS[1], 'done:' .. token, 'KEEPTTL')
    return 1
end
return 0
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
