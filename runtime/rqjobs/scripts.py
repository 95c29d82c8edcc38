"""The Lua scripts behind ``enqueue`` and ``enqueue_with_dedupe``.

Each script does one whole enqueue in one atomic step and one round trip: it writes the
job hash exactly as RQ's ``Job.to_dict()`` serialises it (the Python side builds the
field list from that public API), pushes the id onto ``rq:queue:<name>``, registers the
queue in ``rq:queues`` and bumps the cluster-wide counters in ``rqjobs:counters:*``.

Every call carries a random token that is stored in the job hash (field
``rqjobs_token``) and, for dedupe, as the lock's value. When a reply is lost and the
client re-sends the command, the script finds its own token and answers "already done"
(2) instead of pushing the id a second time.

The calls go out pre-encoded (:func:`encode_call`, :func:`run_encoded`): the ``EVALSHA``
head is cached per script and arity, the job's fields travel as plain arguments that the
script hands to ``HSET`` with ``unpack(ARGV, n)``, and a batch is one pipelined write and
one read of all the replies on one connection, under redis-py's connection, retry and the
caller's deadline. ``run`` (redis-py's ``evalsha``) remains for everything else.
"""

from __future__ import annotations

import hashlib
import os
import socket as _socket
from collections.abc import Sequence
from typing import Any, List, Tuple, Union

from redis.client import Pipeline as _Pipeline
from redis.client import Redis as _Redis
from redis.connection import Connection as _Connection
from redis.connection import ConnectionPool as _ConnectionPool
from redis.connection import SSLConnection as _SSLConnection
from redis.connection import UnixDomainSocketConnection as _UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import keys

try:
    from redis._parsers.base import BaseParser as _BaseParser
except ImportError:  # pragma: no cover - redis-py before 5.0
    from redis.connection import BaseParser as _BaseParser  # type: ignore[attr-defined,no-redef]

_parse_error = _BaseParser.parse_error  # redis-py's own error-reply classes

TOKEN_FIELD = "rqjobs_token"  # spelled out in the Lua below
COUNTERS_ENQUEUED = keys.COUNTERS_ENQUEUED
COUNTERS_DEDUPE_HITS = keys.COUNTERS_DEDUPE_HITS

APPLIED = 1
ALREADY_APPLIED = 2
DUPLICATE_LOCK = 0
DUPLICATE_IN_FLIGHT = 3
NEEDS_PAYLOAD = 4  # a probe (no payload) found the key free: send the job

ENQUEUE = """
-- KEYS: 1 job hash, 2 queue list, 3 rq:queues, 4 counters:enqueued
-- ARGV: 1 token, 2 push L/R, 3 job ttl (<=0: none), 4 queue name, 5 unique 1/0, 6 job id,
--       7... the HSET field/value pairs (see pack_fields)
if redis.call('HGET', KEYS[1], 'rqjobs_token') == ARGV[1] then
    return 2
end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then
    return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
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

-- The job hash's fields the rule reads, in one HMGET (8: the token of the call that wrote it).
local function job_fields(job_key)
    return redis.call('HMGET', job_key, 'status', 'origin', 'rqjobs_beat', 'worker_name',
                      'rqjobs_orphan_seen', 'enqueued_at', 'rqjobs_keep', 'rqjobs_token')
end

-- f: job_fields(job_key). The clock (TIME) is read only by the states that need it.
-- -> holds (bool), state, stamp to write (or false), origin (or false)
local function job_state(f, job_id, p, grace)
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
        local now = rqjobs_now()
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
        local live = redis.call('ZRANGEBYSCORE', p .. ':executions:' .. job_id, rqjobs_now(),
                                '+inf', 'LIMIT', 0, 1)
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
    if held and string.sub(held, 1, 5) == 'done:' then
        if redis.call('HGET', job_key, 'rqjobs_token') == token then
            return 2, 'own', false, false
        end
        return 0, 'finished', false, false
    end
    local f = job_fields(job_key)
    if f[8] and f[8] == token then
        return 2, 'own', false, false
    end
    local holds, state, stamp, origin = job_state(f, job_id, p, grace)
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

DEDUPE_ENQUEUE = (
    DEDUPE_STATE
    + """
