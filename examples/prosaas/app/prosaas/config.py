"""Settings read from the environment."""

from __future__ import annotations

import os

from prosaas.services.jobs import get_redis

REDIS_URL = os.getenv("REDIS_URL")
INTERNAL_SECRET = os.getenv("INTERNAL_SECRET", "")

# Shared client (None when Redis is not configured, e.g. in unit tests).
redis_client = get_redis() if REDIS_URL else None
