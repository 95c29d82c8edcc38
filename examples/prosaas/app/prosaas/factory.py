"""The Flask application factory, ``create_app()``, used by the WSGI server (``prosaas.wsgi``).

What it mounts and starts depends on ``SERVICE_ROLE`` (``api``, ``worker``, ``scheduler``,
``calls``, ``all``; see ``rqjobs.roles``):

- every role that serves HTTP gets ``/api/jobs/health`` and ``/api/jobs/metrics``;
- ``api``, ``calls`` and ``all`` get the webhook, lead and notification routes;
- only ``calls`` and ``all`` start the realtime call-event thread;
- ``worker`` serves no HTTP at all (run ``rqjobs worker``), and nothing here starts a
  scheduler: periodic jobs run in the scheduler service (``prosaas.schedule``).

An unknown ``SERVICE_ROLE`` stops start-up with the valid values in the message.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, Response, jsonify
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rqjobs import RoleViolation, health_report
from rqjobs.blueprint import jobs_bp
from rqjobs.roles import allows, current_role

from prosaas.realtime import start_call_event_thread
from prosaas.routes.leads import leads_bp
from prosaas.routes.notifications import notifications_bp
from prosaas.routes.webhooks import webhooks_bp

log = logging.getLogger(__name__)

# Webhook bodies are small; anything bigger is refused with 413 before it is read.
MAX_BODY_BYTES = 1024 * 1024
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def create_app() -> Flask:
    role = current_role()  # raises ConfigurationError (a ValueError) for an unknown role
    if not allows("http_server", role):
        raise RoleViolation(
            f"SERVICE_ROLE={role!r} serves no HTTP routes; start this process with `rqjobs worker`"
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("prosaas").setLevel(logging.INFO)

    app = Flask(__name__)
    app.config["INTERNAL_SECRET"] = os.getenv("INTERNAL_SECRET", "")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["SERVICE_ROLE"] = role
    # rqjobs.RedisUnavailable is a redis ConnectionError; the cache client raises plain ones.
    app.register_error_handler(RedisConnectionError, _redis_unavailable)
    app.register_error_handler(RedisTimeoutError, _redis_unavailable)

    if allows("blueprints", role):
        if not app.config["INTERNAL_SECRET"]:
            log.warning("INTERNAL_SECRET is not set: every WhatsApp webhook will get 401")
        app.register_blueprint(jobs_bp)  # /api/jobs/health, /api/jobs/metrics
        app.register_blueprint(webhooks_bp)
        app.register_blueprint(leads_bp)
        app.register_blueprint(notifications_bp)
    else:
        _mount_health(app)  # the scheduler role serves no blueprints, only its health

    if allows("realtime_threads", role):
        # Live call events for the agents' dashboard.
        start_call_event_thread()
    log.info("ProSaaS started with SERVICE_ROLE=%s", role)
    return app


def _mount_health(app: Flask) -> None:
    """``/api/jobs/health`` and ``/api/jobs/metrics`` without ``jobs_bp`` (scheduler role)."""
    from rqjobs.metrics import render_metrics

    def health():  # type: ignore[no-untyped-def]
        status, body = health_report()
        return jsonify(body), status

    def metrics():  # type: ignore[no-untyped-def]
        body, content_type = render_metrics()
        return Response(body, headers={"Content-Type": content_type})

    app.add_url_rule("/api/jobs/health", "health", health)
    app.add_url_rule("/api/jobs/metrics", "metrics", metrics)


def _redis_unavailable(error: Exception):  # type: ignore[no-untyped-def]
    # Nothing was enqueued: a 503 makes the provider retry the delivery later.
    log.error("Redis unavailable: %s", error)
    return jsonify(error="job queue unavailable, retry later"), 503
