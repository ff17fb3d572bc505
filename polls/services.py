"""
Polls: producers prepare, queue, launch and close them; viewers vote once each.

The REST views, the room socket (``poll.vote``), Celery tasks, the sweep command
and the feed player all call these. Writes happen in a transaction and reach
the room on commit: a ``poll`` frame on launch and close, and live tallies a
few times a second while votes pour in (polls/tally.py), never one per vote.

Exactly once: ``Vote`` has a unique (poll, user) constraint, so a second vote
fails in the database whatever the client does. Votes hold a shared lock on
their poll's votes and a close an exclusive one (``_votes_lock``), so a vote
either commits before the close (and is in the final tally) or sees the poll
closed.
"""
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, IntegerField, Value, When
from django.utils import timezone

from chat import broadcast, wire
from companion.errors import ServiceError
from events.models import Event
from events.roles import producer_check

from . import tally
from .models import Poll, PollOption, Vote

Status = Poll.Status
MAX_QUESTION = 200
MAX_LABEL = 80
MIN_OPTIONS, MAX_OPTIONS = 2, 6
MIN_DURATION_S, MAX_DURATION_S = 5, 3600
# A closed poll stays in a joiner's hello this long, so late joiners see the result.
SHOW_CLOSED_FOR = timedelta(seconds=60)
POLL_FIELDS = ("question", "options", "duration_s", "results_visibility", "status", "position")


def _invalid(code: str, field: str, message: str) -> ServiceError:
    return ServiceError(code, message, field=field)


def _not_found() -> ServiceError:
    return ServiceError("poll_not_found", "No such poll.")


# --- preparing --------------------------------------------------------------------------


def _clean(data, *, partial_update: bool) -> dict:
    """Validated poll fields from a request body (all required but status and position, unless partial)."""
    if not isinstance(data, dict):
        raise ServiceError("invalid_poll", "Send a JSON object.")
    unknown = sorted(set(data) - set(POLL_FIELDS))
    if unknown:
        raise _invalid("invalid_poll", unknown[0], f"A poll has no field {unknown[0]!r}.")
    clean: dict = {}
    if "question" in data or not partial_update:
        question = data.get("question")
        question = " ".join(question.split()) if isinstance(question, str) else ""
        if not question or len(question) > MAX_QUESTION:
            raise _invalid("invalid_question", "question", f"Ask a question of 1 to {MAX_QUESTION} characters.")
        clean["question"] = question
    if "options" in data or not partial_update:
        options = data.get("options")
        if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
            raise _invalid("invalid_options", "options", f"A poll has {MIN_OPTIONS} to {MAX_OPTIONS} options.")
        labels = []
        for i, label in enumerate(options):
            label = " ".join(label.split()) if isinstance(label, str) else ""
            if not label or len(label) > MAX_LABEL:
                raise _invalid("invalid_options", f"options[{i}]", f"Each option is 1 to {MAX_LABEL} characters.")
            if label.casefold() in {seen.casefold() for seen in labels}:
                raise _invalid("invalid_options", f"options[{i}]", f"{label!r} is listed twice.")
            labels.append(label)
        clean["options"] = labels
    if "duration_s" in data or not partial_update:
        duration = data.get("duration_s", 60)
        if isinstance(duration, bool) or not isinstance(duration, int) or not MIN_DURATION_S <= duration <= MAX_DURATION_S:
            raise _invalid(
                "invalid_duration", "duration_s", f"duration_s is whole seconds from {MIN_DURATION_S} to {MAX_DURATION_S}."
            )
        clean["duration_s"] = duration
    if "results_visibility" in data or not partial_update:
        visibility = data.get("results_visibility", Poll.Visibility.LIVE)
        if visibility not in Poll.Visibility.values:
            raise _invalid("invalid_visibility", "results_visibility", "results_visibility is live or after_close.")
        clean["results_visibility"] = visibility
    if "status" in data:
        if data["status"] not in (Status.DRAFT, Status.QUEUED):
            raise _invalid("invalid_status", "status", "A prepared poll is draft or queued; launch and close it instead.")
        clean["status"] = data["status"]
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or not isinstance(position, int) or abs(position) > 1_000_000:
            raise _invalid("invalid_position", "position", "position is a whole number (smallest first).")
        clean["position"] = position
    return clean


