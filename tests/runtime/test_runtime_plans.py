"""The compiled calls of ``enqueue_with_dedupe`` and ``enqueue`` and the one-reply reader.

A plain call shape (queue, function, ttl, release_on_failure, job_ttl, no other keyword)
is compiled after its first call went the general way; later calls of the shape send the
same script call from pre-encoded bytes. These tests check that the compiled call writes
what the general path writes, answers the same, and keeps its guarantees under faults
(lost reply, script cache flushed, paused Redis), and that the raw reply reader refuses
what it does not read. ``rqjobs.enqueue(queue, func, *args)`` without keywords has its
own compiled call (``rqjobs.enqueue._Plan``), checked the same way.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from typing import Any

import pytest
import rqjobs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from rq.job import Job
from rqjobs import dedupe, fastjob, scripts
from rqjobs.errors import RedisUnavailable
from rqjobs.job_ids import generate_deterministic_job_id
from runtime_jobs import RUNS_KEY
from runtime_support import ReplyDroppingProxy, run_worker

enqueue_module = importlib.import_module("rqjobs.enqueue")  # rqjobs.enqueue is the function
VOLATILE = {b"created_at", b"enqueued_at", scripts.TOKEN_FIELD.encode()}
FUNC = "runtime_jobs.record"


@pytest.fixture(autouse=True)
def _fresh() -> None:
    fastjob.reset()
    dedupe._recent.clear()


def _served(monkeypatch: pytest.MonkeyPatch, cls: Any, name: str, pick: Any) -> list[Any]:
    """Record ``pick(self, *args)`` of every call of ``cls.<name>`` (the calls a compiled
    plan served), the method itself still running."""
    served: list[Any] = []
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any) -> Any:
        served.append(pick(self, *args))
        return original(self, *args)

    monkeypatch.setattr(cls, name, wrapper)
    return served


@pytest.fixture
def plan_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the calls served by a compiled plan."""
    return _served(monkeypatch, dedupe._Plan, "run", lambda plan, key, *rest: key)


