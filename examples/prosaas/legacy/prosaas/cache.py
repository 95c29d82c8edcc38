"""String cache for lead lookups: values come back as ``str``."""

from __future__ import annotations

import os

from redis import Redis


def get_cache():
    return Redis.from_url(os.getenv("REDIS_URL"), decode_responses=True)


def get_lead(lead_id: str) -> dict:
    return get_cache().hgetall(f"prosaas:lead:{lead_id}")
