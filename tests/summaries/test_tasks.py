"""
The summary task: thin, retries with backoff and jitter, gives up cleanly, and
always frees the event's pending mark. Runs eagerly here (the embedded default);
test_worker.py runs it in a real worker.
"""
import pytest

from summaries import services, tasks
from summaries.models import Summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_wait(monkeypatch):
    delays = []
    monkeypatch.setattr(tasks, "backoff", lambda retries: delays.append(retries) or 0)
    return delays


def pending(event, lang="en"):
    return services.cache.get(services._pending_key(event.pk, lang)) is not None


def test_backoff_grows_exponentially_with_jitter_and_a_cap(settings):
    settings.SUMMARY_RETRY_BACKOFF_SECONDS = 2
    settings.SUMMARY_RETRY_BACKOFF_MAX_SECONDS = 30
    for retries, (low, high) in enumerate([(1, 2), (2, 4), (4, 8), (8, 16), (15, 30), (15, 30)]):
        samples = {tasks.backoff(retries) for _ in range(50)}
        assert all(low <= s <= high for s in samples) and len(samples) > 1


def test_it_writes_the_summary_and_frees_the_pending_mark(live_event, comment):
    comment(live_event, "hi")
    services.cache.add(services._pending_key(live_event.pk, "en"), 1)
    result = tasks.summary_generate.apply(args=(live_event.pk, "en", "auto-1"))
    assert result.get() == "created" and Summary.objects.filter(window_key="auto-1").exists()
    assert not pending(live_event)


def test_a_retryable_failure_is_retried_until_it_succeeds(live_event, comment, llm, no_wait, settings):
    settings.SUMMARY_BREAKER_FAILURES = 10
    llm.script = ["error", "slow", "garbage", "ok"]
    llm.slow_seconds = 2
    comment(live_event, "hi")
    tasks.summary_generate.apply(args=(live_event.pk, "en", "auto-2"))
    summary = Summary.objects.get()
    assert (summary.provider, summary.model, summary.text) == ("openai", "qwen-plus", llm.reply)
    assert no_wait == [0, 1, 2] and len(llm.requests) == 4


def test_it_gives_up_after_max_retries(live_event, comment, llm, no_wait, settings):
    settings.SUMMARY_MAX_RETRIES = 2
    settings.SUMMARY_BREAKER_FAILURES = 100
    llm.script = ["error"]
    comment(live_event, "hi")
    services.cache.add(services._pending_key(live_event.pk, "en"), 1)
    tasks.summary_generate.apply(args=(live_event.pk, "en", "auto-3"))
    assert len(llm.requests) == 3 and not Summary.objects.exists()
    assert not pending(live_event)


def test_a_permanent_failure_is_not_retried(live_event, comment, llm, no_wait):
    llm.script = ["unauthorised"]
    comment(live_event, "hi")
    result = tasks.summary_generate.apply(args=(live_event.pk, "en", "auto-4"))
    assert result.get() == "failed" and len(llm.requests) == 1 and no_wait == []


def test_retries_stop_when_the_breaker_opens(live_event, comment, llm, no_wait, settings):
    settings.SUMMARY_BREAKER_FAILURES = 2
    llm.script = ["error"]
    comment(live_event, "hi")
    result = tasks.summary_generate.apply(args=(live_event.pk, "en", "auto-5"))
    assert len(llm.requests) == 2  # the third attempt found the breaker open
    assert result.get() == "breaker_open"


def test_a_deleted_event_is_dropped(db):
    assert tasks.summary_generate.apply(args=(987654, "en", "auto-6")).get() == "gone"


def test_the_task_has_time_limits_and_acks_late(settings):
    task = tasks.summary_generate
    assert task.acks_late is True
    assert (task.soft_time_limit, task.time_limit) == (settings.SUMMARY_TASK_SOFT_LIMIT, settings.SUMMARY_TASK_HARD_LIMIT)
    assert task.soft_time_limit < task.time_limit


def test_beat_schedules_the_tick_every_interval():
    from companion.celery import app

    entry = app.conf.beat_schedule["summaries-tick"]
    assert entry["task"] == "summaries.tasks.summaries_tick" and entry["schedule"] == 60.0
