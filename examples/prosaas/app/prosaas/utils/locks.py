"""Small Redis locks: one holder at a time for a key, for ``ttl`` seconds at most."""

from __future__ import annotations


def acquire_lock(conn, key: str, ttl: int) -> bool:
    return bool(conn.set(key, "1", nx=True, ex=ttl))


def release_lock(conn, key: str) -> None:
    conn.delete(key)