-- KEYS: 1 lock, 2 job hash, 3 queue list, 4 rq:queues, 5 counters:enqueued,
--       6 counters:dedupe_hits
-- ARGV: 1 token, 2 lock ttl, 3 push L/R, 4 job ttl (<=0: none), 5 queue name, 6 job id,
--       7 '1' when the job follows, '' to only ask (a probe: a duplicate is answered and
--         counted, a free key answers 4 and writes nothing), 8 rq key prefix,
--       9 orphan grace (seconds), 10... the HSET field/value pairs (see pack_fields)
local code, state, stamp, origin = dedupe_decide(KEYS[1], KEYS[2], ARGV[6], ARGV[1], ARGV[8],
                                                 tonumber(ARGV[9]))
if code == 2 then
    return '2' .. state
end
if code ~= 1 then
    soft_hit(KEYS[6], ARGV[5])
    if stamp then
        redis.pcall('HSET', KEYS[2], 'rqjobs_orphan_seen', stamp)
    end
    return code .. state
end
if ARGV[7] == '' then
    return '4' .. state
end
if origin then
    clear_job(KEYS[2], ARGV[6], ARGV[8], origin)
end
redis.call('HSET', KEYS[2], unpack(ARGV, 10))
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
return '1' .. state
"""
)

# The scripts whose every reply is one string or integer: read without redis-py's parser.
_SIMPLE_REPLIES = frozenset({ENQUEUE, DEDUPE_ENQUEUE})

# KEYS: 1 lock, 2 job hash. ARGV: 1 job id, 2 rq key prefix, 3 orphan grace, 4 stamp 1/0,
#       5 clear the stale record 1/0 (the WATCH/MULTI path clears before it enqueues).
# -> {code, state, lock value or false, lock pttl, rq status or false, origin or false}
DEDUPE_STATUS = (
    DEDUPE_STATE
    + """
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
)

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
    if args and type(args[-1]) is Fields:  # its field/value pairs, as separate arguments
        args = [*args[:-1], *args[-1].flat()]
    sha = _shas.get(source)
    if sha is None:
        sha = _shas[source] = hashlib.sha1(source.encode("utf-8")).hexdigest()
    try:
        return client.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        client.script_load(source)
        return client.evalsha(sha, len(keys), *keys, *args)


def script_sha(source: str) -> str:
    """The SHA1 that ``EVALSHA`` names ``source`` by (cached)."""
    sha = _shas.get(source)
    if sha is None:
        sha = _shas[source] = hashlib.sha1(source.encode("utf-8")).hexdigest()
    return sha


def plain_args(args: list[Any]) -> list[Any]:
    """``args`` as a client's ``evalsha`` takes them: a trailing :class:`Fields` spread into
    its field/value items and every :class:`Encoded` constant back to its value (for a
    client that encodes the command itself, e.g. ``redis.asyncio``: :mod:`rqjobs.aio`)."""
    out: list[Any] = []
    for item in args:
        kind = type(item)
        if kind is Fields:
            out.extend(item.flat())
        elif kind is Encoded:
            out.append(bytes(item[item.index(b"\r\n") + 2 : -2]))
        else:
            out.append(item)
    return out


# -- pre-encoded EVALSHA: one send, one read per call, redis-py's connection and retry ------

_heads: dict[tuple[str, int, int], bytes] = {}


class Encoded(bytes):
    """An argument already in RESP (``$len\\r\\n...\\r\\n``): sent as it is (constants that
    many calls share are encoded once)."""

    __slots__ = ()


def encoded(value: Any) -> Encoded:
    """``value`` as an :class:`Encoded` argument."""
    return Encoded(_bulk(value))


def _bulk(value: Any) -> bytes:
    kind = type(value)
    if kind is str:
        data = value.encode("utf-8")
    elif kind is bytes:
        data = value
    elif kind is Encoded:
        return value  # type: ignore[no-any-return]
    elif kind is int:
        data = b"%d" % value
    else:
        data = _as_bytes(value)
    return b"$%d\r\n%b\r\n" % (len(data), data)


