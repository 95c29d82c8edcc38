from rqjobs import enqueue

from app.tasks import send_email


def notify(user_id):
    # one mail per user
    enqueue("emails", send_email, user_id, job_timeout=30)
