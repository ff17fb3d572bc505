"""
The live moderation page's socket, ``/ws/moderate/<slug>/``: moderators only.

It joins the event's room group (every visible comment, as viewers get it)
and its moderation group (held, rejected and masked comments, status
changes, sanctions), so a moderator sees each comment as it is stored.
Actions sent over it call the same services as admin, each checked again:
a moderator removed from the group mid-show loses the socket's powers at once.
Few moderators watch an event, so this is a plain Channels consumer with its
own layer channel, unlike the viewers' hub.
"""
import logging
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from chat import wire
from chat.models import Comment
from companion.errors import ServiceError
from events.models import Event

from . import services
from .roles import is_moderator

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
# Held comments shown on opening, besides the latest ones.
HELD_BACKLOG = 200


def may_moderate(user) -> bool:
    """Staff, active, and a moderator or superuser, as the database says now."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    user.refresh_from_db(fields=["is_active", "is_staff", "is_superuser"])
    return user.is_staff and is_moderator(user)


class ModerationConsumer(AsyncWebsocketConsumer):
    event = None

    async def dispatch(self, message):
        # The room group carries viewer traffic this page has no use for
        # (presence, stats, per-viewer notices); ignore what it does not handle.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None and message["type"].startswith("room."):
            return
        await super().dispatch(message)

    # --- lifecycle ---------------------------------------------------------------------

    async def connect(self):
        self.user = self.scope["user"]
        slug = self.scope["url_route"]["kwargs"]["slug"]
        await self.accept()
        if self.scope.get("auth_error"):
            await self.fail(None, ServiceError("invalid_token", "That API token is not valid."), close=4401)
            return
        if not await database_sync_to_async(may_moderate)(self.user):
            await self.fail(None, ServiceError("forbidden", "Only moderators may open this page."), close=CLOSE_FORBIDDEN)
            return
        event = await database_sync_to_async(Event.objects.filter(slug=slug).first)()
        if event is None:
            await self.fail(None, ServiceError("not_found", "No such event."), close=4404)
            return
        self.event = event
        # Join before reading the backlog: a comment stored in between arrives
        # twice rather than never (the page keeps one row per id).
        await self.channel_layer.group_add(wire.room_group(event.pk), self.channel_name)
        await self.channel_layer.group_add(wire.moderation_group(event.pk), self.channel_name)
        await self.send_frame(await database_sync_to_async(self.hello)())

    def hello(self) -> dict:
        backlog = settings.MODERATION_LIVE_BACKLOG
        latest = Q(pk__in=Comment.objects.filter(event=self.event).order_by("-id").values("pk")[:backlog])
        held = Q(pk__in=Comment.objects.filter(event=self.event, status=Comment.Status.HELD).order_by("id").values("pk")[:HELD_BACKLOG])
        comments = Comment.objects.filter(latest | held).select_related("author").order_by("id")
        return wire.moderation_hello_frame(
            event=wire.event_payload(self.event),
            moderator=wire.viewer_payload(self.user, can_post=True),
            comments=[wire.moderation_comment_payload(c) for c in comments],
            held=Comment.objects.filter(event=self.event, status=Comment.Status.HELD).count(),
        )

    async def disconnect(self, code):
        if self.event is not None:
            await self.channel_layer.group_discard(wire.room_group(self.event.pk), self.channel_name)
            await self.channel_layer.group_discard(wire.moderation_group(self.event.pk), self.channel_name)

    # --- inbound: actions ---------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.event is None:
            return
        try:
            message = wire.parse_client_message(text_data, bytes_data, max_bytes=settings.WS_MAX_MESSAGE_BYTES)
        except ServiceError as error:
            await self.fail(None, error)
            return
        ref = message.get("ref")
        kind = message.get("type")
        handler = self.ACTIONS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.fail(ref, ServiceError("unknown_type", f"Unknown message type {kind!r}."))
            return
        try:
            result = await database_sync_to_async(self.act)(handler, message)
        except ServiceError as error:
            await self.fail(ref, error)
        except Exception:
            logger.exception("moderation %s: %s failed", self.event.slug, kind)
            await self.fail(ref, ServiceError("internal", "Something went wrong; try again."))
        else:
            await self.send_frame({"type": wire.ACK, "ref": ref, **result})

    def act(self, handler, message: dict) -> dict:
        """Run one action in the database thread, after checking again that this account moderates."""
        if not may_moderate(self.user):
            raise ServiceError("forbidden", "Only moderators may do this.")
        reason = message.get("reason", "")
        if not isinstance(reason, str):
            raise ServiceError("invalid_message", "reason must be text.", field="reason")
        return handler(self, message, reason)

    def _comments(self, message):
        comment_id = message.get("comment")
        if isinstance(comment_id, bool) or not isinstance(comment_id, int):
            raise ServiceError("invalid_message", "comment must be a comment id.", field="comment")
        comments = Comment.objects.filter(pk=comment_id, event=self.event)
        if not comments.exists():
            raise ServiceError("not_found", "No such comment in this event.")
        return comments, comment_id

    def _comment_action(service):
        def run(self, message, reason):
            comments, comment_id = self._comments(message)
            changed = service(comments=comments, by=self.user, reason=reason)
            status = changed[0].status if changed else comments.values_list("status", flat=True).first()
            return {"id": comment_id, "changed": len(changed), "status": status}

        return run

    def _author(self, message):
        user_id = message.get("user")
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise ServiceError("invalid_message", "user must be an account id.", field="user")
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            raise ServiceError("not_found", "No such account.")
        return user

    def timeout(self, message, reason):
        minutes = message.get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ServiceError("invalid_duration", "minutes must be a whole number.", field="minutes")
        sanction = services.author_timeout(
            user=self._author(message), duration=timedelta(minutes=minutes), by=self.user, reason=reason, event=self.event
        )
        return {"id": sanction.pk, "until": wire.iso(sanction.ends_at)}

    def ban(self, message, reason):
        sanction = services.author_ban(user=self._author(message), by=self.user, reason=reason, event=self.event)
        return {"id": sanction.pk, "until": None}

    ACTIONS = {
        wire.MOD_HIDE: _comment_action(services.comment_hide),
        wire.MOD_RESTORE: _comment_action(services.comment_restore),
        wire.MOD_APPROVE: _comment_action(services.comment_approve),
        wire.MOD_REJECT: _comment_action(services.comment_reject),
        wire.MOD_TIMEOUT: timeout,
        wire.MOD_BAN: ban,
    }
    del _comment_action

    # --- outbound: from the channel layer --------------------------------------------------

    async def room_danmaku(self, message):
        """A visible comment, as the room got it."""
        item = {**message["item"], "status": Comment.Status.VISIBLE.value, "term": None}
        await self.send_frame(wire.moderation_comment_frame(item))

    async def moderation_frame(self, message):
        await self.send_frame(message["frame"])

    async def send_frame(self, frame: dict):
        await self.send(text_data=wire.encode(frame))

    async def fail(self, ref, error: ServiceError, close: int | None = None):
        await self.send_frame(wire.error_frame(ref=ref, code=error.code, message=error.message, **error.details))
        if close:
            await self.close(code=close)
