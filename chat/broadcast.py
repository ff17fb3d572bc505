"""
Publishing to a room across processes.

Services call these after their transaction commits (``transaction.on_commit``),
so nobody sees what was rolled back. A failed publish is logged, never raised:
what was stored stays stored, and clients catch up from storage.
"""
import asyncio
import logging
import os
import threading

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer

from . import wire

logger = logging.getLogger(__name__)

# Publishes handed from the database thread to the server's event loop and not
# sent yet. The thread wakes the loop only when the outbox was empty, so a
# batch of comments committed together costs one wake-up, not one each.
_outbox: list[tuple[str, dict]] = []
_outbox_lock = threading.Lock()
# Sends running on the loop (a task needs a strong reference until it is done).
_in_flight: set[asyncio.Task] = set()


def publish(event_id: int, message: dict) -> None:
    """
    Send ``message`` to the room's group. Inside the server (a service running
    in the database thread) the publish is handed to the event loop and this
    returns at once: the database thread never waits on the network or on a
    busy loop. Elsewhere (Celery, commands) it is sent before returning.
    """
    message = {**message, "event": event_id}
    group = wire.room_group(event_id)
    loop = server_loop()
    if loop is not None:
        with _outbox_lock:
            _outbox.append((group, message))
            wake = len(_outbox) == 1
        if wake:
            loop.call_soon_threadsafe(_drain_outbox)
        return
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception:
        logger.exception("publish to event %s failed", event_id)


def server_loop():
    """The running event loop this sync thread works for, if it is one of asgiref's."""
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop if loop is not None and loop.is_running() else None


def _drain_outbox() -> None:
    with _outbox_lock:
        messages = _outbox[:]
        _outbox.clear()
    task = asyncio.get_running_loop().create_task(_send(messages))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)


async def _send(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    for group, message in messages:  # in commit order
        try:
            await layer.group_send(group, message)
        except Exception:
            logger.exception("publish to %s failed", group)


def publish_danmaku(event_id: int, item: dict) -> None:
    publish(event_id, {"type": wire.LAYER_DANMAKU, "item": item})


def publish_retract(event_id: int, ids: list[int]) -> None:
    publish(event_id, {"type": wire.LAYER_RETRACT, "ids": list(ids)})


def publish_frame(event_id: int, key: str, frame: dict) -> None:
    """A stats, poll, summary or notice frame; the latest per key per tick is sent."""
    publish(event_id, {"type": wire.LAYER_FRAME, "key": key, "frame": frame})
