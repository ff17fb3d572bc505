"""
Danmaku write and read paths. Consumers, API views, admin and commands call these.

``danmaku_parse`` validates a client's message without touching the database;
``danmaku_post`` authorises, rate-limits, screens, stores and publishes on commit.
The moderation rules (sanctions, room settings, blocked terms) live in
``moderation.services``; these call it.
"""
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Value
from django.utils import timezone

from companion import ratelimit
from companion.errors import ServiceError
from events.models import Event
from moderation import rules
from moderation import services as moderation

from . import broadcast, wire
from .models import Comment

logger = logging.getLogger(__name__)

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_MEDIA_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class DanmakuDraft:
    text: str
    color: str = "#ffffff"
    mode: str = Comment.Mode.SCROLL
    size: str = Comment.Size.NORMAL
    media_ms: int = 0


def _invalid(code: str, field: str, message: str) -> ServiceError:
    return ServiceError(code, message, field=field)


def clean_text(value) -> str:
    if not isinstance(value, str):
        raise _invalid("invalid_message", "text", "Text must be a string.")
    # Control characters (including bidi overrides) would garble other screens.
    text = "".join(ch for ch in value if unicodedata.category(ch) not in {"Cc", "Cf"} or ch == "\u200d")
    text = " ".join(text.split())
    if not text:
        raise _invalid("text_empty", "text", "Write something first.")
    limit = settings.DANMAKU_MAX_LENGTH
    if len(text) > limit:
        raise _invalid("text_too_long", "text", f"Comments are at most {limit} characters.")
    return text


def danmaku_parse(data: dict) -> DanmakuDraft:
    """Validate the fields of a ``danmaku.post`` (socket) or a POST body (API)."""
    text = clean_text(data.get("text"))
    color = data.get("color", "#ffffff")
    if not isinstance(color, str) or not COLOR_RE.match(color):
        raise _invalid("invalid_color", "color", "Colour must look like #rrggbb.")
    mode = data.get("mode", Comment.Mode.SCROLL)
    if mode not in Comment.Mode.values:
        raise _invalid("invalid_mode", "mode", "Mode is one of scroll, top, bottom.")
    size = data.get("size", Comment.Size.NORMAL)
    if size not in Comment.Size.values:
        raise _invalid("invalid_size", "size", "Size is one of small, normal, large.")
    media_ms = data.get("media_ms")
    if isinstance(media_ms, bool) or not isinstance(media_ms, int | float) or media_ms != media_ms:
        raise _invalid("invalid_media_time", "media_ms", "media_ms must be a number of milliseconds.")
    if media_ms < 0 or media_ms > MAX_MEDIA_MS:
        raise _invalid("invalid_media_time", "media_ms", "media_ms is outside the broadcast.")
    return DanmakuDraft(text=text, color=color.lower(), mode=mode, size=size, media_ms=int(media_ms))


def can_post(user, event: Event) -> bool:
    return bool(user and user.is_authenticated and user.is_active and event.status != Event.Status.SCHEDULED)


def danmaku_check(
    *, event: Event, author, draft: DanmakuDraft, sanctions: dict | None = None, room_rules=None
) -> ratelimit.Hit:
    """
    Raise the reason ``author`` may not post ``draft`` now, if any; else the
    rate-limit hit the post costs (``sanctions``, ``room_rules``: see post_authorise).
    """
    if author is None or not author.is_authenticated:
        raise ServiceError("auth_required", "Sign in or join as a guest to post.")
    if not author.is_active:
        raise ServiceError("forbidden", "This account cannot post.")
    if event.status == Event.Status.SCHEDULED:
        raise ServiceError("event_not_live", "The event has not started yet.")
    edge = event.live_edge_ms() or 0
    if draft.media_ms > edge + settings.DANMAKU_MEDIA_SKEW_MS:
        raise _invalid("invalid_media_time", "media_ms", "That moment of the broadcast has not happened yet.")
    rate = moderation.post_authorise(event=event, author=author, sanctions=sanctions, room_rules=room_rules)
    return ratelimit.Hit(rate.key, rate.count, rate.window)


def _rate_limited(retry_after: float) -> ServiceError:
    return ServiceError("rate_limited", "You are posting too fast.", retry_after=retry_after)


@dataclass(frozen=True)
class Post:
    """One ``danmaku.post``: who posts what, where."""

    event: Event
    author: object
    draft: DanmakuDraft


def danmaku_post(*, event: Event, author, draft: DanmakuDraft) -> Comment:
    """
    Store a comment and broadcast it to the room once the transaction commits.
    Blocked terms may mask its text, hold it for review (stored, not
    broadcast; the ack says ``held``) or reject it (stored for the record,
    then ``comment_rejected`` is raised).
    """
    [result] = danmaku_post_batch([Post(event=event, author=author, draft=draft)])
    if isinstance(result, ServiceError):
        raise result
    return result


