import time
import uuid

from flask import Blueprint, request

from app.tasks import process_whatsapp_webhook_job, push_send_job

from rqjobs import enqueue, enqueue_with_dedupe

bp = Blueprint("hooks", __name__)


@bp.post("/webhooks/whatsapp")
def whatsapp():
    event = request.get_json()
    enqueue_with_dedupe(  # manual: RQJ301
        "webhooks",
        process_whatsapp_webhook_job,
        event,
        dedupe_key=f"wa:{uuid.uuid4()}",
    )
    return "", 204


def notify(user_id):
    stamp = int(time.time() * 1000)
    enqueue("push", push_send_job, user_id, job_id=f"push-{stamp}")  # manual: RQJ300 RQJ301
