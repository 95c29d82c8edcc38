from flask import Flask

from app.workers import start_worker


def create_app():
    app = Flask(__name__)
    # Reminders go out every minute.
    start_worker()
    return app


if __name__ == "__main__":
    pass
