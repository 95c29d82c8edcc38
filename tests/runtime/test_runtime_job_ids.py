"""generate_deterministic_job_id: stable, RQ-valid, collision-resistant, readable."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import rqjobs
from rq.job import Job
from rqjobs.job_ids import DIGEST_LENGTH

VALID = re.compile(r"[A-Za-z0-9_-]+")


def test_id_is_readable_valid_and_pinned() -> None:
    job_id = rqjobs.generate_deterministic_job_id("webhook:baileys:ABC123")
    prefix, digest = job_id.rsplit("-", 1)
    assert prefix == "webhook-baileys-ABC123"
    assert re.fullmatch(f"[0-9a-f]{{{DIGEST_LENGTH}}}", digest)
    assert VALID.fullmatch(job_id)
    assert rqjobs.generate_deterministic_job_id("webhook:baileys:ABC123") == job_id


def test_same_id_in_other_processes_with_other_hash_seeds() -> None:
    here = rqjobs.generate_deterministic_job_id("push", 42, "user:7")
    code = "import rqjobs; print(rqjobs.generate_deterministic_job_id('push', 42, 'user:7'))"
    for seed in ("0", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        assert out == here


def test_known_value_is_stable() -> None:
    # sha256 of '["a"]' -> stable across versions and hosts.
    import hashlib

    digest = hashlib.sha256(b'["a"]').hexdigest()[:DIGEST_LENGTH]
    assert rqjobs.generate_deterministic_job_id("a") == f"a-{digest}"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (("a:b",), ("a-b",)),
        (("a:b",), ("a", "b")),
        (("a", "bc"), ("ab", "c")),
        (("x y",), ("x_y",)),
        ((1,), ("1", "")),
    ],
)
def test_no_collisions_from_character_replacement(left: tuple, right: tuple) -> None:  # type: ignore[type-arg]
    try:
        right_id = rqjobs.generate_deterministic_job_id(*right)
    except ValueError:
        return  # an empty part is refused, which is also not a collision
    assert rqjobs.generate_deterministic_job_id(*left) != right_id


def test_rq_accepts_the_id(rqjobs_env: str) -> None:
    job_id = rqjobs.generate_deterministic_job_id("call:recording:é€/?*")
    assert VALID.fullmatch(job_id)
    job = rqjobs.enqueue("default", "runtime_jobs.record", "x", job_id=job_id)
    assert job.id == job_id
    assert Job.fetch(job_id, connection=rqjobs.get_redis()).id == job_id


def test_long_parts_give_a_bounded_id() -> None:
    job_id = rqjobs.generate_deterministic_job_id("k" * 10_000)
    assert len(job_id) <= 48 + 1 + DIGEST_LENGTH


@pytest.mark.parametrize("parts", [(), ("",), ("a", "  "), (None,), (1.5,), (True,)])
def test_bad_parts(parts: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises((ValueError, TypeError)):
        rqjobs.generate_deterministic_job_id(*parts)
