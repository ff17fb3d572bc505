"""
Moderation on a real Redis pub/sub layer, as in production: a hide reaches
viewers held by this process and by another one, and the moderation page
receives comments across processes too.
"""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from chat.hub import RoomHub
from tests.conftest import other_process_layer
from moderation import services
from tests.chat.test_consumers import next_frame
from tests.moderation.test_consumers import open_moderation, open_room, post

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class FakeSocket:
    """A viewer's socket held by another server process."""

    protocol = None
    user = None

    def __init__(self):
        self.frames = asyncio.Queue()

    async def base_send(self, message):
        await self.frames.put(json.loads(message["text"]))

    async def next(self, kind, timeout=3):
        while True:
            frame = await asyncio.wait_for(self.frames.get(), timeout)
            if frame["type"] == kind:
                return frame


@pytest.fixture
async def other_process(redis_layer, live_event, settings):
    settings.PRESENCE_INTERVAL_MS = 60_000
    layer = other_process_layer(redis_layer)
    hub = RoomHub(layer=layer)
    sock = FakeSocket()
    await hub.join(live_event.pk, sock)
    yield sock
    await hub.stop()
    await layer.flush()


async def test_an_admin_hide_retracts_from_viewers_in_every_process(redis_layer, live_event, viewer, moderator, other_process):
    poster = await open_room(viewer)
    watcher = await open_room()
    await post(poster, "spoiler: the butler did it")
    comment_id = (await next_frame(poster, "ack"))["id"]
    assert (await other_process.next("danmaku"))["items"][0]["id"] == comment_id

    # What the admin action does: the service, in a request thread.
    hidden = await database_sync_to_async(services.comment_hide)(comments=[comment_id], by=moderator, reason="spoiler")
    assert [c.pk for c in hidden] == [comment_id]
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert (await next_frame(watcher, "danmaku.retract"))["ids"] == [comment_id]
    assert (await other_process.next("danmaku.retract"))["ids"] == [comment_id]
    assert loop.time() - start < 1.0  # within a second
    for comm in (poster, watcher):
        await comm.disconnect()


async def test_the_live_page_hides_across_processes_and_sees_comments(redis_layer, live_event, viewer, moderator, other_process):
    mod, _ = await open_moderation(moderator)
    poster = await open_room(viewer)
    await post(poster, "rude words")
    comment_id = (await next_frame(poster, "ack"))["id"]
    assert (await next_frame(mod, "moderation.comment"))["comment"]["id"] == comment_id

    await mod.send_json_to({"type": "moderation.hide", "ref": "h", "comment": comment_id})
    assert (await next_frame(mod, "ack"))["changed"] == 1
    assert (await other_process.next("danmaku.retract"))["ids"] == [comment_id]
    assert (await next_frame(poster, "danmaku.retract"))["ids"] == [comment_id]
    assert (await next_frame(mod, "moderation.update"))["status"] == "hidden"
    for comm in (mod, poster):
        await comm.disconnect()


async def test_an_idle_moderation_page_stays_connected(redis_layer, live_event, viewer, moderator):
    """Longer than redis-py 8's default 5 s socket timeout (DESIGN.md's pitfalls)."""
    mod, _ = await open_moderation(moderator)
    await asyncio.sleep(6)
    poster = await open_room(viewer)
    await post(poster, "still there?")
    assert (await next_frame(mod, "moderation.comment"))["comment"]["text"] == "still there?"
    for comm in (mod, poster):
        await comm.disconnect()
