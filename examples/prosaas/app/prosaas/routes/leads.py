"""Lead routes: create a lead, import a batch of leads."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from prosaas.cache import get_cache, get_lead
from prosaas.config import redis_client
from prosaas.services.jobs import enqueue, get_queue
from prosaas.tasks import score_lead_job
from prosaas.utils.locks import acquire_lock, release_lock

leads_bp = Blueprint("leads", __name__)

IMPORT_GATE = "prosaas:lead-import-gate"


@leads_bp.route("/api/leads", methods=["POST"])
def create_lead():
    data = request.get_json(silent=True) or {}
    cache = get_cache()
    lead_id = str(cache.incr("prosaas:lead-seq"))
    cache.hset(
        f"prosaas:lead:{lead_id}",
        mapping={"name": data.get("name", ""), "phone": data.get("phone", "")},
    )
    enqueue("leads", score_lead_job, lead_id)
    return jsonify(id=lead_id), 201


@leads_bp.route("/api/leads/<lead_id>")
def show_lead(lead_id: str):
    lead = get_lead(lead_id)
    if not lead:
        return jsonify(error="no such lead"), 404
    return jsonify(lead)


@leads_bp.route("/api/leads/import", methods=["POST"])
def import_leads():
    rows = (request.get_json(silent=True) or {}).get("leads", [])
    # One import at a time: a second one waits for the first to finish.
    if not acquire_lock(redis_client, IMPORT_GATE, ttl=300):
        return jsonify(error="an import is already running"), 409
    try:
        cache = get_cache()
        q = get_queue("leads")
        for row in rows:
            lead_id = str(cache.incr("prosaas:lead-seq"))
            cache.hset(f"prosaas:lead:{lead_id}", mapping=row)
            enqueue("leads", score_lead_job, lead_id)
        return jsonify(imported=len(rows), backlog=q.count)
    finally:
        release_lock(redis_client, IMPORT_GATE)
