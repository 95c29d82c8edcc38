"""Webhook routes: retries from the provider must not run twice."""

import time
import uuid

from flask import Blueprint, request

from app import tasks
from app.services.jobs import enqueue, enqueue_with_dedupe, get_queue
from app.tasks import process_webhook_job, push_send_job, sync_contact

bp = Blueprint("hooks", __name__)


@bp.post("/webhooks/whatsapp")
def whatsapp():
    event = request.json
    enqueue("webhooks", process_webhook_job, event)
    return "", 204


@bp.post("/webhooks/whatsapp/v2")
def whatsapp_v2():
    event = request.json
    enqueue_with_dedupe(
        "webhooks", process_webhook_job, event, dedupe_key=f"webhook:whatsapp:{event['id']}"
    )
    return "", 204


@bp.route("/twilio/recording-callback", methods=["POST"])
def recording():
    sid = request.form["CallSid"]
    enqueue_with_dedupe("calls", tasks.save_recording_job, sid, dedupe_key=f"rec:{uuid.uuid4()}")
    enqueue(
        "calls",
        tasks.save_recording_job,
        sid,
        job_id=f"rec-{int(time.time() * 1000)}",
    )
    return "", 204


@bp.route("/health")
def health():
    enqueue("default", tasks.send_reminders)
    return "ok"


def notify(user_id):
    get_queue("push").enqueue(push_send_job, user_id)
    enqueue_with_dedupe("push", push_send_job, user_id, dedupe_key="push")
    enqueue_with_dedupe("push", push_send_job, user_id)
    enqueue("contacts", sync_contact, user_id)