def poll_create(*, event: Event, by, data) -> Poll:
    """
    Prepare a poll: question, 2 to 6 options, duration_s, results_visibility
    (live or after_close), status (queued, the default, or draft) and position
    in the queue (default: last).
    """
    producer_check(by)
    clean = _clean(data, partial_update=False)
    with transaction.atomic():
        if "position" not in clean:
            last = Poll.objects.filter(event=event).order_by("-position").values_list("position", flat=True).first()
            clean["position"] = (last or 0) + 1
        labels = clean.pop("options")
        poll = Poll.objects.create(event=event, created_by=by, **clean)
        PollOption.objects.bulk_create([PollOption(poll=poll, label=label, position=i) for i, label in enumerate(labels)])
    return poll


def poll_update(*, poll: Poll, by, data) -> Poll:
    """Edit a poll that has not been launched (any of the fields of poll_create; options are replaced)."""
    producer_check(by)
    clean = _clean(data, partial_update=True)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().get(pk=poll.pk)
        if poll.status not in (Status.DRAFT, Status.QUEUED):
            raise ServiceError("poll_launched", "A launched poll cannot be changed.")
        labels = clean.pop("options", None)
        for field, value in clean.items():
            setattr(poll, field, value)
        poll.save()
        if labels is not None:
            poll.options.all().delete()
            PollOption.objects.bulk_create([PollOption(poll=poll, label=label, position=i) for i, label in enumerate(labels)])
    return poll


def poll_delete(*, poll: Poll, by) -> None:
    """Delete a poll that has not been launched (launched polls are the record)."""
    producer_check(by)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().get(pk=poll.pk)
        if poll.status not in (Status.DRAFT, Status.QUEUED):
            raise ServiceError("poll_launched", "A launched poll is kept; close it instead.")
        poll.delete()


# --- on air ----------------------------------------------------------------------------------


def poll_launch(*, poll: Poll, by) -> Poll:
    """
    Open a prepared poll now, on a live event with no other open poll: the
    timer runs ``duration_s`` seconds, the poll is pinned to the broadcast
    time of the launch, and a task closes it when the time is up (the sweep,
    ``polls_close_due``, closes it if that task is lost).
    """
    producer_check(by)
    try:
        with transaction.atomic():
            poll = Poll.objects.select_for_update(no_key=True).get(pk=poll.pk)
            event = Event.objects.get(pk=poll.event_id)
            if poll.status not in (Status.DRAFT, Status.QUEUED):
                raise ServiceError("poll_launched", "This poll has been launched already.")
            if event.status != Event.Status.LIVE:
                raise ServiceError("event_not_live", "Polls are launched while the event is live.")
            if not MIN_OPTIONS <= poll.options.count() <= MAX_OPTIONS:
                raise _invalid("invalid_options", "options", f"A poll has {MIN_OPTIONS} to {MAX_OPTIONS} options.")
            now = timezone.now()
            for other in Poll.objects.select_for_update(no_key=True).filter(event=event, status=Status.OPEN):
                if other.closes_at and other.closes_at <= now:
                    _close(other)  # its time is up; the sweep has not got to it yet
                else:
                    raise ServiceError("poll_already_open", "Another poll is open; close it first.", poll=other.pk)
            poll.status, poll.opens_at = Status.OPEN, now
            poll.closes_at = now + timedelta(seconds=poll.duration_s)
            poll.media_ms = event.media_ms_at(now)
            poll.save(update_fields=["status", "opens_at", "closes_at", "media_ms"])
            transaction.on_commit(partial(poll_broadcast, poll_id=poll.pk))
            transaction.on_commit(partial(_schedule_close, poll.pk, poll.duration_s), robust=True)
    except IntegrityError:
        # Two launches raced; the database let one open (polls_one_open_per_event).
        raise ServiceError("poll_already_open", "Another poll is open; close it first.") from None
    return poll


