"""Lead cache: values come back as str (decode_responses=True)."""

import os

from redis import Redis


def get_cache():
    return Redis.from_url(os.getenv("REDIS_URL"), decode_responses=True)


def remember_lead(lead_id, name):
    get_cache().set(f"sample:lead:{lead_id}", name)


def lead_name(lead_id):
    return get_cache().get(f"sample:lead:{lead_id}")
