"""
Moderation's write paths, and the two checks the post path calls.

Admin actions, the live moderation socket and commands all call these; each
checks that its actor moderates, writes in a transaction, writes the
moderation log, and publishes on commit (retractions to viewers, approved
comments to the room, outcomes to authors, changes to moderators' pages).

The post path (``chat.services.danmaku_post``) calls ``post_authorise``
(sanctions, who may post, slow mode, the room's rate) before storing, and
``post_screen`` / ``post_screened`` (blocked terms) around the insert.
"""
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from datetime import timezone as dt_timezone
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chat import broadcast, wire
from chat.models import Comment
from companion.errors import ServiceError
from events.models import Event

from . import publish, rules
from .models import BlockedTerm, ModerationLog, RoomSettings, Sanction
from .patterns import mask, variants
from .roles import is_moderator

Status = Comment.Status
Action = ModerationLog.Action
WhoMayPost = RoomSettings.WhoMayPost
UPDATE_CHUNK = 500


# --- the post path ------------------------------------------------------------------


@dataclass(frozen=True)
class PostRate:
    """The posting rate that applies to an author in a room, and the limiter key that counts it."""

    count: int
    window: int
    key: str


@dataclass(frozen=True)
class Screening:
    """What the blocked terms make of a comment's text."""

    action: str  # "allow", "mask", "hold" or "reject"
    text: str  # what to store (masked where a mask term matched)
    term: dict | None = None  # the deciding term: {"id", "pattern", "action"}

    @property
    def status(self) -> str:
        return {"hold": Status.HELD, "reject": Status.REJECTED}.get(self.action, Status.VISIBLE)


def post_authorise(*, event: Event, author, sanctions: dict | None = None, room_rules: rules.Rules | None = None) -> PostRate:
    """
    Raise why ``author`` may not post in ``event`` now: ``banned``,
    ``timed_out`` (with ``until``), ``posting_restricted`` or ``slow_mode``
    (with ``retry_after``). Otherwise return the room's posting rate.
    Moderators are exempt from slow mode and from who-may-post.
    ``sanctions`` is ``active_sanctions`` of a batch's authors and
    ``room_rules`` the event's ``rules.rules_for``, each read once for a batch.
    """
    now = timezone.now()
    sanction_check(user=author, at=now, known=sanctions)
    room = (room_rules or rules.rules_for(event.pk)).room
    exempt = False
    if room.who_may_post != WhoMayPost.EVERYONE or room.slow_mode_seconds:
        exempt = is_moderator(author)
    if not exempt and room.who_may_post == WhoMayPost.MODERATORS:
        raise ServiceError(
            "posting_restricted", "Only moderators may post in this room right now.", who_may_post=room.who_may_post
        )
    if not exempt and room.who_may_post == WhoMayPost.ESTABLISHED:
        allowed_at = author.date_joined + timedelta(minutes=room.min_account_age_minutes)
        if allowed_at > now:
            raise ServiceError(
                "posting_restricted",
                f"New accounts may post here {room.min_account_age_minutes} minutes after signing up.",
                who_may_post=room.who_may_post,
                until=wire.iso(allowed_at),
                retry_after=round((allowed_at - now).total_seconds(), 3),
            )
    if not exempt and room.slow_mode_seconds:
        _slow_mode_take(event_id=event.pk, user_id=author.pk, seconds=room.slow_mode_seconds)
    if room.rate_count is None and room.rate_window is None:
        key = f"danmaku:{author.pk}"
    else:  # the room's own rate: its own counter, so the site default's window does not mix in
        key = f"danmaku:{author.pk}:e{event.pk}"
    return PostRate(
        count=room.rate_count or settings.DANMAKU_RATE_COUNT,
        window=room.rate_window or settings.DANMAKU_RATE_WINDOW,
        key=key,
    )