def _schedule_close(poll_id: int, duration_s: int) -> None:
    from .tasks import poll_close_when_due

    # A little late rather than early: an early run finds nothing due and leaves it to the sweep.
    poll_close_when_due.apply_async(args=[poll_id], countdown=duration_s + 0.25)


def poll_close(*, poll: Poll, by) -> Poll:
    """Close an open poll now (a producer's early close). Closing a closed poll changes nothing."""
    producer_check(by)
    with transaction.atomic():
        poll = Poll.objects.select_for_update(no_key=True).get(pk=poll.pk)
        if poll.status in (Status.DRAFT, Status.QUEUED):
            raise ServiceError("poll_not_open", "This poll has not been launched.")
        if poll.status == Status.OPEN:
            _close(poll)
    return poll


def poll_close_due(*, poll_id: int) -> bool:
    """Close the poll if its time is up (the timer task; idempotent). True if this call closed it."""
    with transaction.atomic():
        poll = Poll.objects.select_for_update(no_key=True).filter(pk=poll_id, status=Status.OPEN).first()
        now = timezone.now()
        if poll is None or poll.closes_at is None or poll.closes_at > now:
            return False
        _close(poll)
    return True


def polls_close_due() -> int:
    """Close every open poll whose time is up (Celery beat and ``manage.py polls_loop`` run this). How many closed."""
    due = Poll.objects.filter(status=Status.OPEN, closes_at__lte=timezone.now()).values_list("pk", flat=True)
    return sum(poll_close_due(poll_id=pk) for pk in list(due))


def polls_close_open(*, event: Event) -> None:
    """Close the event's open poll (the event ended). Call inside the caller's transaction."""
    for poll in Poll.objects.select_for_update(no_key=True).filter(event=event, status=Status.OPEN):
        _close(poll)


def _close(poll: Poll) -> None:
    # Wait for the votes in flight; votes sent from now on wait for this close
    # and then see the poll closed: the final tally is exact. (Callers lock the
    # row FOR NO KEY UPDATE: a vote's foreign-key check must not wait on it.)
    _votes_lock(connection, [poll.pk], exclusive=True)
    now = timezone.now()
    poll.status, poll.closed_at = Status.CLOSED, now
    poll.closes_at = min(poll.closes_at or now, now)
    poll.save(update_fields=["status", "closed_at", "closes_at"])
    transaction.on_commit(partial(poll_broadcast, poll_id=poll.pk))


# --- voting ---------------------------------------------------------------------------------


def poll_vote_parse(data: dict) -> tuple[int, int]:
    """The poll and option ids of a ``poll.vote`` message or a vote request body."""
    poll_id, option_id = data.get("poll"), data.get("option")
    if isinstance(poll_id, bool) or not isinstance(poll_id, int):
        raise _invalid("poll_not_found", "poll", "poll must be a poll id.")
    if isinstance(option_id, bool) or not isinstance(option_id, int):
        raise _invalid("invalid_option", "option", "option must be an option id of the poll.")
    return poll_id, option_id


@dataclass(frozen=True)
class Ballot:
    """One account's vote as submitted: ``event_id`` is the room it came from (None: any)."""

    user: object
    poll_id: int
    option_id: int
    event_id: int | None = None


def poll_vote(*, user, poll_id: int, option_id: int, event: Event | None = None) -> Vote:
    """
    Count ``user``'s vote once. Raises ``auth_required``, ``poll_not_found``
    (no such launched poll, or one of another event than ``event``),
    ``poll_closed`` (closed, or its time is up even if the close has not
    been written yet), ``invalid_option`` (not an option of this poll) or
    ``already_voted`` (with the ``option`` voted for).
    """
    ballot = Ballot(user=user, poll_id=poll_id, option_id=option_id, event_id=event.pk if event else None)
    [result] = poll_vote_batch(ballots=[ballot])
    if isinstance(result, ServiceError):
        raise result
    return result


