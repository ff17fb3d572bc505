"""
Celery tasks: thin wrappers that take ids and call services.

``poll_close_when_due`` is enqueued at launch with the poll's duration as
countdown. It is late-acknowledged and idempotent: run twice, early (eager
mode runs it at once) or late, it closes the poll only if its time is up
and it is still open. ``polls_close_due`` is the beat sweep that closes
whatever a lost task left open.
"""
from celery import shared_task

from . import services


@shared_task(acks_late=True, ignore_result=True)
def poll_close_when_due(poll_id: int) -> bool:
    return services.poll_close_due(poll_id=poll_id)


@shared_task(acks_late=True, ignore_result=True)
def polls_close_due() -> int:
    return services.polls_close_due()