def call_head(source: str, numkeys: int, total: int) -> bytes:
    """``*<n> EVALSHA <sha> <numkeys>`` in RESP for a call of ``source`` with ``total`` keys
    and arguments (field/value pairs counted one by one), cached per script and arity."""
    head_key = (source, numkeys, total)
    head = _heads.get(head_key)
    if head is None:
        sha = _shas.get(source) or hashlib.sha1(source.encode("utf-8")).hexdigest()
        _shas[source] = sha
        count = str(numkeys).encode()
        head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%b\r\n$%d\r\n%b\r\n" % (
            3 + total,
            sha.encode(),
            len(count),
            count,
        )
        if len(_heads) > 4096:
            _heads.clear()
        _heads[head_key] = head
    return head


def encode_call(source: str, keys: list[Any], args: list[Any]) -> bytes:
    """``EVALSHA sha numkeys keys... args...`` in RESP, with the head cached per script and
    arity (what redis-py's ``pack_command`` would send, built with less work). A
    :class:`Fields` as the last argument stands for its field/value pairs."""
    fields = args[-1] if args and type(args[-1]) is Fields else None
    if fields is not None:
        args = args[:-1]
    total = len(keys) + len(args) + (fields.count if fields is not None else 0)
    head = call_head(source, len(keys), total)
    parts = [head, *[_bulk(item) for item in keys], *[_bulk(item) for item in args]]
    if fields is not None:
        parts.append(fields.blob)
    return b"".join(parts)


def packed_client(client: Any) -> bool:
    """Can :func:`run_encoded` drive ``client``? (a ``redis.Redis`` on a connection pool)."""
    return (
        isinstance(client, _Redis)
        and not isinstance(client, _Pipeline)
        and getattr(client, "connection", None) is None
        and hasattr(client, "connection_pool")
    )


_get_connection_takes_name: list[bool] = []


def _get_connection(pool: Any) -> Any:
    if not _get_connection_takes_name:
        try:
            connection = pool.get_connection()
            _get_connection_takes_name.append(False)
            return connection
        except TypeError:  # redis-py 5.0: the command name is required
            _get_connection_takes_name.append(True)
    if _get_connection_takes_name[0]:
        return pool.get_connection("EVALSHA")
    return pool.get_connection()


_HELD_MAX = 8  # idle connections a pool keeps for this path; more go back to the pool


def _take(pool: Any) -> Any:
    """A connection for one pre-encoded call. A plain ``ConnectionPool`` keeps up to
    :data:`_HELD_MAX` of them aside for this path (taken from the pool once, counted by it
    as in use), which skips the pool's per-command bookkeeping and its "has the connection
    unread data" poll (a system call): only this path uses them, and it always reads every
    reply or disconnects. Other pools (blocking, Sentinel) lend a connection per call."""
    held = getattr(pool, "_rqjobs_held", None) if type(pool) is _ConnectionPool else None
    if held is not None:
        pid = os.getpid()
        while held:
            try:
                connection = held.pop()
            except IndexError:
                break
            if connection.pid == pid and getattr(pool, "pid", pid) == pid:
                return connection
    return _get_connection(pool)


def _give_back(pool: Any, connection: Any) -> None:
    if type(pool) is _ConnectionPool and connection.pid == os.getpid():
        held = getattr(pool, "_rqjobs_held", None)
        if held is None:
            held = []
            pool._rqjobs_held = held  # type: ignore[attr-defined]
        if len(held) < _HELD_MAX:
            held.append(connection)
            return
    pool.release(connection)


