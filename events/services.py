"""
Producers' write paths for an event: its lifecycle, its stats and its key moments.

The console's REST calls, the feed player and admin all call these. Each checks
that its actor produces, validates, writes in a transaction and publishes to
the room on commit (``event``, ``stats`` and ``moment`` frames, chat/wire.py).
"""
import re
from datetime import UTC, datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from chat import broadcast, wire
from companion.errors import ServiceError

from . import stats as stats_schema
from .models import Event, KeyMoment, StatsSnapshot, validate_summary_languages
from .roles import producer_check

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_SLUG = 80
KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
MOMENT_KINDS = ("goal", "record", "medal", "performance", "start", "finish", "lead", "crash", "penalty", "card", "other")
MAX_MOMENT_TITLE = 80
MAX_MOMENT_DETAIL = 280
MAX_MOMENTS_PER_EVENT = 1000
# How far ahead of the live edge a moment may be pinned (clocks differ a little).
MOMENT_SKEW_MS = 5000
# The newest moments a joiner's hello carries (the moments API has all).
MOMENTS_IN_HELLO = 200


def _invalid(code: str, field: str, message: str) -> ServiceError:
    return ServiceError(code, message, field=field)


def _publish_event(event: Event) -> None:
    transaction.on_commit(partial(broadcast.publish_frame, event.pk, wire.EVENT, wire.event_frame(wire.event_payload(event))))


# --- lifecycle ------------------------------------------------------------------------


