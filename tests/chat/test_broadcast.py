"""Publishing from the database thread: handed to the event loop, in commit order, without waiting."""
import asyncio
import threading

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chat import broadcast, wire


@pytest.mark.django_db(transaction=True)  # the database thread closes stale connections around each call
async def test_publishes_from_the_database_thread_arrive_in_order_and_wake_the_loop_once(monkeypatch):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(wire.room_group(7), channel)
    loop = asyncio.get_running_loop()
    wakes = []
    original = loop.call_soon_threadsafe

    def call_soon_threadsafe(callback, *args, **kwargs):
        if callback is broadcast._drain_outbox:
            wakes.append(threading.current_thread().name)
        return original(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", call_soon_threadsafe)

    def commit_a_batch():
        for n in range(5):
            broadcast.publish_danmaku(7, {"id": n})
        return threading.current_thread().name

    worker = await database_sync_to_async(commit_a_batch)()
    received = [await asyncio.wait_for(layer.receive(channel), 2) for _ in range(5)]
    assert [m["item"]["id"] for m in received] == [0, 1, 2, 3, 4]
    assert all(m["type"] == wire.LAYER_DANMAKU and m["event"] == 7 for m in received)
    assert wakes == [worker]  # one wake-up for the batch, from the database thread


def test_outside_the_server_a_publish_is_sent_before_returning(settings):
    layer = get_channel_layer()

    async def listen():
        channel = await layer.new_channel()
        await layer.group_add(wire.room_group(8), channel)
        return channel

    from asgiref.sync import async_to_sync

    channel = async_to_sync(listen)()
    broadcast.publish_retract(8, [3, 4])
    message = async_to_sync(layer.receive)(channel)
    assert (message["type"], message["ids"]) == (wire.LAYER_RETRACT, [3, 4])