def _send(client: Any, payload: bytes, replies: int, simple: bool = False) -> list[Any]:
    """Send ``payload`` (``replies`` commands) on one connection and read every reply; an
    error reply is returned in its place (as redis-py raises it), not raised. Connection
    errors and timeouts are retried by the connection's ``retry`` (re-sending the whole
    payload: the scripts recognise a call they already applied), under the caller's
    deadline (:func:`rqjobs.connection.call_deadline_scope`).

    ``simple``: every reply is of a simple type (a string, an integer, a null, an error),
    read straight from the socket (:func:`_read_replies`: redis-py's reader is the largest
    share of a call's client CPU) where :func:`_simple_replies` allows it."""
    pool = client.connection_pool
    connection = _take(pool)

    def attempt_simple() -> list[Any]:
        sock = connection._sock
        if sock is None:
            connection.connect()
            sock = connection._sock
        try:
            sock.sendall(payload)
            out = _read_replies(sock, replies)
        except _socket.timeout:
            raise RedisTimeoutError("Timeout reading from socket") from None
        except _Unexpected as exc:
            raise RedisConnectionError(f"Unexpected reply to a script call: {exc}") from None
        except OSError as exc:
            raise RedisConnectionError(f"Error while talking to Redis: {exc}") from exc
        for reply in out:
            if isinstance(reply, Exception) and not isinstance(reply, ResponseError):
                raise reply  # LOADING and the like: redis-py raises these (and retries them)
        return out

    def attempt() -> list[Any]:
        connection.send_packed_command([payload])
        out: list[Any] = []
        read = connection.read_response
        for _ in range(replies):
            try:
                out.append(read())
            except ResponseError as exc:
                out.append(exc)
        return out

    def failed(error: BaseException, *_: Any) -> None:
        connection.disconnect()

    if simple and _simple_replies(pool):
        do = attempt_simple
    else:
        do = attempt
    try:
        result = connection.retry.call_with_retry(do, failed)
    except BaseException:
        connection.disconnect()
        pool.release(connection)
        raise
    _give_back(pool, connection)
    return result  # type: ignore[no-any-return]


Call = Union[bytes, Tuple[List[Any], List[Any]]]  # (KEYS, ARGV), or the EVALSHA already encoded


def run_encoded(source: str, client: Any, calls: Sequence[Call]) -> list[Any]:
    """Run ``source`` once per ``(keys, args)`` in ``calls``, pipelined in one round trip
    (a call may also be its ``EVALSHA`` already encoded, as :func:`encode_call` gives it).

    Returns the replies in order; a call whose script raised has its ``ResponseError`` in
    its place. After NOSCRIPT (server restart, ``SCRIPT FLUSH``) the script is loaded and
    the calls that were refused are sent again (they ran nothing). Connection errors are
    raised (redis-py's classes; the callers translate them).
    """
    if not packed_client(client):
        results = []
        for call in calls:
            if isinstance(call, bytes):
                raise TypeError("a pre-encoded call needs a client run_encoded can drive")
            keys, args = call
            try:
                results.append(run(source, client, keys, args))
            except ResponseError as exc:
                results.append(exc)
        return results
    simple = source in _SIMPLE_REPLIES
    encoded = [call if type(call) is bytes else encode_call(source, *call) for call in calls]
    results = _send(client, b"".join(encoded), len(calls), simple)
    missing = [index for index, reply in enumerate(results) if isinstance(reply, NoScriptError)]
    if missing:
        client.script_load(source)
        again = b"".join([encoded[index] for index in missing])
        for index, reply in zip(missing, _send(client, again, len(missing), simple)):
            results[index] = reply
    return results


def run_one(source: str, client: Any, keys: list[Any], args: list[Any]) -> Any:
    """:func:`run` through :func:`send_one`: one call, its error reply raised. For the
    scripts whose reply is one string or integer (:data:`ENQUEUE`, :data:`DEDUPE_ENQUEUE`):
    the reply may be read by :func:`_read_simple`, which refuses aggregates."""
    if packed_client(client):
        return send_one(source, client, encode_call(source, keys, args))
    reply = run_encoded(source, client, [(keys, args)])[0]
    if isinstance(reply, ResponseError):
        raise reply
    return reply


def send_one(source: str, client: Any, payload: bytes) -> Any:
    """Send one pre-encoded ``EVALSHA`` of ``source`` (built by the caller, with the same
    bytes :func:`encode_call` gives) on ``client`` (:func:`packed_client`) and return its
    reply; an error reply is raised, NOSCRIPT loads the script and sends it again.

    The reply is read with :func:`_read_simple` where the connection allows it (see
    :func:`_simple_replies`), else with redis-py's reader; both under the connection's
    retry and the caller's deadline, as :func:`run_encoded`."""
    reply = _send(client, payload, 1, simple=True)[0]
    if isinstance(reply, ResponseError):
        if not isinstance(reply, NoScriptError):
            raise reply
        client.script_load(source)
        reply = _send(client, payload, 1, simple=True)[0]
        if isinstance(reply, ResponseError):
            raise reply
    return reply


