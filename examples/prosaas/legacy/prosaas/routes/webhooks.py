"""Incoming webhooks: WhatsApp messages (Baileys bridge) and Twilio callbacks."""

from __future__ import annotations

import os
import time

from flask import Blueprint, current_app, jsonify, request
from redis import Redis
from rq import Queue

from prosaas.realtime import publish_call_event
from prosaas.services.recordings import schedule_recording_download
from prosaas.tasks import process_whatsapp_webhook_job, twilio_callback_job

webhooks_bp = Blueprint("webhooks", __name__)


@webhooks_bp.route("/webhook/whatsapp/incoming", methods=["POST"])
def whatsapp_incoming():
    if request.headers.get("X-Internal-Secret") != current_app.config["INTERNAL_SECRET"]:
        return jsonify(error="unauthorized"), 401
    payload = request.get_json()
    conn = Redis.from_url(os.getenv("REDIS_URL"))
    q = Queue("webhooks", connection=conn)
    for message in payload.get("messages", []):
        q.enqueue(
            process_whatsapp_webhook_job,
            message,
            job_id=f"webhook-{int(time.time() * 1000)}",
        )
    return jsonify(status="queued")


@webhooks_bp.route("/webhook/twilio/status", methods=["POST"])
def twilio_status_callback():
    call_sid = request.form.get("CallSid")
    event_type = request.form.get("CallStatus")
    publish_call_event({"call_sid": call_sid, "status": event_type})
    Queue("calls", connection=Redis.from_url(os.getenv("REDIS_URL"))).enqueue(
        twilio_callback_job, call_sid, event_type
    )
    return "", 204


@webhooks_bp.route("/webhook/twilio/recording", methods=["POST"])
def twilio_recording_callback():
    schedule_recording_download(request.form["CallSid"], request.form["RecordingUrl"])
    return "", 204
