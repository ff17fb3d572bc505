"""
Settings of test_worker.py's Celery worker subprocess: the production settings
(REDIS_URL and DATABASE_URL come from its environment), on the test's own
channel-layer prefix, cache prefix and queue, so runs sharing a Redis never
hear each other.
"""
import os

from companion.settings import *  # noqa: F403
from companion.settings import CACHES, CHANNEL_LAYERS

CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["TEST_CHANNEL_PREFIX"]
CACHES["default"]["KEY_PREFIX"] = os.environ["TEST_CHANNEL_PREFIX"]
CELERY_TASK_DEFAULT_QUEUE = os.environ["TEST_CELERY_QUEUE"]