def active_sanctions(*, user_ids, at=None) -> dict[int, list[tuple[str, object]]]:
    """
    The sanctions in force now, as ``{user id: [(kind, ends_at), ...]}``, for
    many accounts in one query. Every comment asks this, so it is one plain
    statement (``Sanction.objects.active()``'s condition on the indexed user
    column) rather than a QuerySet built and compiled per comment, which cost
    more than the query itself.
    """
    found: dict[int, list[tuple[str, object]]] = {int(user_id): [] for user_id in user_ids}
    if not found:
        return found
    at = at or timezone.now()
    table = connection.ops.quote_name(Sanction._meta.db_table)
    field = Sanction._meta.get_field("ends_at")
    placeholders = ", ".join(["%s"] * len(found))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT user_id, kind, ends_at FROM {table} WHERE user_id IN ({placeholders}) "
            "AND lifted_at IS NULL AND (ends_at IS NULL OR ends_at > %s)",
            [*found, field.get_db_prep_value(at, connection)],
        )
        for user_id, kind, ends_at in cursor.fetchall():
            found[user_id].append((kind, _aware(ends_at)))
    return found


def _aware(value):
    """A raw cursor's datetime as the ORM would give it (SQLite: text or naive UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    return value


def sanction_check(*, user, at=None, known: dict | None = None) -> None:
    """
    Raise ``banned`` or ``timed_out`` (with ``until`` and ``retry_after``) if
    ``user`` is sanctioned now; ``known`` is an ``active_sanctions`` result
    that includes ``user``, read just before.
    """
    at = at or timezone.now()
    if known is None or user.pk not in known:
        known = active_sanctions(user_ids=[user.pk], at=at)
    active = known[user.pk]
    if not active:
        return
    if any(kind == Sanction.Kind.BAN for kind, _ in active):
        raise ServiceError("banned", "This account is banned from posting.", until=None)
    until = max(ends_at for _, ends_at in active)
    raise ServiceError(
        "timed_out",
        f"You are timed out until {until:%H:%M} UTC.",
        until=wire.iso(until),
        retry_after=round((until - at).total_seconds(), 3),
    )


def _slow_mode_take(*, event_id: int, user_id: int, seconds: int) -> None:
    """Take the author's one comment per ``seconds`` in the room, or raise ``slow_mode``."""
    key = f"slow:{event_id}:{user_id}"
    now = time.time()
    if cache.add(key, now, timeout=seconds):
        return
    last = cache.get(key)
    retry_after = seconds - (now - last) if isinstance(last, int | float) else seconds
    if retry_after <= 0:  # the entry outlived its second-granular expiry
        cache.set(key, now, timeout=seconds)
        return
    raise ServiceError(
        "slow_mode", f"Slow mode: one comment every {seconds} seconds.", retry_after=round(retry_after, 3), seconds=seconds
    )


def post_screen(*, event: Event, text: str, room_rules: rules.Rules | None = None) -> Screening:
    """
    Apply the event's and the global blocked terms to ``text``. Reject beats
    hold beats mask; mask terms apply in every case but reject (a held
    comment is stored masked). Terms also match the NFKC form of the text,
    so full-width or ligature look-alikes do not slip through; when only that
    form matches a mask term, the normalised text is stored, masked.
    """
    terms = (room_rules or rules.rules_for(event.pk)).terms
    if not terms:
        return Screening("allow", text)
    forms = variants(text)
    decisive = None
    masking = None
    masked = text
    for term in terms:
        if not any(term.regex.search(form) for form in forms):
            continue
        if term.action == BlockedTerm.Action.MASK:
            masking = masking or term
            if term.regex.search(masked) is None:
                masked = variants(masked)[-1]
            masked = mask(term.regex, masked)
        elif decisive is None or (term.action == BlockedTerm.Action.REJECT and decisive.action != term.action):
            decisive = term
    if decisive is not None and decisive.action == BlockedTerm.Action.REJECT:
        return Screening("reject", text, _term_payload(decisive))
    if decisive is not None:
        return Screening("hold", masked, _term_payload(decisive))
    if masking is not None:
        return Screening("mask", masked, _term_payload(masking))
    return Screening("allow", text)


def _term_payload(term: rules.Term) -> dict:
    return {"id": term.id, "pattern": term.pattern, "action": term.action}


def post_screened(*, comment: Comment, screening: Screening) -> None:
    """
    Record what screening did to a just-stored comment (inside its
    transaction): the log for holds and rejections, the comment on the
    moderators' pages, and a notice to the author of a held comment. (A
    rejected one's author gets the ``comment_rejected`` error instead.)
    """
    if screening.action == "allow":
        return
    event_id = comment.event_id
    if screening.action in ("hold", "reject"):
        ModerationLog.objects.create(
            **_log_fields(
                by=None,
                action=Action.HOLD if screening.action == "hold" else Action.AUTO_REJECT,
                target=comment,
                reason=f"blocked term {screening.term['pattern']!r}",
                details={"term": screening.term},
            )
        )
    frame = wire.moderation_comment_frame(wire.moderation_comment_payload(comment, term=screening.term))
    transaction.on_commit(partial(publish.publish_to_moderators, event_id, frame))
    if screening.action == "hold":
        notice = wire.notice_frame(
            level="info", code="comment_held", message="Your comment is waiting for a moderator.", comment=comment.pk
        )
        transaction.on_commit(partial(publish.publish_to_author, event_id, comment.author_id, notice))