def poll_vote_batch(*, ballots: list[Ballot]) -> list[Vote | ServiceError]:
    """
    Count many votes at once (the room socket's batcher, polls/batch.py): the
    Vote or the ServiceError of each ballot, in order, with poll_vote's rules.
    On PostgreSQL the accepted ones are one statement; a burst costs one round
    trip per batch, not per vote.
    """
    results: list[Vote | ServiceError | None] = [_ballot_refusal(b) for b in ballots]
    todo = [i for i, r in enumerate(results) if r is None]
    now = timezone.now()
    if todo and connection.vendor == "postgresql":
        inserted = _votes_insert([ballots[i] for i in todo], now=now)
        for n, i in enumerate(todo):
            b = ballots[i]
            vote_id = inserted.get(n)
            if vote_id is not None:
                results[i] = Vote.from_db(
                    connection.alias, None, (vote_id, b.poll_id, b.option_id, b.user.pk, now)
                )
            else:
                results[i] = _vote_refusal(b) or ServiceError("poll_closed", "This poll is closed.")
    else:
        for i in todo:
            # SQLite serialises writers (transaction_mode IMMEDIATE): check, then insert.
            b = ballots[i]
            try:
                with transaction.atomic():
                    results[i] = _vote_refusal(b) or Vote.objects.create(poll_id=b.poll_id, option_id=b.option_id, user=b.user)
            except IntegrityError:
                results[i] = _vote_refusal(b) or ServiceError("poll_closed", "This poll is closed.")
    for poll_id in sorted({r.poll_id for r in results if isinstance(r, Vote)}):
        transaction.on_commit(partial(tally.vote_counted, poll_id))
    return results


def _ballot_refusal(ballot: Ballot) -> ServiceError | None:
    user = ballot.user
    if user is None or not user.is_authenticated:
        return ServiceError("auth_required", "Sign in or join as a guest to vote.")
    if not user.is_active:
        return ServiceError("forbidden", "This account cannot vote.")
    return None


def _votes_insert(ballots: list[Ballot], *, now) -> dict[int, int]:
    """
    The votes in one statement (PostgreSQL), each inserted only if its poll is
    open, its time is not up, the option is one of the poll's (and the poll is
    of the ballot's event); once per account by the unique constraint. The
    statement runs under the shared votes lock (``_votes_lock``): votes do not
    wait for each other, a close waits for them all, and votes that waited for
    a close see it.
    Returns {index in ``ballots``: vote id} of the inserted ones.
    """
    vote, poll, option = Vote._meta.db_table, Poll._meta.db_table, PollOption._meta.db_table
    params = {
        "ords": list(range(len(ballots))),
        "polls": [b.poll_id for b in ballots],
        "options": [b.option_id for b in ballots],
        "users": [b.user.pk for b in ballots],
        "events": [b.event_id for b in ballots],
        "poll_ids": sorted({b.poll_id for b in ballots}),
        "now": now,
    }
    sql = f"""
        WITH ballot AS (
            SELECT * FROM unnest(%(ords)s::int[], %(polls)s::bigint[], %(options)s::bigint[],
                                 %(users)s::bigint[], %(events)s::bigint[]) AS b(ord, poll_id, option_id, user_id, event_id)
        ), open_poll AS (
            SELECT id, event_id FROM {poll}
            WHERE id = ANY(%(poll_ids)s) AND status = 'open' AND closes_at > %(now)s
        ), chosen AS (
            -- A valid ballot per account and poll: the first one sent.
            SELECT DISTINCT ON (b.poll_id, b.user_id) b.ord, b.poll_id, b.option_id, b.user_id
            FROM ballot b
            JOIN open_poll p ON p.id = b.poll_id AND (b.event_id IS NULL OR p.event_id = b.event_id)
            JOIN {option} o ON o.id = b.option_id AND o.poll_id = b.poll_id
            ORDER BY b.poll_id, b.user_id, b.ord
        ), inserted AS (
            INSERT INTO {vote} (poll_id, option_id, user_id, created_at)
            SELECT poll_id, option_id, user_id, %(now)s FROM chosen
            ON CONFLICT ON CONSTRAINT polls_vote_once_per_user DO NOTHING
            RETURNING poll_id, user_id, id
        )
        SELECT c.ord, i.id FROM chosen c JOIN inserted i ON i.poll_id = c.poll_id AND i.user_id = c.user_id
    """
    with transaction.atomic():
        _votes_lock(connection, params["poll_ids"], exclusive=False)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return dict(cursor.fetchall())


