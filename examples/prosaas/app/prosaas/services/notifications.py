"""Push notifications: sent by a worker, never from the request."""

from __future__ import annotations

from prosaas.services.jobs import EVENT_DEDUPE_TTL, enqueue_with_dedupe
from prosaas.tasks import push_send_job


def dispatch_push(notification_id: str, user_id: str, title: str):
    """Queue one push per notification id; a repeat within the dedupe window returns ``None``."""
    return enqueue_with_dedupe(
        "notifications",
        push_send_job,
        notification_id,
        user_id,
        title,
        dedupe_key=f"push:notification:{notification_id}",
        ttl=EVENT_DEDUPE_TTL,
    )
