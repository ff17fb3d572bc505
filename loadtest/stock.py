"""
The stock baseline: a live room written the way the Channels tutorial does it.

Each socket joins the room's group on the channel layer (its own channel, its
own receive loop), and every comment is one ``group_send`` to the group; each
consumer JSON-encodes its own copy and sends one frame per comment. Posting goes
through the same service as Companion (``chat.services.danmaku_post``: same
validation, rate limit, storage and on-commit publish), so the work per post is
the same and only the fan-out differs. Dispatch is Channels' own, including the
``aclose_old_connections()`` hop before every handler.
"""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from chat import services, wire
from companion.errors import ServiceError
from events.models import Event


@database_sync_to_async
def find_event(slug: str):
    return Event.objects.filter(slug=slug).first()


class StockRoomConsumer(AsyncJsonWebsocketConsumer):
    event = None
    group = None

    async def connect(self):
        self.event = await find_event(self.scope["url_route"]["kwargs"]["slug"])
        if self.event is None:
            await self.close(code=4404)
            return
        # The same group name the services publish to (chat.broadcast), so a
        # comment stored by danmaku_post reaches every stock consumer.
        self.group = wire.room_group(self.event.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        user = self.scope["user"]
        await self.send_json(
            {
                "type": "hello",
                "event": {"id": self.event.pk, "slug": self.event.slug, "status": self.event.status},
                "viewer": {"id": user.pk, "name": getattr(user, "name", None)},
            }
        )

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") != "danmaku.post":
            return
        ref = content.get("ref")
        try:
            draft = services.danmaku_parse(content)
            comment = await database_sync_to_async(services.danmaku_post)(
                event=self.event, author=self.scope["user"], draft=draft
            )
        except ServiceError as error:
            await self.send_json(wire.error_frame(ref=ref, code=error.code, message=error.message, **error.details))
            return
        await self.send_json(wire.ack_frame(ref=ref, id=comment.pk, item=wire.comment_payload(comment)))

    # Group messages, one per comment (types from chat.wire's layer messages).

    async def room_danmaku(self, message):
        await self.send_json({"type": "danmaku", "items": [message["item"]]})

    async def room_retract(self, message):
        await self.send_json({"type": "danmaku.retract", "ids": message["ids"]})

    async def room_frame(self, message):
        await self.send_json(message["frame"])

    async def room_presence(self, message):
        pass
