"""
What moderation tells sockets. Called by the services after commit only
(``transaction.on_commit``); a failed publish is logged, never raised.
"""
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat import broadcast, wire

logger = logging.getLogger(__name__)


def publish_to_moderators(event_id: int, frame: dict) -> None:
    """A frame for every live moderation page of the event."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            wire.moderation_group(event_id), {"type": wire.LAYER_MOD_FRAME, "event": event_id, "frame": frame}
        )
    except Exception:
        logger.exception("publish to moderators of event %s failed", event_id)


def publish_to_author(event_id: int, user_id: int, frame: dict) -> None:
    """A frame for one account's sockets in the event's room (through each process's hub)."""
    broadcast.publish(event_id, {"type": wire.LAYER_USER_FRAME, "user": user_id, "frame": frame})
