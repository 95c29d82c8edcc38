"""Comments next to removed code are kept."""
import os

# Redis for the job queue
from redis import Redis  # pinned in requirements.txt

client = Redis.from_url(os.getenv("REDIS_URL"))  # shared
