"""String cache for lead lookups: values come back as ``str``."""

from __future__ import annotations

from prosaas.services.jobs import get_redis


def get_cache():
    return get_redis(decode_responses=True)


def get_lead(lead_id: str) -> dict:
    return get_cache().hgetall(f"prosaas:lead:{lead_id}")
