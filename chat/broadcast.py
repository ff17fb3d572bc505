"""
Publishing to a room across processes.

Services call these after their transaction commits (``transaction.on_commit``),
so nobody sees what was rolled back. A failed publish is logged, never raised:
what was stored stays stored, and clients catch up from storage.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from . import wire

logger = logging.getLogger(__name__)


def publish(event_id: int, message: dict) -> None:
    message = {**message, "event": event_id}
    try:
        async_to_sync(get_channel_layer().group_send)(wire.room_group(event_id), message)
    except Exception:
        logger.exception("publish to event %s failed", event_id)


def publish_danmaku(event_id: int, item: dict) -> None:
    publish(event_id, {"type": wire.LAYER_DANMAKU, "item": item})


def publish_retract(event_id: int, ids: list[int]) -> None:
    publish(event_id, {"type": wire.LAYER_RETRACT, "ids": list(ids)})


def publish_frame(event_id: int, key: str, frame: dict) -> None:
    """A stats, poll, summary or notice frame; the latest per key per tick is sent."""
    publish(event_id, {"type": wire.LAYER_FRAME, "key": key, "frame": frame})
