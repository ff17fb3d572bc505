"""
The wire: every frame the live room sends, and the shape of what it carries.

This is the one module that knows frame types and payload shapes. The socket,
the process hub and the REST serializers all build their output here, so a
comment looks the same on the socket, in the replay API and in a catch-up.
Frames are plain JSON-able dicts; ``encode`` turns one into text once, and that
text is written to every local socket.
"""
import json
from datetime import datetime

# Frame types, server to client.
HELLO = "hello"
DANMAKU = "danmaku"
RETRACT = "danmaku.retract"
STATS = "stats"
POLL = "poll"
SUMMARY = "summary"
MOMENT = "moment"
EVENT = "event"
PRESENCE = "presence"
NOTICE = "notice"
ACK = "ack"
ERROR = "error"

# Message types, client to server.
DANMAKU_POST = "danmaku.post"
POLL_VOTE = "poll.vote"
CLIENT_TYPES = (DANMAKU_POST, POLL_VOTE)


MAX_REF_LENGTH = 64


def parse_client_message(text_data: str | None, bytes_data: bytes | None, *, max_bytes: int) -> dict:
    """
    A client's frame as a JSON object with a valid ``ref``, or the ServiceError
    that says what is wrong with it (every socket answers these the same way).
    """
    from companion.errors import ServiceError

    if bytes_data is not None or text_data is None:
        raise ServiceError("binary_not_supported", "Send JSON text frames.")
    if len(text_data) > max_bytes:
        raise ServiceError("message_too_large", f"Messages are at most {max_bytes} bytes.")
    try:
        message = json.loads(text_data)
    except ValueError:
        raise ServiceError("invalid_json", "That was not valid JSON.") from None
    if not isinstance(message, dict):
        raise ServiceError("invalid_message", "Send a JSON object with a type.")
    ref = message.get("ref")
    if ref is not None and not (
        isinstance(ref, str | int) and not isinstance(ref, bool) and len(str(ref)) <= MAX_REF_LENGTH
    ):
        raise ServiceError("invalid_message", "ref must be a short string or number.", field="ref")
    return message


def room_group(event_id: int) -> str:
    """Channel-layer group of an event's room (group names allow [A-Za-z0-9-_.])."""
    return f"event-{event_id}"


def encode(frame: dict) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def epoch_ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


# --- payloads ----------------------------------------------------------------


def author_payload(user) -> dict:
    return {"id": user.pk, "name": user.name}


def comment_payload(comment) -> dict:
    """A comment as every client sees it (socket, replay API, catch-up)."""
    payload = {
        "id": comment.pk,
        "text": comment.text,
        "color": comment.color,
        "mode": comment.mode,
        "size": comment.size,
        "media_ms": comment.media_ms,
        "author": author_payload(comment.author),
        "created_at": iso(comment.created_at),
    }
    # Viewers only ever see visible comments; anything else says what it is
    # (a held comment in its author's API answer, the moderation page).
    if comment.status != "visible":
        payload["status"] = comment.status
    return payload


def event_payload(event) -> dict:
    return {
        "id": event.pk,
        "slug": event.slug,
        "title": event.title,
        "description": event.description,
        "status": event.status,
        "scheduled_start": iso(event.scheduled_start),
        "started_at": iso(event.started_at),
        "ended_at": iso(event.ended_at),
        # The broadcast clock in epoch ms, so clients need not parse dates.
        "started_at_ms": epoch_ms(event.started_at),
        "ended_at_ms": epoch_ms(event.ended_at),
        "video_url": event.video_url or None,
    }


def viewer_payload(user, *, can_post: bool, refusal: dict | None = None) -> dict:
    """
    Who the viewer is in ``hello``. ``refusal`` says why an account may not
    post now when a sanction is the reason: ``{"code": "banned"}`` or
    ``{"code": "timed_out", "until": ..., "retry_after": ...}`` (the error's fields).
    """
    if user is None or not user.is_authenticated:
        return {"id": None, "name": None, "can_post": False, "roles": []}
    payload = {"id": user.pk, "name": user.name, "can_post": can_post, "roles": user.roles()}
    if refusal:
        payload["refusal"] = refusal
    return payload


