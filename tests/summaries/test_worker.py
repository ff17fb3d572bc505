"""
A real Celery worker process on a real Redis broker, as in production.

The worker is ``celery -A companion worker --pool=solo -c 1`` in a subprocess
(settings: tests/summaries/worker_settings.py, production's on this test's
channel prefix and queue), pointed at this test's database (PostgreSQL's ``test_<name>`` under
scripts/test.sh, or a file-based SQLite test database), at the Redis from
TEST_REDIS_URL as broker, cache and channel layer, and at a chat-completions
server on loopback. The test sends beat's tick, then watches a summary row
appear and a ``summary`` frame arrive on the room's group.
"""
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from asgiref.sync import async_to_sync
from celery import Celery
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.db import connection

from chat import wire
from summaries.models import Summary

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(django_settings.BASE_DIR)


def worker_database_url() -> str:
    """This test's database, as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        return f"postgres://{auth}@{host}/{quote(db['NAME'], safe='')}"
    if db["ENGINE"] == "django.db.backends.sqlite3" and not connection.creation.is_in_memory_db(db["NAME"]):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    message = "the worker needs a PostgreSQL (DATABASE_URL) or file-based SQLite test database"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def queue():
    return f"summaries-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(redis_layer, llm, queue, settings, tmp_path):
    """A Celery worker subprocess; yields a function that returns its log so far."""
    database_url = worker_database_url()
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.summaries.worker_settings",
        "TEST_CHANNEL_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi"),
        "TEST_CELERY_QUEUE": queue,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_layer,
        "CELERY_BROKER_URL": redis_layer,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LLM_BASE_URL": llm.url,
        "LLM_API_KEY": "sk-test",
        "LLM_MODEL": "qwen-plus",
        "LLM_TIMEOUT": "2",
        "SUMMARY_RETRY_BACKOFF_SECONDS": "0.2",
        "SUMMARY_RETRY_BACKOFF_MAX_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    celery_bin = Path(sys.executable).with_name("celery")
    command = [
        str(celery_bin), "-A", "companion", "worker", "--pool=solo", "-c", "1", "-l", "info",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue, "-n", f"{queue}@%h",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield lambda: log_path.read_text(errors="replace")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_for(condition, *, timeout: float, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out; worker log:\n{log()[-6000:]}")


async def frames_after(send, group: str, *, count: int, timeout: float) -> list[dict]:
    """Subscribe to ``group``, call ``send``, collect ``count`` frame messages."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        send()
        messages = []
        async with asyncio.timeout(timeout):
            while len(messages) < count:
                message = await layer.receive(channel)
                if message["type"] == wire.LAYER_FRAME:
                    messages.append(message)
        return messages
    finally:
        await layer.group_discard(group, channel)


def test_a_real_worker_writes_retries_and_broadcasts_summaries(worker, queue, redis_layer, llm, live_event, comment):
    """
    Beat's tick on the broker makes the worker enqueue and run one task per
    language; a 500 from the provider is retried with backoff; the summaries
    are stored and broadcast as ``summary`` frames; a redelivered task creates
    nothing and calls nobody.
    """
    live_event.summary_languages = ["en", "zh"]
    live_event.save()
    comment(live_event, "forza azzurri")
    comment(live_event, "what a volley")
    llm.script = ["error", "ok"]
    client = Celery("test-client", broker=redis_layer)

    try:
        messages = async_to_sync(frames_after)(
            lambda: client.send_task("summaries.tasks.summaries_tick", queue=queue),
            wire.room_group(live_event.pk),
            count=2,
            timeout=60,
        )
    except TimeoutError:
        pytest.fail(f"no summary frames; worker log:\n{worker()[-6000:]}")

    summaries = {s.lang: s for s in Summary.objects.filter(event=live_event)}
    assert set(summaries) == {"en", "zh"}
    assert {s.provider for s in summaries.values()} == {"openai"}
    assert {s.text for s in summaries.values()} == {llm.reply}
    assert all(s.prompt_tokens == 321 and s.completion_tokens == 45 for s in summaries.values())
    assert {m["key"] for m in messages} == {"summary:en", "summary:zh"}
    for message in messages:
        payload = message["frame"]["summary"]
        assert message["frame"]["type"] == "summary"
        assert payload == wire.summary_payload(summaries[payload["lang"]])
    assert len(llm.requests) == 3  # one 500, retried
    assert "retry" in worker().lower()

    # A redelivered task of the same window: nothing new, no call. A later task
    # on the same queue shows the worker got past it.
    calls = len(llm.requests)
    en = summaries["en"]
    client.send_task("summaries.tasks.summary_generate", args=[live_event.pk, "en", en.window_key], queue=queue)
    comment(live_event, "and another")
    client.send_task("summaries.tasks.summary_generate", args=[live_event.pk, "zh", "req-after"], queue=queue)
    wait_for(lambda: Summary.objects.filter(window_key="req-after").exists(), timeout=30, log=worker)
    assert Summary.objects.filter(event=live_event, lang="en").count() == 1
    assert len(llm.requests) == calls + 1
