from rqjobs import enqueue

from app.tasks import send_email


def welcome(user_id):
    enqueue(
        "emails",
        send_email,
        user_id,
        template="welcome",
    )


def reminder(user_id):
    enqueue(
        "default",
        send_email,
        user_id,
        template="reminder",
        job_timeout=60
    )
