"""
The Celery app: ``companion.celery:app``.

Settings come from Django's settings under the CELERY_ prefix (broker, eager
mode in the embedded default, time limits, the beat schedule); tasks are
found in each app's ``tasks.py``.

    celery -A companion worker -l info          # workers
    celery -A companion beat -l info            # exactly one scheduler
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "companion.settings")

app = Celery("companion")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