# Advisory lock space of polls (PostgreSQL): (this class, poll id).
VOTES_LOCK_CLASS = 0x706F6C6C  # "poll"


def _votes_lock(conn, poll_ids: list[int], *, exclusive: bool) -> None:
    """
    On PostgreSQL, a transaction-long lock on the polls' votes: shared by every
    vote batch, exclusive for a close. The lock manager queues fairly, so a
    close is not starved by a stream of votes (row share locks would let it
    starve), and the insert that follows the shared lock reads the poll anew.
    SQLite needs none: its writers are serialised.
    """
    if conn.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {function}(%s, (k %% 2147483647)::int) FROM unnest(%s::bigint[]) AS k ORDER BY k",
            [VOTES_LOCK_CLASS, sorted(poll_ids)],
        )


def _vote_refusal(ballot: Ballot) -> ServiceError | None:
    """Why this vote may not count, if it may not: the checks the insert makes, one by one."""
    poll_id, option_id = ballot.poll_id, ballot.option_id
    row = Poll.objects.filter(pk=poll_id).values_list("status", "closes_at", "event_id").first()
    if row is None or row[0] in (Status.DRAFT, Status.QUEUED) or (ballot.event_id is not None and row[2] != ballot.event_id):
        return _not_found()
    status, closes_at, _ = row
    if status != Status.OPEN or closes_at <= timezone.now():
        return ServiceError("poll_closed", "This poll is closed.")
    if not PollOption.objects.filter(pk=option_id, poll_id=poll_id).exists():
        return _invalid("invalid_option", "option", "That is not an option of this poll.")
    voted = Vote.objects.filter(poll_id=poll_id, user=ballot.user).values_list("option_id", flat=True).first()
    if voted is not None:
        return ServiceError("already_voted", "You have voted in this poll already.", option=voted)
    return None


# --- reading ---------------------------------------------------------------------------------


def poll_get(*, poll_id: int, producer: bool = False) -> Poll:
    """A poll by id; to anyone but producers, only launched polls exist."""
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None or (not producer and poll.status in (Status.DRAFT, Status.QUEUED)):
        raise _not_found()
    return poll


def poll_counts(*, poll_ids: list[int]) -> dict[int, dict[int, int]]:
    """Votes per option, ``{poll_id: {option_id: n}}``: a grouped count over the tally index."""
    counts: dict[int, dict[int, int]] = {pk: {} for pk in poll_ids}
    rows = Vote.objects.filter(poll_id__in=poll_ids).values_list("poll_id", "option_id").annotate(n=Count("*")).order_by()
    for poll_id, option_id, n in rows:
        counts[poll_id][option_id] = n
    return counts


def poll_payloads(polls: list[Poll], *, producer: bool = False) -> list[dict]:
    """wire.poll_payload for each poll, with their options and counts in three queries."""
    polls = list(polls)
    ids = [p.pk for p in polls]
    options: dict[int, list[PollOption]] = {pk: [] for pk in ids}
    for option in PollOption.objects.filter(poll_id__in=ids).order_by("position", "id"):
        options[option.poll_id].append(option)
    counts = poll_counts(poll_ids=ids)
    return [wire.poll_payload(p, options=options[p.pk], counts=counts[p.pk], producer=producer) for p in polls]


