"""Incoming webhooks: WhatsApp messages (Baileys bridge) and Twilio callbacks.

Providers retry a webhook until they get a 2xx, so the same event arrives more than once.
Every event is enqueued with ``enqueue_with_dedupe`` under a key built from the provider's
own id: a retry inside the dedupe window is skipped, never run twice.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from prosaas.realtime import publish_call_event
from prosaas.services.jobs import EVENT_DEDUPE_TTL, enqueue_with_dedupe
from prosaas.services.recordings import schedule_recording_download
from prosaas.tasks import process_whatsapp_webhook_job, twilio_callback_job

log = logging.getLogger(__name__)

webhooks_bp = Blueprint("webhooks", __name__)

WHATSAPP_SHAPE = '{"messages": [{"id": "...", "from": "...", "text": "..."}, ...]}'


def _secret_ok() -> bool:
    """``X-Internal-Secret`` equals the configured secret (compared in constant time)."""
    expected = current_app.config.get("INTERNAL_SECRET") or ""
    given = request.headers.get("X-Internal-Secret", "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _message_id(message: object) -> str:
    """The message's id as text, or ``""`` when it has none."""
    if not isinstance(message, dict):
        return ""
    value = message.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value).strip()


@webhooks_bp.route("/webhook/whatsapp/incoming", methods=["POST"])
def whatsapp_incoming():
    if not _secret_ok():
        return jsonify(error="unauthorized: missing or wrong X-Internal-Secret"), 401
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        return jsonify(error=f"body must be JSON shaped like {WHATSAPP_SHAPE}"), 400

    queued, duplicates, rejected = [], [], []
    for index, message in enumerate(payload["messages"]):
        message_id = _message_id(message)
        if not message_id:
            rejected.append(index)
            continue
        job = enqueue_with_dedupe(
            "webhooks",
            process_whatsapp_webhook_job,
            message,
            dedupe_key=f"webhook:baileys:{message_id}",
            ttl=EVENT_DEDUPE_TTL,
        )
        if job is None:
            log.info("Skipped duplicate webhook for msg_id=%s", message_id)
            duplicates.append(message_id)
        else:
            queued.append(message_id)

    body: dict = {"queued": queued, "duplicates": duplicates}
    if rejected:
        # The valid messages of the batch are queued (a resend is deduplicated); the
        # provider is told which ones were refused.
        body["rejected"] = rejected
        body["error"] = f"message(s) at index {', '.join(map(str, rejected))} have no id"
        return jsonify(body), 400
    return jsonify(body), 200


@webhooks_bp.route("/webhook/twilio/status", methods=["POST"])
def twilio_status_callback():
    call_sid = request.form.get("CallSid", "").strip()
    event_type = request.form.get("CallStatus", "").strip()
    if not call_sid or not event_type:
        return jsonify(error="CallSid and CallStatus are required"), 400
    publish_call_event({"call_sid": call_sid, "status": event_type})
    dedupe_key = f"twilio:{call_sid}:{event_type}"
    job = enqueue_with_dedupe(
        "calls",
        twilio_callback_job,
        call_sid,
        event_type,
        dedupe_key=dedupe_key,
        ttl=EVENT_DEDUPE_TTL,
    )
    if job is None:
        log.info("Skipped duplicate Twilio callback %s", dedupe_key)
    return "", 204


@webhooks_bp.route("/webhook/twilio/recording", methods=["POST"])
def twilio_recording_callback():
    call_sid = request.form.get("CallSid", "").strip()
    recording_url = request.form.get("RecordingUrl", "").strip()
    if not call_sid or not recording_url:
        return jsonify(error="CallSid and RecordingUrl are required"), 400
    if schedule_recording_download(call_sid, recording_url) is None:
        log.info("Skipped duplicate recording callback for call_sid=%s", call_sid)
    return "", 204