# --- comments ----------------------------------------------------------------------------


def comment_hide(*, comments, by, reason: str = "") -> list[Comment]:
    """
    Hide visible (or held) comments: out of the replay, and retracted from
    every screen (``danmaku.retract``) once the transaction commits.
    Returns the comments that changed; others are left as they were.
    """
    changed = _transition(comments, to=Status.HIDDEN, allowed=(Status.VISIBLE, Status.HELD), by=by, reason=reason, action=Action.HIDE)
    for event_id, rows in _by_event(changed).items():
        _retract(event_id, [c for c in rows if c.previous_status == Status.VISIBLE])
    return changed


def comment_restore(*, comments, by, reason: str = "") -> list[Comment]:
    """
    Make hidden comments visible again: back in the replay and catch-up. They
    are not broadcast again (their moment has passed, and screens that
    retracted them ignore their id).
    """
    return _transition(comments, to=Status.VISIBLE, allowed=(Status.HIDDEN,), by=by, reason=reason, action=Action.RESTORE)


def comment_approve(*, comments, by, reason: str = "") -> list[Comment]:
    """Approve held (or rejected) comments: broadcast to the room on commit, and tell their authors."""
    changed = _transition(
        comments, to=Status.VISIBLE, allowed=(Status.HELD, Status.REJECTED), by=by, reason=reason, action=Action.APPROVE
    )
    for comment in changed:
        transaction.on_commit(partial(broadcast.publish_danmaku, comment.event_id, wire.comment_payload(comment)))
        _tell_author(comment, code="comment_approved", level="info", message="A moderator approved your comment.")
    return changed


def comment_reject(*, comments, by, reason: str = "") -> list[Comment]:
    """Reject held, visible or hidden comments: retracted if they were on air; authors of held ones are told."""
    changed = _transition(
        comments,
        to=Status.REJECTED,
        allowed=(Status.HELD, Status.VISIBLE, Status.HIDDEN),
        by=by,
        reason=reason,
        action=Action.REJECT,
    )
    for event_id, rows in _by_event(changed).items():
        _retract(event_id, [c for c in rows if c.previous_status == Status.VISIBLE])
    for comment in changed:
        if comment.previous_status == Status.HELD:
            _tell_author(comment, code="comment_rejected", level="warning", message="A moderator rejected your comment.")
    return changed


def _transition(comments, *, to: str, allowed: tuple, by, reason: str, action: str) -> list[Comment]:
    _require_moderator(by)
    reason = _clean_reason(reason)
    with transaction.atomic():
        rows = list(
            Comment.objects.select_for_update(of=("self",))
            .select_related("author")
            .filter(_selection(comments), status__in=allowed)
            .order_by("pk")
        )
        if not rows:
            return []
        ids = [c.pk for c in rows]
        for start in range(0, len(ids), UPDATE_CHUNK):
            Comment.objects.filter(pk__in=ids[start : start + UPDATE_CHUNK]).update(status=to)
        for comment in rows:
            comment.previous_status, comment.status = comment.status, to
        ModerationLog.objects.bulk_create(
            [
                ModerationLog(
                    **_log_fields(by=by, action=action, target=c, reason=reason, details={"from": c.previous_status})
                )
                for c in rows
            ]
        )
        for event_id, group in _by_event(rows).items():
            frame = wire.moderation_update_frame(ids=[c.pk for c in group], status=to, by=by.name, action=action)
            transaction.on_commit(partial(publish.publish_to_moderators, event_id, frame))
    return rows


def _selection(comments) -> Q:
    if isinstance(comments, QuerySet):
        return Q(pk__in=comments.values("pk"))
    if isinstance(comments, Comment):
        return Q(pk=comments.pk)
    return Q(pk__in=[c.pk if isinstance(c, Comment) else int(c) for c in comments])


