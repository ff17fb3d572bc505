"""
The embedded default's beat. With no Celery services (the demo), the server
process itself runs the periodic jobs, so their results (a poll closing on
time, a fresh summary) reach viewers through its own in-memory layer.
Production runs `celery -A companion beat` instead and leaves this off.
"""
import asyncio
import logging
import time

from channels.db import database_sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)


async def run() -> None:
    from polls.services import polls_close_due
    from summaries.services import summaries_enqueue_due

    jobs = [
        (settings.POLL_SWEEP_SECONDS, polls_close_due),
        (settings.SUMMARY_INTERVAL_SECONDS, summaries_enqueue_due),
    ]
    last = [0.0] * len(jobs)
    while True:
        await asyncio.sleep(min(interval for interval, _ in jobs) / 2)
        for index, (interval, job) in enumerate(jobs):
            if time.monotonic() - last[index] < interval:
                continue
            last[index] = time.monotonic()
            try:
                await database_sync_to_async(job)()
            except Exception:
                logger.exception("embedded beat: %s failed", job.__name__)
