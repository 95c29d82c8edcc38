"""Comments next to removed code are kept."""

from rqjobs import get_redis

# Redis for the job queue
# pinned in requirements.txt

client = get_redis()  # shared