def _by_event(comments: Iterable[Comment]) -> dict[int, list[Comment]]:
    groups: dict[int, list[Comment]] = defaultdict(list)
    for comment in comments:
        groups[comment.event_id].append(comment)
    return groups


def _retract(event_id: int, comments: list[Comment]) -> None:
    if comments:
        transaction.on_commit(partial(broadcast.publish_retract, event_id, [c.pk for c in comments]))


def _tell_author(comment: Comment, *, code: str, level: str, message: str) -> None:
    notice = wire.notice_frame(level=level, code=code, message=message, comment=comment.pk)
    transaction.on_commit(partial(publish.publish_to_author, comment.event_id, comment.author_id, notice))


# --- authors ---------------------------------------------------------------------------------


def author_timeout(*, user, duration: timedelta, by, reason: str = "", event: Event | None = None) -> Sanction:
    """
    Refuse everything ``user`` posts, everywhere, for ``duration`` (one
    minute to ``MODERATION_MAX_TIMEOUT_MINUTES``). ``event``, when the
    time-out comes from a room, is where the author and moderators are told.
    """
    longest = timedelta(minutes=settings.MODERATION_MAX_TIMEOUT_MINUTES)
    if not isinstance(duration, timedelta) or not timedelta(minutes=1) <= duration <= longest:
        raise ServiceError(
            "invalid_duration", f"A time-out lasts from 1 minute to {longest.days} days.", field="duration"
        )
    return _sanction(user=user, kind=Sanction.Kind.TIMEOUT, ends_at=timezone.now() + duration, by=by, reason=reason, event=event)


def author_ban(*, user, by, reason: str = "", event: Event | None = None) -> Sanction:
    """Refuse everything ``user`` posts, everywhere, until the ban is lifted."""
    return _sanction(user=user, kind=Sanction.Kind.BAN, ends_at=None, by=by, reason=reason, event=event)


def author_unban(*, user, by, reason: str = "") -> int:
    """Lift every active time-out and ban of ``user``; returns how many were lifted."""
    _require_moderator(by)
    reason = _clean_reason(reason)
    with transaction.atomic():
        now = timezone.now()
        active = list(Sanction.objects.select_for_update().active(now).filter(user=user))
        if not active:
            return 0
        Sanction.objects.filter(pk__in=[s.pk for s in active]).update(lifted_at=now, lifted_by=by)
        ModerationLog.objects.create(
            **_log_fields(
                by=by, action=Action.UNBAN, target=user, reason=reason, details={"sanctions": [s.pk for s in active]}
            )
        )
    return len(active)


def sanction_precheck(*, user, by) -> None:
    """Raise why ``by`` may not sanction ``user`` (forms call it to show the reason next to the field)."""
    _require_moderator(by)
    if user.pk == by.pk:
        raise ServiceError("cannot_sanction", "You cannot sanction your own account.")
    if is_moderator(user):
        raise ServiceError(
            "cannot_sanction", "Moderators cannot be sanctioned; take them out of the moderators group first."
        )


def _sanction(*, user, kind: str, ends_at, by, reason: str, event: Event | None) -> Sanction:
    sanction_precheck(user=user, by=by)
    reason = _clean_reason(reason)
    with transaction.atomic():
        sanction = Sanction.objects.create(user=user, kind=kind, ends_at=ends_at, reason=reason, created_by=by)
        ModerationLog.objects.create(
            **_log_fields(
                by=by,
                action=Action.BAN if kind == Sanction.Kind.BAN else Action.TIMEOUT,
                target=user,
                reason=reason,
                event=event,
                details={"sanction": sanction.pk, "until": wire.iso(ends_at)},
            )
        )
        if event is not None:
            until = wire.iso(ends_at)
            message = (
                "A moderator banned this account from posting."
                if kind == Sanction.Kind.BAN
                else f"A moderator timed you out until {ends_at:%H:%M} UTC."
            )
            code = "banned" if kind == Sanction.Kind.BAN else "timed_out"
            notice = wire.notice_frame(level="warning", code=code, message=message, until=until)
            transaction.on_commit(partial(publish.publish_to_author, event.pk, user.pk, notice))
            frame = wire.moderation_sanction_frame(
                user={"id": user.pk, "name": user.name, "username": user.username}, kind=kind, until=until, by=by.name
            )
            transaction.on_commit(partial(publish.publish_to_moderators, event.pk, frame))
    return sanction


