"""Call recordings: Twilio tells us a recording is ready; a worker downloads it."""

from __future__ import annotations

from prosaas.services.jobs import EVENT_DEDUPE_TTL, enqueue_with_dedupe
from prosaas.tasks import download_recording_job


def schedule_recording_download(call_sid: str, recording_url: str):
    """Queue one download per call; Twilio's retries of the same callback are skipped."""
    return enqueue_with_dedupe(
        "recordings",
        download_recording_job,
        call_sid,
        recording_url,
        dedupe_key=f"recording:{call_sid}",
        ttl=EVENT_DEDUPE_TTL,
        job_timeout=600,
    )
