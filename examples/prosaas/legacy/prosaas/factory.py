"""The Flask application factory, ``create_app()``, used by the WSGI server (``prosaas.wsgi``)."""

from __future__ import annotations

import logging
import os

from flask import Flask

from prosaas.realtime import start_call_event_thread
from prosaas.routes.leads import leads_bp
from prosaas.routes.notifications import notifications_bp
from prosaas.routes.webhooks import webhooks_bp
from prosaas.services.reminder_scheduler import start_reminder_scheduler


def create_app() -> Flask:
    logging.basicConfig(level=logging.INFO)
    app = Flask(__name__)
    app.config["INTERNAL_SECRET"] = os.getenv("INTERNAL_SECRET", "")
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(leads_bp)
    app.register_blueprint(notifications_bp)

    # Live call events for the agents' dashboard.
    start_call_event_thread()
    # Reminders go out every minute.
    start_reminder_scheduler()
    return app
