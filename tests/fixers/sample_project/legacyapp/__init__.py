"""A legacy RQ app, as teams write them before adopting rqjobs (the fixer's test subject)."""

from flask import Flask

from legacyapp.routes import webhooks_bp
from legacyapp.scheduler import start_cleanup_scheduler


def create_app() -> Flask:
    app = Flask(__name__)
    app.register_blueprint(webhooks_bp)
    # Cleanup runs every minute, in this very process.
    start_cleanup_scheduler(app)
    return app
