"""Ordinary job code: per-run locks are fine here."""

from app.locks import acquire_lock, release_lock


def bulk_import(rows):
    if not acquire_lock("bulk"):
        return
    try:
        for row in rows:
            print(row)
    finally:
        release_lock("bulk")