def summary_payload(summary, *, stale: bool = False) -> dict:
    """
    A "catch me up" summary as viewers get it (``summary`` frame, ``hello``,
    the summaries API). ``covers_from_ms``..``covers_to_ms`` is the broadcast
    time it reports as new; ``stale`` is true while the provider is failing.
    """
    return {
        "id": summary.pk,
        "text": summary.text,
        "lang": summary.lang,
        "created_at": iso(summary.created_at),
        "created_at_ms": epoch_ms(summary.created_at),
        "covers_from_ms": summary.covers_from_ms,
        "covers_to_ms": summary.covers_to_ms,
        "provider": summary.provider,
        "stale": stale,
    }


def summary_record(summary, *, stale: bool = False) -> dict:
    """A summary in the history API: what viewers saw, plus what it cost."""
    return {
        **summary_payload(summary, stale=stale),
        "model": summary.model,
        "latency_ms": summary.latency_ms,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
    }


def stats_payload(snapshot) -> dict:
    """
    The current stats document as viewers get it (``stats`` frame, ``hello``,
    the stats API): the sections (scoreboard, standings, metrics) plus ``id``,
    ``updated_at`` and the broadcast time of the push. Each standings row
    carries ``prev_rank``, its rank before the last standings change (null:
    new), so pages can highlight who moved.
    """
    payload = {
        "id": snapshot.pk,
        "updated_at": iso(snapshot.created_at),
        "media_ms": snapshot.media_ms,
    }
    for section, value in snapshot.document.items():
        payload[section] = value
    if "standings" in payload:
        ranks = snapshot.previous_ranks or []
        payload["standings"] = [
            {**row, "prev_rank": ranks[i] if i < len(ranks) else None} for i, row in enumerate(payload["standings"])
        ]
    return payload


def moment_payload(moment) -> dict:
    """A key moment (``moment`` frame, ``hello``, the moments API, the replay timeline)."""
    return {
        "id": moment.pk,
        "media_ms": moment.media_ms,
        "kind": moment.kind,
        "title": moment.title,
        "detail": moment.detail,
        "created_at": iso(moment.created_at),
    }


def poll_payload(poll, *, options, counts: dict[int, int] | None = None, producer: bool = False) -> dict:
    """
    A poll (``poll`` frame, ``hello``, the polls API). ``votes`` and ``total``
    are null while the results are hidden: a poll shown only after closing,
    still open, seen by anyone but a producer. ``producer`` adds the queue
    fields (position, created_at).
    """
    hidden = poll.results_visibility == "after_close" and poll.status != "closed" and not producer
    counts = counts or {}
    payload = {
        "id": poll.pk,
        "question": poll.question,
        "options": [
            {"id": option.pk, "label": option.label, "votes": None if hidden else counts.get(option.pk, 0)}
            for option in options
        ],
        "status": poll.status,
        "total": None if hidden else sum(counts.get(option.pk, 0) for option in options),
        "results_visibility": poll.results_visibility,
        "results_hidden": hidden,
        "duration_s": poll.duration_s,
        "opens_at": iso(poll.opens_at),
        "closes_at": iso(poll.closes_at),
        "opens_at_ms": epoch_ms(poll.opens_at),
        "closes_at_ms": epoch_ms(poll.closes_at),
        # Broadcast time of the launch: where the replay shows it.
        "media_ms": poll.media_ms,
    }
    if producer:
        payload["position"] = poll.position
        payload["created_at"] = iso(poll.created_at)
    return payload


# --- frames ------------------------------------------------------------------


def hello_frame(*, event, viewer, server_time_ms, online, stats=None, poll=None, summary=None, moments=None) -> dict:
    return {
        "type": HELLO,
        "event": event,
        "viewer": viewer,
        "server_time_ms": server_time_ms,
        "online": online,
        "stats": stats,
        "poll": poll,
        "summary": summary,
        # Key moments so far, in media order (the newest 200; the moments API has all).
        "moments": moments or [],
    }


def danmaku_frame(items: list[dict], *, catchup: bool = False) -> dict:
    frame = {"type": DANMAKU, "items": items}
    if catchup:
        frame["catchup"] = True
    return frame


def retract_frame(ids: list[int]) -> dict:
    return {"type": RETRACT, "ids": ids}


def presence_frame(online: int) -> dict:
    return {"type": PRESENCE, "online": online}