def poll_payload(poll: Poll, *, producer: bool = False) -> dict:
    return poll_payloads([poll], producer=producer)[0]


def poll_results(*, poll: Poll, producer: bool = False) -> dict:
    """
    The poll with its counts and each option's share in percent. Producers see
    counts any time; others once they are public (``results_hidden``).
    """
    if not producer and poll.results_visibility == Poll.Visibility.AFTER_CLOSE and poll.status != Status.CLOSED:
        raise ServiceError("results_hidden", "The results are shown when the poll closes.")
    payload = poll_payload(poll, producer=producer)
    total = payload["total"] or 0
    for option in payload["options"]:
        option["percent"] = round(100 * option["votes"] / total, 1) if total else 0.0
    payload["final"] = poll.status == Status.CLOSED
    return payload


def polls_for_event(*, event: Event, producer: bool = False) -> list[Poll]:
    """
    Producers: every poll, open first, then the queue (queued, then drafts, by
    position), then the past (newest first). Others: launched polls in
    broadcast order (the replay's markers).
    """
    polls = Poll.objects.filter(event=event)
    if not producer:
        return list(polls.filter(status__in=[Status.OPEN, Status.CLOSED]).order_by("media_ms", "id"))
    order = Case(
        When(status=Status.OPEN, then=Value(0)),
        When(status=Status.QUEUED, then=Value(1)),
        When(status=Status.DRAFT, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    polls = polls.annotate(group=order).order_by("group", "position", "id")
    live = [p for p in polls if p.group < 3]
    past = sorted((p for p in polls if p.group == 3), key=lambda p: (p.closed_at or p.created_at), reverse=True)
    return live + past


def votes_of(*, user, poll_ids: list[int]) -> dict[int, int]:
    """The option ``user`` chose in each of these polls (``{poll_id: option_id}``)."""
    if user is None or not user.is_authenticated:
        return {}
    return dict(Vote.objects.filter(user=user, poll_id__in=poll_ids).values_list("poll_id", "option_id"))


def poll_for_room(*, event: Event) -> dict | None:
    """A joiner's ``hello`` poll: the open one, or the last one closed in the past minute."""
    poll = Poll.objects.filter(event=event, status=Status.OPEN).first()
    if poll is None:
        poll = (
            Poll.objects.filter(event=event, status=Status.CLOSED, closed_at__gte=timezone.now() - SHOW_CLOSED_FOR)
            .order_by("-closed_at")
            .first()
        )
    return poll_payload(poll) if poll else None


def poll_broadcast(*, poll_id: int, tally: bool = False) -> bool:
    """
    Publish the poll as viewers see it now (a ``poll`` frame; each hub sends
    the latest per tick). A ``tally`` (new votes) of a poll whose results are
    hidden until closing changes nothing viewers see, and is not sent; nor is
    one within POLL_TALLY_MS of another process's (the shared cache keeps the
    time), so that every viewer gets a few tallies a second however many
    processes take votes. False: not sent, try again later.
    """
    poll = Poll.objects.filter(pk=poll_id).first()
    if poll is None:
        return True
    if tally:
        if poll.status == Status.OPEN and poll.results_visibility == Poll.Visibility.AFTER_CLOSE:
            return True
        key, now = f"polls:tally:{poll.pk}", time.time()
        last = cache.get(key)
        if last is not None and now - last < settings.POLL_TALLY_MS / 1000 * 0.9:
            return False
        cache.set(key, now, timeout=60)
    broadcast.publish_frame(poll.event_id, f"{wire.POLL}.{poll.pk}", wire.poll_frame(poll_payload(poll)))
    return True
