"""Job functions. Each one records that it ran, so that tests can count runs."""

import json
import os

from redis import Redis


def _redis():
    return Redis.from_url(os.getenv("REDIS_URL"))


def _record(name, *args, **kwargs):
    _redis().rpush("sample:done", json.dumps([name, list(args), kwargs], sort_keys=True))


def send_push_job(user_id, title):
    _record("send_push_job", user_id, title)


def export_job(account_id, fmt="csv"):
    _record("export_job", account_id, fmt=fmt)
    return f"export-{account_id}.{fmt}"


def process_whatsapp_webhook_job(message):
    _record("process_whatsapp_webhook_job", message)


def download_recording_job(call_sid):
    _record("download_recording_job", call_sid)


def cleanup_job():
    _record("cleanup_job")
