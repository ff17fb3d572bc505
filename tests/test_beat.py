"""The embedded default's beat: with EMBEDDED_BEAT on, the server process closes due polls itself."""
import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from companion import beat
from polls.models import Poll
from tests.chat.test_consumers import connect, next_frame
from tests.polls.conftest import make_poll, open_poll  # noqa: F401  (fixtures)
from tests.events.conftest import producer, role_user  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_beat_closes_a_poll_whose_time_is_up(live_event, open_poll, settings):
    settings.POLL_SWEEP_SECONDS = 0.2
    await database_sync_to_async(Poll.objects.filter(pk=open_poll.pk).update)(closes_at=timezone.now() - timedelta(seconds=1))
    task = asyncio.create_task(beat.run())
    try:
        for _ in range(50):
            await asyncio.sleep(0.1)
            status = (await database_sync_to_async(Poll.objects.get)(pk=open_poll.pk)).status
            if status == Poll.Status.CLOSED:
                break
        assert status == Poll.Status.CLOSED
    finally:
        task.cancel()


async def test_the_room_hub_starts_the_beat_only_when_asked(live_event, open_poll, settings):
    """With EMBEDDED_BEAT, a viewer's room learns the poll closed on time, with no Celery and no sweep call."""
    settings.EMBEDDED_BEAT, settings.POLL_SWEEP_SECONDS = True, 0.2
    await database_sync_to_async(Poll.objects.filter(pk=open_poll.pk).update)(closes_at=timezone.now() + timedelta(seconds=1))
    comm = await connect()
    hello = await comm.receive_json_from()
    assert hello["poll"]["status"] == "open"
    frame = await next_frame(comm, "poll", timeout=5)
    while frame["poll"]["status"] != "closed":
        frame = await next_frame(comm, "poll", timeout=5)
    assert frame["poll"]["id"] == open_poll.pk
    await comm.disconnect()