def summary_frame(summary: dict) -> dict:
    return {"type": SUMMARY, "summary": summary}


def stats_frame(stats: dict) -> dict:
    return {"type": STATS, "stats": stats}


def moment_frame(moment: dict) -> dict:
    return {"type": MOMENT, "moment": moment}


def poll_frame(poll: dict) -> dict:
    return {"type": POLL, "poll": poll}


def event_frame(event: dict) -> dict:
    """The event changed (went live, ended, rescheduled): ``event`` is its new event_payload."""
    return {"type": EVENT, "event": event}


def notice_frame(*, level: str, code: str, message: str, **extra) -> dict:
    return {"type": NOTICE, "level": level, "code": code, "message": message, **extra}


def ack_frame(*, ref, id, item: dict | None = None) -> dict:
    """
    An acknowledged write. For a comment, ``status`` says whether it is on air
    ("visible", with the stored ``item``) or waiting for a moderator ("held",
    without ``item``: nobody sees it, its author included, until approved).
    """
    frame = {"type": ACK, "ref": ref, "id": id}
    if item is not None:
        status = item.get("status", "visible")
        frame["status"] = status
        if status == "visible":
            frame["item"] = item
    return frame


def error_frame(*, ref, code: str, message: str, **details) -> dict:
    return {"type": ERROR, "ref": ref, "code": code, "message": message, **details}


# --- channel-layer messages between processes ----------------------------------
# Plain values only: channels_redis carries them as msgpack.

LAYER_DANMAKU = "room.danmaku"  # {"event": id, "item": comment_payload}
LAYER_RETRACT = "room.retract"  # {"event": id, "ids": [...]}
LAYER_FRAME = "room.frame"  # {"event": id, "key": "stats"|"poll"|..., "frame": {...}}
LAYER_PRESENCE = "room.presence"  # {"event": id, "process": str, "count": n}
# A frame for one account's sockets in the room (a moderation outcome, a time-out).
LAYER_USER_FRAME = "room.user_frame"  # {"event": id, "user": id, "frame": {...}}


# --- the live moderation page: /ws/moderate/<slug>/ ----------------------------
# Moderators' sockets join the room group (every visible comment, as viewers get
# it) and the event's moderation group (held, rejected and masked comments,
# status changes, sanctions). Few moderators: plain group_send.

MOD_HELLO = "moderation.hello"
MOD_COMMENT = "moderation.comment"
MOD_UPDATE = "moderation.update"
MOD_SANCTION = "moderation.sanction"

# Client to server on the moderation socket.
MOD_HIDE = "moderation.hide"  # {"ref", "comment": id, "reason"}
MOD_RESTORE = "moderation.restore"  # {"ref", "comment": id, "reason"}
MOD_APPROVE = "moderation.approve"  # {"ref", "comment": id, "reason"}
MOD_REJECT = "moderation.reject"  # {"ref", "comment": id, "reason"}
MOD_TIMEOUT = "moderation.timeout"  # {"ref", "user": id, "minutes": n, "reason"}
MOD_BAN = "moderation.ban"  # {"ref", "user": id, "reason"}

LAYER_MOD_FRAME = "moderation.frame"  # {"event": id, "frame": {...}} on the moderation group


def moderation_group(event_id: int) -> str:
    return f"mod-event-{event_id}"


def moderation_comment_payload(comment, *, term: dict | None = None) -> dict:
    """A comment as moderators see it: always with its status, the account's username and what screened it."""
    payload = comment_payload(comment)
    payload["status"] = comment.status
    payload["author"] = {**payload["author"], "username": comment.author.username}
    payload["term"] = term
    return payload


def moderation_hello_frame(*, event, moderator, comments: list[dict], held: int) -> dict:
    return {"type": MOD_HELLO, "event": event, "moderator": moderator, "comments": comments, "held": held}


def moderation_comment_frame(comment: dict) -> dict:
    return {"type": MOD_COMMENT, "comment": comment}


def moderation_update_frame(*, ids: list[int], status: str, by: str, action: str) -> dict:
    return {"type": MOD_UPDATE, "ids": ids, "status": status, "by": by, "action": action}


def moderation_sanction_frame(*, user: dict, kind: str, until: str | None, by: str) -> dict:
    return {"type": MOD_SANCTION, "user": user, "kind": kind, "until": until, "by": by}
