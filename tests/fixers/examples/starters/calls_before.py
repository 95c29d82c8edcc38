from flask import Flask

from app.scheduler import _start_digest_scheduler, start_reminder_scheduler
from app.workers import start_worker


def create_app():
    app = Flask(__name__)
    # Reminders go out every minute.
    start_reminder_scheduler(app)
    start_worker()
    return app


if __name__ == "__main__":
    _start_digest_scheduler()