def event_create(
    *,
    by,
    title: str,
    slug: str | None = None,
    description: str = "",
    scheduled_start: datetime | None = None,
    video_url: str = "",
    summary_languages: list[str] | None = None,
) -> Event:
    """A scheduled event. Without a slug, one is made from the title (made unique with -2, -3...)."""
    producer_check(by)
    title = " ".join(str(title or "").split())
    if not title:
        raise _invalid("invalid_title", "title", "Give the event a title.")
    if len(title) > MAX_TITLE:
        raise _invalid("invalid_title", "title", f"Titles are at most {MAX_TITLE} characters.")
    description = str(description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise _invalid("invalid_description", "description", f"Descriptions are at most {MAX_DESCRIPTION} characters.")
    if video_url:
        try:
            URLValidator(schemes=["http", "https"])(video_url)
        except ValidationError:
            raise _invalid("invalid_video_url", "video_url", "video_url must be an http(s) URL.") from None
    if summary_languages is not None:
        try:
            validate_summary_languages(summary_languages)
        except ValidationError as error:
            raise _invalid("invalid_summary_languages", "summary_languages", error.messages[0]) from None
    if scheduled_start is not None:
        if timezone.is_naive(scheduled_start):
            raise _invalid("invalid_scheduled_start", "scheduled_start", "scheduled_start needs a time zone (e.g. ...Z).")
        scheduled_start = scheduled_start.astimezone(UTC)
    with transaction.atomic():
        if slug:
            if len(slug) > MAX_SLUG or not SLUG_RE.match(slug):
                raise _invalid("invalid_slug", "slug", "Slugs are lowercase letters, digits and dashes.")
            if Event.objects.filter(slug=slug).exists():
                raise _invalid("slug_taken", "slug", f"An event with slug {slug!r} exists already.")
        else:
            slug = _free_slug(slugify(title)[: MAX_SLUG - 6].strip("-") or "event")
        event = Event.objects.create(
            title=title,
            slug=slug,
            description=description,
            scheduled_start=scheduled_start,
            video_url=video_url or "",
            summary_languages=summary_languages or ["en"],
            created_by=by,
        )
    return event


def _free_slug(base: str) -> str:
    taken = set(Event.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def event_schedule(*, event: Event, by, scheduled_start: datetime) -> Event:
    """Set (or move) the planned start of an event that has not started."""
    producer_check(by)
    if scheduled_start is None or timezone.is_naive(scheduled_start):
        raise _invalid("invalid_scheduled_start", "scheduled_start", "scheduled_start is a date-time with a time zone.")
    scheduled_start = scheduled_start.astimezone(UTC)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status != Event.Status.SCHEDULED:
            raise ServiceError(
                "event_already_live" if event.status == Event.Status.LIVE else "event_ended",
                "Only an event that has not started can be rescheduled.",
            )
        event.scheduled_start = scheduled_start
        event.save(update_fields=["scheduled_start"])
        _publish_event(event)
    return event


def event_go_live(*, event: Event, by) -> Event:
    """Go live: the broadcast clock starts now (media time 0)."""
    producer_check(by)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status == Event.Status.LIVE:
            raise ServiceError("event_already_live", "The event is live already.")
        if event.status == Event.Status.ENDED:
            raise ServiceError("event_ended", "The event has ended; create a new one.")
        event.status, event.started_at, event.ended_at = Event.Status.LIVE, timezone.now(), None
        event.save(update_fields=["status", "started_at", "ended_at"])
        _publish_event(event)
    return event


def event_end(*, event: Event, by) -> Event:
    """End a live event (the replay starts from here); its open poll closes."""
    producer_check(by)
    # Polls depend on events, not the reverse: import at call time.
    from polls import services as polls_services

    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if event.status == Event.Status.SCHEDULED:
            raise ServiceError("event_not_live", "The event has not started yet.")
        if event.status == Event.Status.ENDED:
            raise ServiceError("event_ended", "The event has ended already.")
        event.status, event.ended_at = Event.Status.ENDED, timezone.now()
        event.save(update_fields=["status", "ended_at"])
        polls_services.polls_close_open(event=event)
        _publish_event(event)
    return event


# --- stats ------------------------------------------------------------------------------


def stats_push(*, event: Event, by, data) -> StatsSnapshot:
    """
    Validate a push (events/stats.py), merge it into the current document,
    store the result as a new snapshot and broadcast it (``stats`` frame; a
    burst of pushes reaches viewers as one frame per tick). Invalid pushes
    raise the first problem's code with ``field`` and all of them in ``errors``.
    """
    producer_check(by)
    try:
        push = stats_schema.stats_validate(data)
    except stats_schema.StatsInvalid as invalid:
        first = invalid.errors[0]
        raise ServiceError(first["code"], first["message"], field=first["field"], errors=invalid.errors) from None
    with transaction.atomic():
        # One push at a time per event, so no section of a concurrent push is lost.
        event = Event.objects.select_for_update().get(pk=event.pk)
        current = stats_current(event=event)
        before = current.document if current else None
        document = stats_schema.stats_merge(before, push)
        snapshot = StatsSnapshot.objects.create(
            event=event,
            document=document,
            previous_ranks=stats_schema.previous_ranks(
                before=before, before_ranks=current.previous_ranks if current else [], push=push, after=document
            ),
            media_ms=event.media_ms_at(timezone.now()),
            by=by,
        )
        transaction.on_commit(
            partial(broadcast.publish_frame, event.pk, wire.STATS, wire.stats_frame(wire.stats_payload(snapshot)))
        )
    return snapshot


def stats_current(*, event: Event) -> StatsSnapshot | None:
    return StatsSnapshot.objects.filter(event=event).order_by("-id").first()


def stats_at(*, event: Event, media_ms: int) -> StatsSnapshot | None:
    """The document as it stood at broadcast time ``media_ms`` (the replay), or None before the first push."""
    return StatsSnapshot.objects.filter(event=event, media_ms__lte=media_ms).order_by("-id").first()


# --- key moments --------------------------------------------------------------------------


def moment_push(*, event: Event, by, data) -> KeyMoment:
    """
    Pin a key moment to broadcast time (``media_ms``, default: the live edge now)
    and broadcast it (``moment`` frame). ``data``: kind, title, detail, media_ms.
    """
    producer_check(by)
    if not isinstance(data, dict):
        raise ServiceError("invalid_moment", "Send a JSON object with kind and title.")
    unknown = sorted(set(data) - {"kind", "title", "detail", "media_ms"})
    if unknown:
        raise _invalid("invalid_moment", unknown[0], f"A moment has no field {unknown[0]!r}.")
    kind = data.get("kind")
    if not isinstance(kind, str) or not KIND_RE.match(kind):
        raise _invalid("invalid_kind", "kind", "kind is a short lowercase word such as goal, record, medal or performance.")
    title = data.get("title")
    if not isinstance(title, str) or not " ".join(title.split()):
        raise _invalid("invalid_title", "title", "Give the moment a title.")
    title = " ".join(title.split())
    if len(title) > MAX_MOMENT_TITLE:
        raise _invalid("invalid_title", "title", f"Titles are at most {MAX_MOMENT_TITLE} characters.")
    detail = data.get("detail") or ""
    if not isinstance(detail, str):
        raise _invalid("invalid_detail", "detail", "detail must be a string.")
    detail = " ".join(detail.split())
    if len(detail) > MAX_MOMENT_DETAIL:
        raise _invalid("invalid_detail", "detail", f"Details are at most {MAX_MOMENT_DETAIL} characters.")
    edge = event.live_edge_ms()
    if edge is None:
        raise ServiceError("event_not_live", "Key moments are pinned to broadcast time: go live first.")
    media_ms = data.get("media_ms")
    if media_ms is None:
        media_ms = edge
    elif isinstance(media_ms, bool) or not isinstance(media_ms, int) or not 0 <= media_ms <= edge + MOMENT_SKEW_MS:
        raise _invalid("invalid_media_time", "media_ms", "media_ms is a whole number of milliseconds within the broadcast.")
    with transaction.atomic():
        if KeyMoment.objects.filter(event=event).count() >= MAX_MOMENTS_PER_EVENT:
            raise ServiceError("too_many_moments", f"An event has at most {MAX_MOMENTS_PER_EVENT} key moments.")
        moment = KeyMoment.objects.create(event=event, media_ms=media_ms, kind=kind, title=title, detail=detail, by=by)
        # Each moment has its own key: two in one tick are both delivered.
        transaction.on_commit(
            partial(
                broadcast.publish_frame, event.pk, f"{wire.MOMENT}.{moment.pk}", wire.moment_frame(wire.moment_payload(moment))
            )
        )
    return moment


def moments_list(*, event: Event, from_ms: int = 0, to_ms: int | None = None):
    """Key moments with ``from_ms <= media_ms < to_ms``, in media order."""
    moments = KeyMoment.objects.filter(event=event, media_ms__gte=from_ms)
    if to_ms is not None:
        moments = moments.filter(media_ms__lt=to_ms)
    return moments.order_by("media_ms", "id")


# --- what other apps read -------------------------------------------------------------------


def event_facts(*, event: Event) -> dict:
    """The current stats document and all key moments, as plain data (summaries' prompt material)."""
    current = stats_current(event=event)
    return {
        "stats": current.document if current else None,
        "moments": [wire.moment_payload(m) for m in moments_list(event=event)],
    }


def room_facts(*, event: Event) -> dict:
    """The stats and moments part of a joiner's ``hello``."""
    current = stats_current(event=event)
    newest = list(KeyMoment.objects.filter(event=event).order_by("-media_ms", "-id")[:MOMENTS_IN_HELLO])
    return {
        "stats": wire.stats_payload(current) if current else None,
        "moments": [wire.moment_payload(m) for m in reversed(newest)],
    }
