"""Job functions run by the RQ workers.

Each job records what it did in a Redis hash ``prosaas:processed:<kind>`` (field = the
event's id, value = how many times it ran), which the operators' dashboard reads.
"""

from __future__ import annotations

import logging

from prosaas.services.jobs import get_redis

log = logging.getLogger(__name__)


def _redis():
    return get_redis()


def process_whatsapp_webhook_job(message: dict) -> None:
    _redis().hincrby("prosaas:processed:whatsapp", message["id"], 1)
    log.info("Processed WhatsApp message %s from %s", message["id"], message.get("from"))


def twilio_callback_job(call_sid: str, event_type: str) -> None:
    _redis().hincrby("prosaas:processed:twilio", f"{call_sid}:{event_type}", 1)


def push_send_job(notification_id: str, user_id: str, title: str) -> None:
    _redis().hincrby("prosaas:processed:push", notification_id, 1)
    log.info("Push %s sent to user %s: %s", notification_id, user_id, title)


def download_recording_job(call_sid: str, recording_url: str) -> None:
    _redis().hincrby("prosaas:processed:recording", call_sid, 1)


def score_lead_job(lead_id: str) -> int:
    conn = _redis()
    lead = conn.hgetall(f"prosaas:lead:{lead_id}")
    if not lead:
        raise LookupError(f"lead {lead_id} not found")
    score = 10 + 5 * len(lead.get(b"phone", b""))
    conn.hset(f"prosaas:lead:{lead_id}", "score", score)
    conn.hincrby("prosaas:processed:leads", lead_id, 1)
    return score


def send_due_reminders_job() -> None:
    _redis().incr("prosaas:reminders:runs")


def expire_stale_sessions_job() -> None:
    _redis().incr("prosaas:sessions:cleanups")
