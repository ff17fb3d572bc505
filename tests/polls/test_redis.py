"""Tallies on a real Redis pub/sub layer: votes in one process, the coalesced tally in another's hub."""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from chat.hub import RoomHub
from tests.chat.test_consumers import connect, next_frame, token_for
from tests.conftest import other_process_layer

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class FakeSocket:
    """A socket held by another server process."""

    protocol = None

    def __init__(self):
        self.frames: asyncio.Queue = asyncio.Queue()

    async def base_send(self, message):
        await self.frames.put(json.loads(message["text"]))


async def test_a_burst_of_votes_reaches_another_process_as_a_few_frames_with_the_exact_tally(
    redis_layer, live_event, open_poll, make_user, settings
):
    settings.POLL_TALLY_MS = 200
    layer = other_process_layer(redis_layer)
    hub = RoomHub(layer=layer)
    remote = FakeSocket()
    await hub.join(live_event.pk, remote)
    users = [await database_sync_to_async(make_user)() for _ in range(15)]
    voters = []
    for user in users:
        comm = await connect(token=await token_for(user), headers=())
        await next_frame(comm, "hello")
        voters.append(comm)
    option = await database_sync_to_async(lambda: open_poll.options.last().pk)()
    for n, comm in enumerate(voters):
        await comm.send_json_to({"type": "poll.vote", "ref": n, "poll": open_poll.pk, "option": option})
    for comm in voters:
        await next_frame(comm, "ack")
    frames = []
    while not frames or frames[-1]["poll"]["total"] < 15:
        frame = await asyncio.wait_for(remote.frames.get(), 5)
        if frame["type"] == "poll":
            frames.append(frame)
    assert len(frames) < 15
    assert [o["votes"] for o in frames[-1]["poll"]["options"]] == [0, 0, 15]
    for comm in voters:
        await comm.disconnect()
    await hub.stop()
    await layer.flush()
