"""Lead routes of the migrated app: behaviour kept through the migration.

The lead import still uses a per-request gate (``acquire_lock``/``release_lock``, not scheduler
code, so not flagged) and now reads the backlog from ``get_queue("leads").count``; scoring
runs in a real worker and reads the lead through the ``decode_responses=True`` cache client.
"""

from __future__ import annotations

from prosaas_support import run_workers


def test_create_import_and_score_leads(client, redis_url, redis_conn) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/leads", json={"name": "Ada", "phone": "+15550100"})
    assert created.status_code == 201
    lead_id = created.get_json()["id"]
    assert client.get(f"/api/leads/{lead_id}").get_json() == {"name": "Ada", "phone": "+15550100"}
    assert client.get("/api/leads/999").status_code == 404

    rows = [{"name": f"Lead {n}", "phone": "+1555"} for n in range(3)]
    imported = client.post("/api/leads/import", json={"leads": rows})
    assert imported.get_json() == {"imported": 3, "backlog": 4}
    assert redis_conn.exists("prosaas:lead-import-gate") == 0  # the gate was released

    redis_conn.set("prosaas:lead-import-gate", "1", ex=60)  # another import is running
    blocked = client.post("/api/leads/import", json={"leads": rows})
    assert blocked.status_code == 409
    assert redis_conn.llen("rq:queue:leads") == 4  # nothing enqueued by the refused import

    run_workers(redis_url, ["leads"])
    scores = redis_conn.hgetall("prosaas:processed:leads")
    assert sorted(scores) == [b"1", b"2", b"3", b"4"]
    assert client.get(f"/api/leads/{lead_id}").get_json()["score"] == "55"