def _comparable(raw: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {f: v for f, v in raw.items() if f not in VOLATILE and v != b""}


def _queued(redis_conn: Any) -> list[str]:
    return [item.decode() for item in redis_conn.lrange("rq:queue:default", 0, -1)]


def test_a_plain_shape_is_compiled_and_writes_the_general_paths_hash(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, plan_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rqjobs.enqueue_with_dedupe("default", FUNC, "e0", dedupe_key="plan:0")
    assert first is not None and plan_runs == []  # the first call of a shape: general path
    assert len(dedupe._plans) == 1
    compiled = rqjobs.enqueue_with_dedupe("default", FUNC, "e1", {"n": [1]}, dedupe_key="plan:1")
    assert plan_runs == ["plan:1"]
    assert compiled is not None and compiled.id == generate_deterministic_job_id("plan:1")
    assert compiled.args == ("e1", {"n": [1]}) and compiled.meta[dedupe.META_KEY] == "plan:1"
    planned = redis_conn.hgetall(compiled.key)
    assert _queued(redis_conn) == [first.id, compiled.id]
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"2"

    # The same call on the general path (no plans): the same hash, field by field.
    redis_conn.flushall()
    monkeypatch.setattr(dedupe, "_compile", lambda *a: None)
    dedupe._plans.clear()
    general = rqjobs.enqueue_with_dedupe("default", FUNC, "e1", {"n": [1]}, dedupe_key="plan:1")
    assert general is not None and plan_runs == ["plan:1"]
    assert _comparable(planned) == _comparable(redis_conn.hgetall(general.key))
    assert set(planned) == set(redis_conn.hgetall(general.key))


def test_the_compiled_call_reports_and_answers_like_the_general_one(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, plan_runs: list[str]
) -> None:
    rqjobs.enqueue_with_dedupe("default", FUNC, "r0", dedupe_key="report:0")
    result = rqjobs.enqueue_with_dedupe_result("default", FUNC, "r1", dedupe_key="report:1")
    assert plan_runs == ["report:1"]
    assert result.job is not None and not result.duplicate and result.state == "free"
    assert result.holder_id == result.job.id == generate_deterministic_job_id("report:1")
    assert result.dedupe_key == "report:1" and result.queue == "default"
    # A repeat this process just enqueued goes the probe path: no job built, nothing sent.
    again = rqjobs.enqueue_with_dedupe_result("default", FUNC, "r1", dedupe_key="report:1")
    assert plan_runs == ["report:1"]
    assert again.duplicate and again.job is None and again.state == "queued"
    # A repeat this process has not seen (another producer's) is answered by the script.
    dedupe._recent.clear()
    other = rqjobs.enqueue_with_dedupe_result("default", FUNC, "r1", dedupe_key="report:1")
    assert plan_runs == ["report:1", "report:1"]
    assert other.duplicate and other.holder_id == result.holder_id and other.state == "queued"
    assert len(_queued(redis_conn)) == 2
    assert redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default") == b"2"


def test_keywords_and_other_shapes_stay_on_the_general_path(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, plan_runs: list[str]
) -> None:
    for n in range(3):
        rqjobs.enqueue_with_dedupe("default", FUNC, n, dedupe_key=f"kw:{n}", job_timeout=30)
        rqjobs.enqueue_with_dedupe("default", FUNC, n, dedupe_key=f"kwa:{n}", flag=True)
    assert plan_runs == [] and dedupe._plans == {}
    for n in range(2):  # each ttl, release_on_failure and job_ttl is its own shape
        rqjobs.enqueue_with_dedupe("default", FUNC, n, dedupe_key=f"t:{n}", ttl=60)
        rqjobs.enqueue_with_dedupe(
            "default", FUNC, n, dedupe_key=f"j:{n}", job_ttl=600, release_on_failure=False
        )
    assert plan_runs == ["t:1", "j:1"] and len(dedupe._plans) == 2
    kept = redis_conn.hgetall(Job.key_for(generate_deterministic_job_id("j:1")))
    assert kept[b"rqjobs_keep"] == b"1" and kept[b"ttl"] == b"600"
    assert 0 < redis_conn.ttl(dedupe.LOCK_PREFIX + "t:1") <= 60


def test_a_changed_role_or_grace_compiles_a_new_plan(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, plan_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rqjobs.enqueue_with_dedupe("default", FUNC, "a", dedupe_key="role:0")
    monkeypatch.setenv("SERVICE_ROLE", "api")
    rqjobs.enqueue_with_dedupe("default", FUNC, "a", dedupe_key="role:1")  # a new shape
    api = rqjobs.enqueue_with_dedupe("default", FUNC, "a", dedupe_key="role:2")
    assert plan_runs == ["role:2"] and len(dedupe._plans) == 2
    assert api is not None and api.meta["enqueued_by"]["role"] == "api"
    monkeypatch.setenv("RQJOBS_ORPHAN_GRACE", "3")
    rqjobs.enqueue_with_dedupe("default", FUNC, "a", dedupe_key="role:3")
    assert plan_runs == ["role:2"] and len(dedupe._plans) == 3
    stored = Job.fetch(api.id, connection=redis_conn)
    assert stored.meta["enqueued_by"]["role"] == "api"
    rqjobs.reset_redis()
    assert dedupe._plans == {}  # a reset (and a forked child) starts without plans


def test_a_flushed_script_cache_is_reloaded_and_the_job_written_once(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, plan_runs: list[str]
) -> None:
    rqjobs.enqueue_with_dedupe("default", FUNC, "f", dedupe_key="flush:0")
    redis_conn.script_flush()
    job = rqjobs.enqueue_with_dedupe("default", FUNC, "f", dedupe_key="flush:1")
    assert plan_runs == ["flush:1"] and job is not None
    assert len(_queued(redis_conn)) == 2
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"2"


def test_a_lost_reply_to_a_compiled_call_is_resent_and_recognised(  # type: ignore[no-untyped-def]
    proxy: ReplyDroppingProxy, redis_conn, plan_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    monkeypatch.delenv("SERVICE_ROLE", raising=False)
    rqjobs.reset_redis()
    try:
        rqjobs.enqueue_with_dedupe("default", FUNC, "l", dedupe_key="lostplan:0")
        proxy.drop_reply_to(b"lostplan:1")
        result = rqjobs.enqueue_with_dedupe_result("default", FUNC, "l", dedupe_key="lostplan:1")
        assert plan_runs == ["lostplan:1"]
        assert proxy.dropped == 1  # Redis enqueued it, the reply was lost, the call re-sent
        assert result.job is not None and not result.duplicate  # its own write, recognised
        assert result.state == "own"
        assert len(_queued(redis_conn)) == 2
        assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"2"
        assert redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default") is None
    finally:
        rqjobs.reset_redis()


def test_a_paused_redis_fails_the_call_in_its_deadline_and_loses_nothing(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, plan_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (
        ("RQJOBS_CALL_DEADLINE", "1"),
        ("RQJOBS_SOCKET_TIMEOUT", "0.3"),
        ("RQJOBS_SOCKET_CONNECT_TIMEOUT", "0.3"),
    ):
        monkeypatch.setenv(name, value)
    rqjobs.reset_redis()
    rqjobs.enqueue_with_dedupe("default", FUNC, "p", dedupe_key="pause:0")
    redis_conn.execute_command("CLIENT", "PAUSE", "2500", "WRITE")
    started = time.monotonic()
    with pytest.raises(RedisUnavailable):
        rqjobs.enqueue_with_dedupe("default", FUNC, "p", dedupe_key="pause:1")
    assert time.monotonic() - started < 2.0  # the deadline, not the pause, decided
    assert plan_runs == ["pause:1"]
    redis_conn.execute_command("CLIENT", "UNPAUSE")
    # The provider redelivers: the event ends up enqueued exactly once, whatever the
    # paused attempts did after the call gave up.
    dedupe._recent.clear()
    rqjobs.enqueue_with_dedupe("default", FUNC, "p", dedupe_key="pause:1")
    time.sleep(0.5)
    queued = _queued(redis_conn)
    assert sorted(queued) == sorted(
        {generate_deterministic_job_id("pause:0"), generate_deterministic_job_id("pause:1")}
    )
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"2"


def test_real_workers_run_each_compiled_job_once(rqjobs_env: str, redis_conn, plan_runs) -> None:  # type: ignore[no-untyped-def]
    for n in range(20):
        rqjobs.enqueue_with_dedupe("default", FUNC, f"w{n}", dedupe_key=f"w:{n}")
        dedupe._recent.clear()  # a repeat from another producer: answered by the script
        rqjobs.enqueue_with_dedupe("default", FUNC, f"w{n}", dedupe_key=f"w:{n}")
    assert len(plan_runs) == 39
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    runs = {k.decode(): int(v) for k, v in redis_conn.hgetall(RUNS_KEY).items()}
    assert runs == {f"w{n}": 1 for n in range(20)}
    for n in range(20):  # the success callback marked each lock done
        assert redis_conn.get(dedupe.LOCK_PREFIX + f"w:{n}").startswith(b"done:")


# -- the one-reply reader ------------------------------------------------------------------


def _reader_fed(*chunks: bytes) -> Any:
    """``scripts._read_simple`` over a socket pair fed ``chunks`` (one send each)."""
    ours, theirs = socket.socketpair()
    ours.settimeout(2)

    def feed() -> None:
        for chunk in chunks:
            theirs.sendall(chunk)
            time.sleep(0.01)
        theirs.shutdown(socket.SHUT_WR)  # then the server closes the connection

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        return scripts._read_simple(ours)
    finally:
        feeder.join()
        ours.close()
        theirs.close()


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((b"$5\r\n1free\r\n",), b"1free"),
        ((b"$5\r\n1f", b"ree\r", b"\n"), b"1free"),
        ((b"$0\r\n\r\n",), b""),
        ((b"$-1\r\n",), None),
        ((b"_\r\n",), None),
        ((b"+OK\r\n",), b"OK"),
        ((b":42\r\n",), 42),
        ((b":-", b"7\r\n"), -7),
    ],
)
def test_the_reader_reads_one_simple_reply(chunks: tuple[bytes, ...], expected: Any) -> None:
    assert _reader_fed(*chunks) == expected


def test_the_reader_builds_redis_pys_error_replies() -> None:
    noscript = _reader_fed(b"-NOSCRIPT No matching script.\r\n")
    assert isinstance(noscript, NoScriptError)
    other = _reader_fed(b"-ERR something\r\n")
    assert isinstance(other, ResponseError) and str(other) == "something"


@pytest.mark.parametrize(
    "chunks",
    [
        (b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n",),  # a RESP3 push frame
        (b"*2\r\n:1\r\n:2\r\n",),  # an aggregate
        (b"$5\r\n1free\r\n:1\r\n",),  # more than one reply
    ],
)
def test_the_reader_refuses_what_it_does_not_read(chunks: tuple[bytes, ...]) -> None:
    with pytest.raises(scripts._Unexpected):
        _reader_fed(*chunks)


def test_the_reader_reports_a_closed_connection() -> None:
    with pytest.raises(RedisConnectionError):
        _reader_fed(b"$5\r\n1f")


def test_sentinel_and_cached_pools_are_read_by_redis_py(redis_url: str) -> None:  # type: ignore[no-untyped-def]
    import redis
    from redis.sentinel import SentinelConnectionPool

    plain = redis.Redis.from_url(redis_url)
    assert scripts._simple_replies(plain.connection_pool)
    managed = SentinelConnectionPool("mymaster", redis.sentinel.Sentinel([]))
    assert not scripts._simple_replies(managed)  # READONLY must reach redis-py's reconnect
    plain.close()


# -- batches: a compiled shape serves enqueue_many_with_dedupe too ----------------------------


@pytest.fixture
def batch_planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the batch jobs sent from a compiled plan's bytes."""
    return _served(monkeypatch, dedupe.PlannedDedupe, "encoded", lambda job, now: job.key)


def _specs(prefix: str, count: int) -> list[Any]:
    return [rqjobs.JobSpec(FUNC, f"{prefix}{n}", dedupe_key=f"{prefix}:{n}") for n in range(count)]


def test_a_batch_compiles_its_shape_and_the_next_batch_uses_it(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, batch_planned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rqjobs.enqueue_many_with_dedupe("default", _specs("b1", 3))
    assert batch_planned == [] and len(dedupe._plans) == 1
    repeat = rqjobs.JobSpec(FUNC, "again", dedupe_key="b2:0")  # a repeat inside the batch
    second = rqjobs.enqueue_many_with_dedupe("default", [*_specs("b2", 3), repeat])
    assert batch_planned == ["b2:0", "b2:1", "b2:2"]  # the repeat went as a probe
    assert [job is None for job in second] == [False, False, False, True]
    assert all(job is not None for job in first)
    assert _queued(redis_conn) == [job.id for job in first + second if job is not None]
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"6"
    assert redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default") == b"1"
    planned = redis_conn.hgetall(second[1].key)  # type: ignore[union-attr]
    # The single call on the general path writes the same hash.
    redis_conn.flushall()
    monkeypatch.setattr(dedupe, "_compile", lambda *a: None)
    dedupe._plans.clear()
    dedupe._recent.clear()
    general = rqjobs.enqueue_with_dedupe("default", FUNC, "b21", dedupe_key="b2:1")
    assert general is not None
    assert _comparable(planned) == _comparable(redis_conn.hgetall(general.key))
    assert set(planned) == set(redis_conn.hgetall(general.key))


def test_a_batch_mixes_compiled_and_general_jobs_in_order(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, batch_planned: list[str]
) -> None:
    rqjobs.enqueue_with_dedupe("default", FUNC, "m", dedupe_key="mix:0")  # compiles the shape
    jobs = rqjobs.enqueue_many_with_dedupe(
        "default",
        [
            rqjobs.JobSpec(FUNC, "m1", dedupe_key="mix:1"),
            rqjobs.JobSpec(FUNC, "m2", dedupe_key="mix:2", job_timeout=30),  # other shape
            rqjobs.JobSpec(FUNC, "m3", dedupe_key="mix:3", ttl=60),  # another ttl
            rqjobs.JobSpec(FUNC, "m4", dedupe_key="mix:4"),
        ],
    )
    assert batch_planned == ["mix:1", "mix:4"]
    assert [job.args for job in jobs if job is not None] == [("m1",), ("m2",), ("m3",), ("m4",)]
    assert redis_conn.hget(jobs[1].key, "timeout") == b"30"  # type: ignore[union-attr]
    assert 0 < redis_conn.ttl(dedupe.LOCK_PREFIX + "mix:3") <= 60
    with pytest.raises(ValueError, match="dedupe_key"):  # validation still runs per job
        rqjobs.enqueue_many_with_dedupe(
            "default", [rqjobs.JobSpec(FUNC, "x", dedupe_key="mix:5"),
                        rqjobs.JobSpec(FUNC, "y", dedupe_key="bad::key")]
        )
    assert len(_queued(redis_conn)) == 5  # nothing of the refused batch was written


def test_a_lost_reply_to_a_compiled_batch_enqueues_each_job_once(  # type: ignore[no-untyped-def]
    proxy: ReplyDroppingProxy, redis_conn, batch_planned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    monkeypatch.delenv("SERVICE_ROLE", raising=False)
    rqjobs.reset_redis()
    try:
        rqjobs.enqueue_many_with_dedupe("default", _specs("lb0", 2))
        proxy.drop_reply_to(b"lb1:3")
        jobs = rqjobs.enqueue_many_with_dedupe("default", _specs("lb1", 6))
        assert proxy.dropped == 1 and len(batch_planned) == 6
        assert all(job is not None for job in jobs)  # own writes, recognised by their tokens
        assert len(_queued(redis_conn)) == 8
        assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"8"
        assert redis_conn.hget(scripts.COUNTERS_DEDUPE_HITS, "default") is None
    finally:
        rqjobs.reset_redis()


def test_a_compiled_batch_after_script_flush_is_reloaded(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, batch_planned: list[str]
) -> None:
    rqjobs.enqueue_many_with_dedupe("default", _specs("sf0", 2))
    redis_conn.script_flush()
    jobs = rqjobs.enqueue_many_with_dedupe("default", _specs("sf1", 5))
    assert len(batch_planned) == 5 and all(job is not None for job in jobs)
    assert len(_queued(redis_conn)) == 7
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"7"


def test_the_reader_reads_several_replies_split_anywhere() -> None:
    ours, theirs = socket.socketpair()
    ours.settimeout(2)
    stream = b"$5\r\n1free\r\n:3\r\n$-1\r\n-NOSCRIPT No matching script.\r\n$4\r\n0own\r\n"
    feeder = threading.Thread(
        target=lambda: [theirs.sendall(stream[i : i + 3]) or time.sleep(0.002)
                        for i in range(0, len(stream), 3)]
    )
    feeder.start()
    try:
        replies = scripts._read_replies(ours, 5)
    finally:
        feeder.join()
        ours.close()
        theirs.close()
    assert replies[:3] == [b"1free", 3, None] and replies[4] == b"0own"
    assert isinstance(replies[3], NoScriptError)


# -- rqjobs.enqueue(queue, func, *args): its own compiled call -----------------------------


@pytest.fixture
def enqueue_planned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The args of the ``enqueue`` calls served by a compiled plan."""
    return _served(monkeypatch, enqueue_module._Plan, "run", lambda plan, args: args)


def test_a_plain_enqueue_is_compiled_and_writes_the_general_paths_hash(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, enqueue_planned: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = rqjobs.enqueue("default", FUNC, "q0")
    assert enqueue_planned == [] and len(enqueue_module._plans) == 1
    compiled = rqjobs.enqueue("default", FUNC, "q1", {"n": [1]})
    assert enqueue_planned == [("q1", {"n": [1]})]
    assert compiled.args == ("q1", {"n": [1]}) and compiled.origin == "default"
    assert compiled.meta["enqueued_by"]["pid"] == first.meta["enqueued_by"]["pid"]
    assert _queued(redis_conn) == [first.id, compiled.id] and compiled.id != first.id
    assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"2"
    planned = redis_conn.hgetall(compiled.key)
    redis_conn.flushall()
    monkeypatch.setattr(enqueue_module, "_compile", lambda *a: None)
    enqueue_module._plans.clear()
    general = rqjobs.enqueue("default", FUNC, "q1", {"n": [1]})
    assert len(enqueue_planned) == 1
    assert _comparable(planned) == _comparable(redis_conn.hgetall(general.key))
    assert set(planned) == set(redis_conn.hgetall(general.key))


def test_the_encoded_enqueue_is_what_the_general_path_sends(rqjobs_env: str) -> None:
    rqjobs.enqueue("default", FUNC, "e0")
    (plan,) = enqueue_module._plans.values()
    lean = plan.template.build(None, ("e1",), {}, {"enqueued_by": plan.meta_by}, None, "t" * 24,
                               plan.client)
    keys, argv = enqueue_module.enqueue_call(plan.queue, lean.job, "t" * 24, lean.fields, {})
    assert plan.encode("t" * 24, lean) == scripts.encode_call(scripts.ENQUEUE, keys, argv)


def test_enqueue_keywords_and_role_changes_stay_correct(  # type: ignore[no-untyped-def]
    rqjobs_env: str, redis_conn, enqueue_planned: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        rqjobs.enqueue("default", FUNC, n, job_timeout=30)
        rqjobs.enqueue("default", FUNC, n, at_front=True)
    assert enqueue_planned == [] and enqueue_module._plans == {}
    rqjobs.enqueue("default", FUNC, "r0")
    monkeypatch.setenv("SERVICE_ROLE", "api")
    rqjobs.enqueue("default", FUNC, "r1")  # a new shape: general path
    api = rqjobs.enqueue("default", FUNC, "r2")
    assert enqueue_planned == [("r2",)] and len(enqueue_module._plans) == 2
    assert Job.fetch(api.id, connection=redis_conn).meta["enqueued_by"]["role"] == "api"
    rqjobs.reset_redis()
    assert enqueue_module._plans == {}


def test_a_lost_reply_to_a_compiled_enqueue_pushes_the_job_once(  # type: ignore[no-untyped-def]
    proxy: ReplyDroppingProxy,
    redis_conn,
    enqueue_planned: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", proxy.url)
    monkeypatch.delenv("SERVICE_ROLE", raising=False)
    rqjobs.reset_redis()
    try:
        rqjobs.enqueue("default", FUNC, "lq0")
        proxy.drop_reply_to(b"rqjobs:counters:enqueued")  # the next EVALSHA's reply is lost
        job = rqjobs.enqueue("default", FUNC, "lq1")
        assert proxy.dropped == 1 and enqueue_planned == [("lq1",)]
        assert _queued(redis_conn).count(job.id) == 1  # the re-send was recognised
        assert len(_queued(redis_conn)) == 2
        assert redis_conn.hget(scripts.COUNTERS_ENQUEUED, "default") == b"2"
    finally:
        rqjobs.reset_redis()


def test_real_workers_run_compiled_enqueues(rqjobs_env: str, redis_conn, enqueue_planned) -> None:  # type: ignore[no-untyped-def]
    for n in range(10):
        rqjobs.enqueue("default", FUNC, f"ce{n}")
    assert len(enqueue_planned) == 9
    assert run_worker(rqjobs_env, ["default"]).returncode == 0
    runs = {k.decode(): int(v) for k, v in redis_conn.hgetall(RUNS_KEY).items()}
    assert runs == {f"ce{n}": 1 for n in range(10)}
