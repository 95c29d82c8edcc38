from flask import Blueprint, request

from app.tasks import process_whatsapp_webhook_job

from rqjobs import enqueue

bp = Blueprint("hooks", __name__)


@bp.post("/webhooks/whatsapp")
def whatsapp():
    enqueue("webhooks", process_whatsapp_webhook_job, request.get_json())  # manual: RQJ300
    return "", 204