# --- blocked terms and room settings -----------------------------------------------------------


def term_save(*, term: BlockedTerm, by, reason: str = "") -> BlockedTerm:
    """Validate (regex safety included, see patterns.py) and save a blocked term; applies at once everywhere."""
    _require_moderator(by)
    created = term.pk is None
    if created and term.created_by_id is None:
        term.created_by = by
    try:
        term.full_clean()
    except ValidationError as error:
        raise ServiceError("invalid_term", " ".join(error.messages), field="pattern") from None
    with transaction.atomic():
        term.save()
        ModerationLog.objects.create(
            **_log_fields(
                by=by,
                action=Action.TERM_SAVE,
                target=term,
                reason=_clean_reason(reason),
                event=term.event,
                details={
                    "created": created,
                    "pattern": term.pattern,
                    "is_regex": term.is_regex,
                    "action": term.action,
                    "is_active": term.is_active,
                },
            )
        )
        _rules_changed()
    return term


def term_delete(*, term: BlockedTerm, by, reason: str = "") -> None:
    _require_moderator(by)
    with transaction.atomic():
        ModerationLog.objects.create(
            **_log_fields(
                by=by,
                action=Action.TERM_DELETE,
                target=term,
                reason=_clean_reason(reason),
                event=term.event,
                details={"pattern": term.pattern, "is_regex": term.is_regex, "action": term.action},
            )
        )
        term.delete()
        _rules_changed()


ROOM_FIELDS = ("slow_mode_seconds", "who_may_post", "min_account_age_minutes", "rate_count", "rate_window")


def room_settings_save(*, room_settings: RoomSettings, by, reason: str = "") -> RoomSettings:
    """Save an event's room settings; applies at once, and viewers are told when slow mode changes."""
    _require_moderator(by)
    try:
        room_settings.full_clean(validate_unique=room_settings.pk is None)
    except ValidationError as error:
        raise ServiceError("invalid_settings", " ".join(error.messages)) from None
    before = RoomSettings.objects.filter(pk=room_settings.pk).values(*ROOM_FIELDS).first() if room_settings.pk else None
    before = before or {field: RoomSettings._meta.get_field(field).get_default() for field in ROOM_FIELDS}
    after = {field: getattr(room_settings, field) for field in ROOM_FIELDS}
    room_settings.updated_by = by
    with transaction.atomic():
        room_settings.save()
        ModerationLog.objects.create(
            **_log_fields(
                by=by,
                action=Action.SETTINGS_SAVE,
                target=room_settings,
                reason=_clean_reason(reason),
                event=room_settings.event,
                details={f: {"from": before[f], "to": after[f]} for f in ROOM_FIELDS if before[f] != after[f]},
            )
        )
        _rules_changed()
        seconds = room_settings.slow_mode_seconds
        if before["slow_mode_seconds"] != seconds:
            notice = wire.notice_frame(
                level="info",
                code="slow_mode",
                message=f"Slow mode is on: one comment every {seconds} seconds." if seconds else "Slow mode is off.",
                seconds=seconds,
            )
            transaction.on_commit(partial(broadcast.publish_frame, room_settings.event_id, "notice:slow_mode", notice))
    return room_settings


def _rules_changed() -> None:
    # Now, so this process rereads at once, and after commit, so no process
    # keeps what it read before the commit.
    rules.rules_changed()
    transaction.on_commit(rules.rules_changed)


# --- shared -----------------------------------------------------------------------------------------


def _require_moderator(user) -> None:
    if not is_moderator(user):
        raise ServiceError("forbidden", "Only moderators may do this.")


def _clean_reason(reason) -> str:
    return " ".join(str(reason or "").split())[: ModerationLog._meta.get_field("reason").max_length]


def _log_fields(*, by, action: str, target, reason: str, event: Event | None = None, details: dict | None = None) -> dict:
    if isinstance(target, Comment):
        kind, target_repr = "comment", f"#{target.pk} by {target.author.username}: {target.text}"
        event_id = target.event_id
    else:
        kind = target._meta.model_name
        target_repr = str(target)
        event_id = event.pk if event is not None else None
    return {
        "actor": by,
        "actor_name": by.get_username() if by is not None else "",
        "action": action,
        "event_id": event_id,
        "target_type": kind,
        "target_id": target.pk,
        "target_repr": target_repr[:200],
        "reason": reason,
        "details": details or {},
    }
