from flask import Flask

from app.scheduler import start_cleanup_scheduler, start_reminder_scheduler


def create_app(settings):
    app = Flask(__name__)
    start_reminder_scheduler(app)
    # The interval is bound by the call itself: removing the call would leave n unbound.
    start_cleanup_scheduler(n := 60)  # manual: RQJ100
    app.config["CLEANUP_EVERY"] = n
    start_cleanup_scheduler(settings.load())  # manual: RQJ100
    return app
