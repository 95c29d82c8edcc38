"""Webhook routes."""

import os
import queue

from flask import Blueprint, jsonify, request
from redis import Redis
from rq import Queue

from legacyapp.tasks import process_whatsapp_webhook_job

webhooks_bp = Blueprint("webhooks", __name__)
# Realtime fan-out inside this process (stdlib queue: not an RQ queue).
live_events = queue.Queue()


@webhooks_bp.post("/webhooks/whatsapp")
def whatsapp_webhook():
    payload = request.get_json()
    conn = Redis.from_url(os.getenv("REDIS_URL"))
    for message in payload.get("messages", []):
        live_events.put(message)
        Queue("webhooks", connection=conn).enqueue(process_whatsapp_webhook_job, message)
    return jsonify(received=len(payload.get("messages", []))), 200


@webhooks_bp.get("/queues")
def queue_sizes():
    q = Queue("webhooks", connection=Redis.from_url(os.getenv("REDIS_URL")))
    return jsonify(webhooks=q.count)
