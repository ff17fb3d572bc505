"""
The live room's socket. Thin: it parses frames, calls services, and registers
with the process hub, which delivers everything broadcast to the room.
"""
import logging
import random
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from companion.errors import ServiceError
from polls import services as polls_services
from polls.batch import get_batcher as vote_batcher

from . import fastpath, services, wire
from .batch import get_batcher as post_batcher
from .hub import get_hub

logger = logging.getLogger(__name__)

# Any client message, valid or not, counts against this per-socket budget.
MESSAGES_PER_SECOND = 10
MESSAGE_BURST = 20
# "Try again later", and the pause a client is told to take. RFC 6455's own
# 1013 cannot be used: autobahn (Daphne) refuses to send any code but 1000 and
# 3000-4999, and the client would see 1011 (internal error) instead.
CLOSE_TRY_AGAIN_LATER = 4013
BUSY_RETRY_MS = (2000, 10000)


class RoomConsumer(AsyncWebsocketConsumer):
    # Broadcasts arrive through the process hub, not through a channel per
    # socket: no per-socket layer subscription, receive loop or dispatch hop.
    channel_layer_alias = None

    event = None
    admitted = False
    protocol = None  # Daphne's WebSocket protocol, for the hub's direct writes
    transport = None  # its TCP transport, when frames can be sent raw (chat/fastpath.py)

    async def dispatch(self, message):
        # Channels 4.3 hops to the sync thread before every handler to close
        # stale DB connections; database_sync_to_async already does that for the
        # handlers here that touch the database, so skip the hop.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- lifecycle ---------------------------------------------------------------

    async def connect(self):
        self.user = self.scope["user"]
        self.slug = self.scope["url_route"]["kwargs"]["slug"]
        self.allowance = float(MESSAGE_BURST)
        self.allowance_at = time.monotonic()
        self.hub = get_hub()
        await self.accept()
        self.protocol = fastpath.daphne_protocol(self.base_send)
        if self.protocol is not None:
            self.transport = fastpath.raw_transport(self.protocol)
            if self.transport is not None:
                fastpath.limit_send_buffer(self.transport, settings.ROOM_SOCKET_SEND_BUFFER)
        if not self.hub.admit():
            # Full: say so, and let the client come back after a jittered pause
            # (no reconnect stampede onto a process that is already full).
            retry_ms = random.randint(*BUSY_RETRY_MS)
            await self.send_frame(
                wire.notice_frame(
                    level="error",
                    code="server_busy",
                    message="This server is full. Reconnecting shortly…",
                    retry_after_ms=retry_ms,
                )
            )
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.admitted = True
        if self.scope.get("auth_error"):
            await self.fail(None, ServiceError("invalid_token", "That API token is not valid."), close=4401)
            return
        event = await self.hub.event_for(self.slug)
        if event is None:
            await self.fail(None, ServiceError("not_found", "No such event."), close=4404)
            return
        if self.user.is_authenticated:
            viewer = await database_sync_to_async(services.room_viewer)(user=self.user, event=event)
        else:
            viewer = wire.viewer_payload(self.user, can_post=False)
        snapshot = await self.hub.snapshot_for(event)
        self.event = event
        await self.hub.join(event.pk, self)
        await self.send_frame(
            wire.hello_frame(
                event=wire.event_payload(event),
                viewer=viewer,
                server_time_ms=int(time.time() * 1000),
                online=self.hub.online(event.pk),
                **snapshot,
            )
        )
        await self.catch_up()

    async def catch_up(self):
        """Send what a reconnecting client (``?since=<last id>``) missed."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        since = query.get("since", [""])[0]
        if not since.isdigit():
            return
        after_id = int(since)
        items = self.hub.recent_since(self.event.pk, after_id)
        if items is None:
            items = await database_sync_to_async(services.danmaku_catchup)(event=self.event, after_id=after_id)
        if items:
            await self.send_frame(wire.danmaku_frame(items, catchup=True))

    async def disconnect(self, code):
        if self.admitted:
            self.hub.release()
        if self.event is not None:
            self.hub.leave(self.event.pk, self)

    # --- inbound -------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if not self.take_allowance():
            await self.fail(None, ServiceError("rate_limited", "Too many messages; slow down.", retry_after=1))
            return
        if self.event is None:
            return
        try:
            message = wire.parse_client_message(text_data, bytes_data, max_bytes=settings.WS_MAX_MESSAGE_BYTES)
        except ServiceError as error:
            await self.fail(None, error)
            return
        ref = message.get("ref")
        kind = message.get("type")
        handler = {wire.DANMAKU_POST: self.post_danmaku, wire.POLL_VOTE: self.vote_poll}.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.fail(ref, ServiceError("unknown_type", f"Unknown message type {kind!r}."))
            return
        try:
            await handler(ref, message)
        except ServiceError as error:
            await self.fail(ref, error)
        except Exception:
            logger.exception("room %s: %s failed", self.event.slug, kind)
            await self.fail(ref, ServiceError("internal", "Something went wrong; try again."))

    async def post_danmaku(self, ref, message):
        draft = services.danmaku_parse(message)
        self.event = await self.hub.event_for(self.slug) or self.event  # status and clock, at most 2 s old
        # Comments arriving together are stored together (chat/batch.py).
        comment = await post_batcher().submit(services.Post(event=self.event, author=self.user, draft=draft))
        await self.send_frame(wire.ack_frame(ref=ref, id=comment.pk, item=wire.comment_payload(comment)))

    async def vote_poll(self, ref, message):
        poll_id, option_id = polls_services.poll_vote_parse(message)
        ballot = polls_services.Ballot(user=self.user, poll_id=poll_id, option_id=option_id, event_id=self.event.pk)
        # Votes arriving together are counted together (polls/batch.py).
        vote = await vote_batcher().submit(ballot)
        await self.send_frame(wire.ack_frame(ref=ref, id=vote.pk))

    # --- outbound ------------------------------------------------------------------

    async def send_frame(self, frame: dict):
        text = wire.encode(frame)
        protocol = self.protocol
        if protocol is None:  # not under Daphne (tests)
            await self.send(text_data=text)
        elif protocol.state == fastpath.STATE_OPEN:
            # hello, acks and errors take the hub's direct write too (chat/fastpath.py).
            payload = text.encode()
            fastpath.write(protocol, fastpath.text_frame(payload), payload)
        # Otherwise the client is gone or going (say, it gave up during a surge):
        # nothing can reach it, and its disconnect cleans up.

    async def fail(self, ref, error: ServiceError, close: int | None = None):
        await self.send_frame(wire.error_frame(ref=ref, code=error.code, message=error.message, **error.details))
        if close:
            await self.close(code=close)

    def take_allowance(self) -> bool:
        now = time.monotonic()
        self.allowance = min(MESSAGE_BURST, self.allowance + (now - self.allowance_at) * MESSAGES_PER_SECOND)
        self.allowance_at = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True
