"""
Summary tasks: thin. They take ids, call a service, and own the retry policy.

``summary_generate`` is idempotent (one summary per event, language and
window), so ``acks_late`` redelivery after a lost worker is safe. Its soft and
hard time limits come from CELERY_TASK_ANNOTATIONS in settings.
"""
import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from events.models import Event

from . import services
from .providers import ProviderError

logger = logging.getLogger(__name__)


def backoff(retries: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random, capped."""
    step = min(settings.SUMMARY_RETRY_BACKOFF_MAX_SECONDS, settings.SUMMARY_RETRY_BACKOFF_SECONDS * 2**retries)
    return step / 2 + random.uniform(0, step / 2)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def summary_generate(self, event_id: int, lang: str, window_key: str) -> str:
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        services.summary_task_done(event_id=event_id, lang=lang)
        return "gone"
    try:
        outcome = services.summary_generate(event=event, lang=lang, window_key=window_key)
    except ProviderError as exc:
        if exc.retryable and self.request.retries < settings.SUMMARY_MAX_RETRIES:
            logger.info("summary of event %s [%s] failed (%s), retrying", event_id, lang, exc.kind)
            raise self.retry(exc=exc, countdown=backoff(self.request.retries), max_retries=settings.SUMMARY_MAX_RETRIES)
        logger.warning("summary of event %s [%s] failed: %s", event_id, lang, exc)
        services.summary_task_done(event_id=event_id, lang=lang)
        return "failed"
    except SoftTimeLimitExceeded:
        logger.warning("summary of event %s [%s] ran past its soft time limit", event_id, lang)
        services.summary_task_done(event_id=event_id, lang=lang)
        return "timed_out"
    except Exception:
        services.summary_task_done(event_id=event_id, lang=lang)
        raise
    services.summary_task_done(event_id=event_id, lang=lang)
    return outcome.status


@shared_task(ignore_result=True)
def summaries_tick() -> int:
    """Beat's call: enqueue a summary of every live event and language that is due."""
    return len(services.summaries_enqueue_due())