def danmaku_post_batch(posts: list[Post]) -> list[Comment | ServiceError]:
    """
    Store many posts with ``danmaku_post``'s rules in one transaction and one
    INSERT (the room socket's batcher, chat/batch.py): the stored Comment or
    the ServiceError of each post, in order. Each visible comment is
    broadcast after the commit; if the transaction fails, nothing is stored,
    nothing is broadcast, and the error is raised for the whole batch.
    """
    # Read once for the whole batch: the sanctions of every author (one
    # query), each event's posting rules, and the rate limits (one round trip
    # to the cache for all the batch's hits).
    authors = {post.author.pk for post in posts if post.author is not None and post.author.is_authenticated}
    sanctions = moderation.active_sanctions(user_ids=authors)
    room_rules: dict[int, rules.Rules] = {}
    results: list[Comment | ServiceError | None] = [None] * len(posts)
    checked: list[tuple[int, ratelimit.Hit]] = []
    for index, post in enumerate(posts):
        try:
            if post.event.pk not in room_rules:
                room_rules[post.event.pk] = rules.rules_for(post.event.pk)
            hit = danmaku_check(
                event=post.event, author=post.author, draft=post.draft,
                sanctions=sanctions, room_rules=room_rules[post.event.pk],
            )
        except ServiceError as error:
            results[index] = error
            continue
        except Exception:
            # One post's unexpected failure is that post's alone, not its batch's.
            logger.exception("danmaku_post: checking a post failed")
            results[index] = ServiceError("internal", "Something went wrong; try again.")
            continue
        checked.append((index, hit))
    retry_afters = ratelimit.hit_many([hit for _, hit in checked])
    stored: list[tuple[Comment, moderation.Screening]] = []
    for (index, _), retry_after in zip(checked, retry_afters, strict=True):
        post = posts[index]
        if retry_after is not None:
            results[index] = _rate_limited(retry_after)
            continue
        try:
            screening = moderation.post_screen(event=post.event, text=post.draft.text, room_rules=room_rules[post.event.pk])
        except Exception:
            logger.exception("danmaku_post: screening a post failed")
            results[index] = ServiceError("internal", "Something went wrong; try again.")
            continue
        comment = Comment(
            event=post.event,
            author=post.author,
            text=screening.text,
            color=post.draft.color,
            mode=post.draft.mode,
            size=post.draft.size,
            media_ms=post.draft.media_ms,
            status=screening.status,
        )
        results[index] = comment
        stored.append((comment, screening))
    if stored:
        with transaction.atomic():
            Comment.objects.bulk_create([comment for comment, _ in stored])
            for comment, screening in stored:
                if comment.status == Comment.Status.VISIBLE:
                    transaction.on_commit(partial(broadcast.publish_danmaku, comment.event_id, wire.comment_payload(comment)))
                moderation.post_screened(comment=comment, screening=screening)
    return [
        ServiceError("comment_rejected", "This comment breaks the room's rules and was not posted.", id=result.pk)
        if isinstance(result, Comment) and result.status == Comment.Status.REJECTED
        else result
        for result in results
    ]


def danmaku_catchup(*, event: Event, after_id: int) -> list[dict]:
    """Visible comments a reconnecting client missed, newest window only."""
    since = timezone.now() - timedelta(seconds=settings.CATCHUP_SECONDS)
    comments = (
        Comment.objects.filter(event=event, status=Comment.Status.VISIBLE, id__gt=after_id, created_at__gte=since)
        .select_related("author")
        .order_by("-id")[: settings.CATCHUP_MAX_ITEMS]
    )
    return [wire.comment_payload(c) for c in reversed(comments)]


def danmaku_window(*, event: Event, from_ms: int, to_ms: int, limit: int):
    """Visible comments with ``from_ms <= media_ms < to_ms``, in media order."""
    return (
        Comment.objects.filter(
            event=event, status=Comment.Status.VISIBLE, media_ms__gte=from_ms, media_ms__lt=to_ms
        )
        .select_related("author")
        .order_by("media_ms", "id")[:limit]
    )


def danmaku_density(*, event: Event, bucket_ms: int) -> list[dict]:
    """Visible comments per media-time bucket: the replay's heat graph."""
    rows = (
        Comment.objects.filter(event=event, status=Comment.Status.VISIBLE)
        .annotate(bucket=ExpressionWrapper(F("media_ms") / Value(bucket_ms), output_field=IntegerField()))
        .values("bucket")
        .annotate(count=Count("id"))
        .order_by("bucket")
    )
    counts: dict[int, int] = {}
    for row in rows:
        start = int(row["bucket"]) * bucket_ms
        counts[start] = counts.get(start, 0) + row["count"]
    return [{"start_ms": start, "count": count} for start, count in sorted(counts.items())]


def event_by_slug(slug: str) -> Event | None:
    return Event.objects.filter(slug=slug).first()


def room_viewer(*, user, event: Event) -> dict:
    """What a room's ``hello`` says about the viewer: a banned or timed-out account cannot post, and why."""
    allowed = can_post(user, event)
    refusal = None
    if allowed:
        try:
            moderation.sanction_check(user=user)
        except ServiceError as error:
            allowed = False
            refusal = {"code": error.code, "message": error.message, **error.details}
    return wire.viewer_payload(user, can_post=allowed, refusal=refusal)


def room_snapshot(*, event: Event, lang: str | None = None) -> dict:
    """
    What a late joiner needs at once besides the event: current stats, key
    moments so far, the open poll (or the one closed in the past minute), and
    the latest summary (in ``lang``, default the event's first summary language).
    """
    from events.services import room_facts
    from polls.services import poll_for_room
    from summaries.services import summary_snapshot

    return {
        **room_facts(event=event),
        "poll": poll_for_room(event=event),
        "summary": summary_snapshot(event=event, lang=lang),
    }
