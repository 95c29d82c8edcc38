"""get_queue / get_serializer / get_worker: cache, allow-list, serializer switch."""

from __future__ import annotations

import pytest
import rqjobs
from rq import Queue
from rq.serializers import DefaultSerializer, JSONSerializer
from rqjobs.errors import UnknownQueueError
from rqjobs.queues import get_serializer, get_worker


def test_get_queue_is_cached_on_the_shared_connection(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    queue = rqjobs.get_queue("webhooks")
    assert isinstance(queue, Queue)
    assert queue is rqjobs.get_queue("webhooks")
    assert queue.name == "webhooks"
    assert queue.connection is rqjobs.get_redis()
    assert rqjobs.get_queue().name == "default"
    assert redis_conn.dbsize() == 0  # building a queue writes nothing


def test_allow_list_rejects_unknown_names_and_writes_nothing(
    rqjobs_env: str,
    redis_conn,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RQJOBS_QUEUES", "default, high ,webhooks")
    assert rqjobs.get_queue("high").name == "high"
    with pytest.raises(ValueError) as caught:
        rqjobs.get_queue("hgih")
    assert isinstance(caught.value, UnknownQueueError)
    message = str(caught.value)
    assert "'hgih'" in message
    for allowed in ("'default'", "'high'", "'webhooks'"):
        assert allowed in message
    with pytest.raises(ValueError, match="hgih"):
        rqjobs.enqueue("hgih", "runtime_jobs.record", "x")
    with pytest.raises(ValueError, match="hgih"):
        rqjobs.enqueue(Queue("hgih", connection=redis_conn), "runtime_jobs.record", "x")
    with pytest.raises(ValueError, match="hgih"):
        rqjobs.enqueue_with_dedupe("hgih", "runtime_jobs.record", "x", dedupe_key="a:b")
    assert redis_conn.dbsize() == 0


def test_empty_queue_name_is_rejected(rqjobs_env: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        rqjobs.get_queue("  ")


def test_serializer_switch(rqjobs_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_serializer() is DefaultSerializer
    assert rqjobs.get_queue("default").serializer is DefaultSerializer
    monkeypatch.setenv("RQJOBS_SERIALIZER", "json")
    assert get_serializer() is JSONSerializer
    assert rqjobs.get_queue("default").serializer is JSONSerializer
    worker = get_worker(["default", "high"])
    assert worker.serializer is JSONSerializer
    assert [queue.serializer for queue in worker.queues] == [JSONSerializer, JSONSerializer]
    monkeypatch.setenv("RQJOBS_SERIALIZER", "yaml")
    with pytest.raises(ValueError, match="RQJOBS_SERIALIZER='yaml'.*pickle, json"):
        get_serializer()


def test_get_worker_defaults_to_the_allow_list(
    rqjobs_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [q.name for q in get_worker().queues] == ["default"]
    monkeypatch.setenv("RQJOBS_QUEUES", "high,default")
    worker = get_worker()
    assert [q.name for q in worker.queues] == ["high", "default"]
    assert worker.connection is rqjobs.get_redis()
