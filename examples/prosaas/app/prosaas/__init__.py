"""ProSaaS CRM backend: WhatsApp and Twilio webhooks, leads, push notifications, call recordings.

``create_app()`` is the Flask application factory used by the WSGI server. What it mounts
and starts depends on ``SERVICE_ROLE`` (``api``, ``worker``, ``scheduler``, ``calls``,
``all``; see ``rqjobs.roles``):

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

from flask import Flask
from rqjobs import RoleViolation, jobs_bp
from rqjobs.roles import allows, current_role

from prosaas.realtime import start_call_event_thread
from prosaas.routes.leads import leads_bp
from prosaas.routes.notifications import notifications_bp
from prosaas.routes.webhooks import webhooks_bp

log = logging.getLogger(__name__)

# Webhook bodies are small; anything bigger is refused with 413 before it is read.
MAX_BODY_BYTES = 1024 * 1024


def create_app() -> Flask:
    role = current_role()  # raises ConfigurationError (a ValueError) for an unknown role
    if not allows("http_server", role):
        raise RoleViolation(
            f"SERVICE_ROLE={role!r} serves no HTTP routes; start this process with `rqjobs worker`"
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("prosaas").setLevel(logging.INFO)

    app = Flask(__name__)
    app.config["INTERNAL_SECRET"] = os.getenv("INTERNAL_SECRET", "")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["SERVICE_ROLE"] = role
    app.register_blueprint(jobs_bp)  # /api/jobs/health, /api/jobs/metrics

    if allows("blueprints", role):
        if not app.config["INTERNAL_SECRET"]:
            log.warning("INTERNAL_SECRET is not set: every WhatsApp webhook will get 401")
        app.register_blueprint(webhooks_bp)
        app.register_blueprint(leads_bp)
        app.register_blueprint(notifications_bp)

    if allows("realtime_threads", role):
        # Live call events for the agents' dashboard.
        start_call_event_thread()
    log.info("ProSaaS started with SERVICE_ROLE=%s", role)
    return app
