"""``@rqjobs.event_job``: the key template, ``deliver()``, duplicates, and a real worker."""

from __future__ import annotations

from typing import Any

import pytest
import rqjobs
from rqjobs.event_jobs import EventJob
from runtime_jobs import RUNS_KEY, handle_message
from runtime_support import run_worker


def test_deliver_enqueues_once_per_event_and_a_worker_runs_it(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    assert handle_message.rqjobs_event == EventJob(  # type: ignore[attr-defined]
        key="webhook:test:{message_id}", queue="webhooks", ttl=300
    )
    job = handle_message.deliver("M1", {"text": "hi"})  # type: ignore[attr-defined]
    assert job is not None
    assert job.id == rqjobs.generate_deterministic_job_id("webhook:test:M1")
    assert job.meta["dedupe_key"] == "webhook:test:M1"
    assert 295 < redis_conn.ttl("job_lock:webhook:test:M1") <= 300
    assert handle_message.deliver(message_id="M1") is None  # type: ignore[attr-defined]
    assert handle_message.deliver("M2", job_timeout=30) is not None  # type: ignore[attr-defined]
    assert redis_conn.llen("rq:queue:webhooks") == 2
    assert run_worker(rqjobs_env, ["webhooks"]).returncode == 0
    assert redis_conn.hgetall(RUNS_KEY) == {b"M1": b"1", b"M2": b"1"}
    # The function itself is unchanged (the decorator returns it, with two attributes).
    def plain(message_id: str) -> str:
        return message_id

    assert rqjobs.event_job(key="k:{message_id}")(plain) is plain
    assert plain("direct") == "direct"


def test_an_explicit_key_wins_and_a_missing_field_is_refused(rqjobs_env: str, redis_conn) -> None:  # type: ignore[no-untyped-def]
    job = handle_message.deliver("M3", dedupe_key="custom:M3")  # type: ignore[attr-defined]
    assert job is not None and job.meta["dedupe_key"] == "custom:M3"
    with pytest.raises(ValueError, match="no value for .message_id."):
        handle_message.deliver(payload={})  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="empty part"):
        handle_message.deliver("")  # type: ignore[attr-defined]
    assert redis_conn.llen("rq:queue:webhooks") == 1


def test_a_template_field_that_is_no_parameter_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match="call_sid"):

        @rqjobs.event_job(key="twilio:{call_sid}")
        def on_call(event: Any) -> None:  # pragma: no cover - never defined
            pass


def test_bare_decorator_needs_a_key_at_delivery(rqjobs_env: str) -> None:
    @rqjobs.event_job
    def bare(event_id: str) -> None:  # pragma: no cover - never run
        pass

    with pytest.raises(ValueError, match="no key template"):
        bare.deliver("e1")  # type: ignore[attr-defined]
