"""Flask blueprint ``jobs_bp`` (url prefix ``/api/jobs``): health and metrics endpoints.

- ``GET /api/jobs/health``: 200 ``{"queues": ..., "scheduler": ..., "status": "healthy"}``
  or 503 ``{"status": "unhealthy", "error": ...}`` (see :func:`rqjobs.health.health_report`).
  Set ``app.config["RQJOBS_REQUIRE_SCHEDULER"] = False`` in a deployment without a scheduler.
- ``GET /api/jobs/metrics``: Prometheus text exposition (see :mod:`rqjobs.metrics`).

Registering the blueprint checks ``SERVICE_ROLE``: roles without the ``blueprints``
capability (``worker``, ``scheduler``) get a ``RoleViolation`` at start-up.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from .health import health_report

__all__ = ["jobs_bp"]

jobs_bp = Blueprint("rqjobs", __name__, url_prefix="/api/jobs")


@jobs_bp.record_once
def _check_role(state: Any) -> None:
    from .roles import RoleViolation, allows, current_role

    if not allows("blueprints"):
        raise RoleViolation(
            f"jobs_bp registered in SERVICE_ROLE {current_role()!r}, which serves no "
            "blueprints; mount rqjobs.health_report() directly or use an api/all process"
        )


@jobs_bp.get("/health")
def health() -> Any:
    status, body = health_report(
        require_scheduler=bool(current_app.config.get("RQJOBS_REQUIRE_SCHEDULER", True))
    )
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@jobs_bp.get("/metrics")
def metrics() -> Any:
    from .metrics import render_metrics

    body, content_type = render_metrics()
    return Response(body, status=200, headers={"Content-Type": content_type})
