# fix-options: --wrapper-module services.jobs
from services.jobs import get_queue

from app.tasks import send_reminder


def remind(user_id, when):
    # services/jobs.py is not in this project: whether it offers enqueue_at is not known
    get_queue("reminders").enqueue_at(when, send_reminder, user_id)  # manual: RQJ003
