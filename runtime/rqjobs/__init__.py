"""rqjobs: the compliant RQ + Redis wrapper that fixed code calls.

Every public name is importable from ``rqjobs`` itself.
"""

from __future__ import annotations

__version__ = "0.1.0"

# --- runtime core (connection, enqueue, dedupe, ids, stats, roles) ---
# --- end runtime core ---

# --- scheduling and observability (scheduler, health, metrics) ---
# --- end scheduling and observability ---
