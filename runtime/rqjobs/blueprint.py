"""Flask blueprint ``jobs_bp`` (url prefix ``/api/jobs``): health and metrics endpoints.

- ``GET /api/jobs/health``: 200 ``{"status": "healthy", ...}``, 200 ``{"status": "degraded",
  "warnings": [...], ...}`` (jobs can be enqueued, but a server setting or overdue scheduled
  jobs need attention: keep the pod in rotation, alert on it) or 503 ``{"status":
  "unhealthy", "error": ...}`` (nothing can be enqueued, or the scheduler is stale); see
  :func:`rqjobs.health.health_report`. Set ``app.config["RQJOBS_REQUIRE_SCHEDULER"] = False``
  in a deployment without a scheduler. With ``RQJOBS_HEALTH_TOKEN`` set, queue names and the
  scheduler's host/pid are shown only to a request carrying ``Authorization: Bearer <token>``
  or ``X-Health-Token: <token>`` (compared in constant time); ``RQJOBS_HEALTH_DETAILS=0``
  hides them from everyone.
- ``GET /api/jobs/metrics``: Prometheus text exposition (see :mod:`rqjobs.metrics`).

Registering the blueprint checks ``SERVICE_ROLE``: roles without the ``blueprints``
capability (``worker``, ``scheduler``) get a ``RoleViolation`` at start-up.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Blueprint, Response, current_app, jsonify, request

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


def presented_token() -> Optional[str]:
    """The token of the current request: ``Authorization: Bearer <token>``, else
    ``X-Health-Token``; ``None`` when neither is sent. Compared by
    :func:`rqjobs.health.show_details` with ``hmac.compare_digest``."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    header = request.headers.get("X-Health-Token", "").strip()
    return header or None


@jobs_bp.get("/health")
def health() -> Any:
    status, body = health_report(
        require_scheduler=bool(current_app.config.get("RQJOBS_REQUIRE_SCHEDULER", True)),
        token=presented_token(),
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