_PLAIN_CONNECTIONS = (_Connection, _SSLConnection, _UnixDomainSocketConnection)


class _Unexpected(Exception):
    """A reply :func:`_read_simple` does not read (a RESP3 push frame, an aggregate)."""


def _simple_replies(pool: Any) -> bool:
    """May one-reply calls on ``pool``'s connections be read by :func:`_read_simple`?

    Only redis-py's own TCP, TLS and Unix-socket connections, whose ``read_response`` only
    reads: a Sentinel-managed connection turns a READONLY reply into a reconnect to the new
    primary, which its own reader must do. Not when the pool has redis-py's client-side
    cache: its connections get invalidation push frames at any time. Answered once per pool.
    """
    known = getattr(pool, "_rqjobs_simple", None)
    if known is None:
        options = getattr(pool, "connection_kwargs", {}) or {}
        known = getattr(pool, "connection_class", None) in _PLAIN_CONNECTIONS and not (
            options.get("cache") or options.get("cache_config")
        )
        try:
            pool._rqjobs_simple = known
        except AttributeError:  # pragma: no cover - a pool with __slots__
            pass
    return bool(known)


def _read_simple(sock: Any) -> Any:
    """One reply from ``sock`` (:func:`_read_replies`)."""
    return _read_replies(sock, 1)[0]


def _read_replies(sock: Any, count: int) -> list[Any]:
    """``count`` replies from ``sock``, each a bulk string (bytes), a status (bytes), an
    integer, a null (``None``) or an error reply (its redis-py exception, as
    ``parse_error`` builds it). Raises :class:`_Unexpected` for anything else or for bytes
    after the last reply (the caller drops the connection; the calls are re-sent, which
    the scripts recognise by their tokens)."""
    replies: list[Any] = []
    data = sock.recv(65536)
    pos = 0
    while True:
        if not data:
            raise RedisConnectionError("Connection closed by server.")
        size = len(data)
        while len(replies) < count:
            end = data.find(b"\r\n", pos)
            if end < 0:
                break
            kind = data[pos]
            total = end + 2
            value: Any
            if kind == 36:  # $ bulk string
                length = int(data[pos + 1 : end])
                if length < 0:
                    value = None
                else:
                    total = end + 4 + length
                    if total > size:
                        break
                    value = data[end + 2 : total - 2]
            elif kind == 43:  # + status
                value = data[pos + 1 : end]
            elif kind == 58:  # : integer
                value = int(data[pos + 1 : end])
            elif kind == 45:  # - error
                value = _parse_error(data[pos + 1 : end].decode("utf-8", "replace"))
            elif kind == 95:  # _ RESP3 null
                value = None
            else:
                raise _Unexpected(f"reply of type {chr(kind)!r}")
            replies.append(value)
            pos = total
        if len(replies) == count:
            if pos != size:
                raise _Unexpected("more bytes than the replies awaited")
            return replies
        more = sock.recv(65536)
        if not more:
            raise RedisConnectionError("Connection closed by server.")
        data = data[pos:] + more
        pos = 0


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


class Fields:
    """A job's HSET field/value pairs as RESP bulk strings, sent as the script's last
    arguments (``unpack(ARGV, n)`` in Lua: no decoding step in Redis)."""

    __slots__ = ("blob", "count")

    def __init__(self, blob: bytes, count: int) -> None:
        self.blob = blob
        self.count = count

    def __len__(self) -> int:
        return self.count

    def flat(self) -> list[bytes]:
        """The field, value, ... items back as bytes."""
        items = []
        blob, position = self.blob, 0
        for _ in range(self.count):
            end = blob.index(b"\r\n", position)
            size = int(blob[position + 1 : end])
            items.append(blob[end + 2 : end + 2 + size])
            position = end + 4 + size
        return items

    def as_dict(self) -> dict[bytes, bytes]:
        """``{field: value}`` (calibration and tests)."""
        items = self.flat()
        return dict(zip(items[0::2], items[1::2]))


NO_FIELDS = Fields(b"", 0)


def pack_fields(flat: list[Any]) -> Fields:
    """``flat`` (field, value, ...) encoded once, as redis-py would send each of them."""
    return Fields(b"".join([_bulk(item) for item in flat]), len(flat))


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
