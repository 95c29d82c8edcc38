import threading

from flask import Flask

from app.bg import _start_cleanup_scheduler, start_reminder_scheduler, start_worker
from app.sessions import start_session_processor


def create_app():
    app = Flask(__name__)
    start_reminder_scheduler(app)
    _start_cleanup_scheduler()
    threading.Thread(target=start_session_processor, daemon=True).start()
    start_worker()  # a decoy: not a scheduler starter
    return app


def start_of_month():
    return 1
