"""
The room on a real Redis pub/sub layer, as in production: broadcasts cross
processes with one publish per room, and idle sockets stay open (redis-py 8's
5-second socket timeout would close them; see DESIGN.md's pitfalls).
"""
import asyncio

import pytest
from channels.db import database_sync_to_async

from chat.hub import RoomHub
from tests.conftest import other_process_layer
from tests.chat.test_consumers import connect, next_frame, token_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class FakeSocket:
    """Stands in for a socket held by another server process."""

    protocol = None

    def __init__(self):
        self.frames = asyncio.Queue()

    async def base_send(self, message):
        await self.frames.put(message["text"])


@pytest.fixture
async def other_process(redis_layer, live_event):
    """A second hub with its own Redis connection: another Daphne process."""
    layer = other_process_layer(redis_layer)
    hub = RoomHub(layer=layer)
    sock = FakeSocket()
    await hub.join(live_event.pk, sock)
    yield hub, sock
    await hub.stop()
    await layer.flush()


async def test_comment_reaches_viewers_in_another_process_with_one_publish(
    redis_layer, live_event, viewer, other_process, settings
):
    import json

    import redis.asyncio

    settings.PRESENCE_INTERVAL_MS = 60_000
    hub, remote = other_process
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    spy = redis.asyncio.Redis.from_url(redis_layer).pubsub()
    await spy.subscribe(f"{prefix}__group__event-{live_event.pk}")
    await spy.get_message(timeout=1)  # the subscribe confirmation
    poster = await connect(token=await token_for(viewer), headers=())
    await poster.receive_json_from()
    await poster.send_json_to({"type": "danmaku.post", "ref": "r", "text": "across", "media_ms": 5})
    ack = await next_frame(poster, "ack")
    frame = json.loads(await asyncio.wait_for(remote.frames.get(), 3))
    assert frame["type"] == "danmaku"
    assert [i["id"] for i in frame["items"]] == [ack["id"]]
    assert (await next_frame(poster, "danmaku"))["items"][0]["id"] == ack["id"]
    # Two processes, two viewers: the room's channel carried the comment once.
    published = []
    while (message := await spy.get_message(timeout=0.5)) is not None:
        published.append(message)
    assert len(published) == 1
    await spy.aclose()
    await poster.disconnect()


async def test_presence_is_summed_across_processes(redis_layer, live_event, other_process, settings):
    settings.PRESENCE_INTERVAL_MS = 200
    hub, remote = other_process
    hub.presence_s = 0.2
    hub._tasks.append(asyncio.create_task(hub._presence_loop()))
    comm = await connect()
    await comm.receive_json_from()
    # One local viewer here, one in the other process.
    frame = await next_frame(comm, "presence", timeout=5)
    while frame["online"] != 2:
        frame = await next_frame(comm, "presence", timeout=5)
    assert frame["online"] == 2
    await comm.disconnect()


async def test_idle_socket_survives_past_redis_socket_timeout(redis_layer, live_event, viewer):
    """A viewer idle for more than 5 s still receives broadcasts and can post."""
    watcher = await connect()
    poster = await connect(token=await token_for(viewer), headers=())
    await watcher.receive_json_from()
    await poster.receive_json_from()
    await asyncio.sleep(6.5)
    await poster.send_json_to({"type": "danmaku.post", "ref": "late", "text": "after idle", "media_ms": 9})
    ack = await next_frame(poster, "ack")
    frame = await next_frame(watcher, "danmaku")
    assert frame["items"][0]["id"] == ack["id"]
    await watcher.disconnect()
    await poster.disconnect()


async def test_rate_limits_are_shared_through_redis(redis_layer, live_event, viewer, settings):
    """Two sockets of one account share its posting budget (the counter lives in Redis)."""
    settings.DANMAKU_RATE_COUNT, settings.DANMAKU_RATE_WINDOW = 2, 60
    key = await token_for(viewer)
    first, second = await connect(token=key, headers=()), await connect(token=key, headers=())
    for comm in (first, second):
        await comm.receive_json_from()
    await first.send_json_to({"type": "danmaku.post", "ref": 1, "text": "a", "media_ms": 1})
    await second.send_json_to({"type": "danmaku.post", "ref": 2, "text": "b", "media_ms": 1})
    await next_frame(first, "ack")
    await next_frame(second, "ack")
    await first.send_json_to({"type": "danmaku.post", "ref": 3, "text": "c", "media_ms": 1})
    assert (await next_frame(first, "error"))["code"] == "rate_limited"
    await first.disconnect()
    await second.disconnect()
