"""Producers' services for an event: lifecycle, stats and key moments; each publishes on commit."""
from datetime import timedelta

import pytest
from django.utils import timezone

from chat import broadcast
from companion.errors import ServiceError
from events import services
from events.models import Event, StatsSnapshot
from events.services import event_create, event_end, event_go_live, event_schedule, moment_push, stats_push

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """Frames published to rooms, as (event id, key, frame)."""
    sent = []
    monkeypatch.setattr(broadcast, "publish_frame", lambda event_id, key, frame: sent.append((event_id, key, frame)))
    return sent


@pytest.fixture
def scheduled(producer):
    return event_create(by=producer, title="Gala night")


# --- lifecycle ----------------------------------------------------------------------------


def test_create_makes_a_scheduled_event_with_a_unique_slug(producer):
    first = event_create(by=producer, title="Men's Downhill — Final")
    second = event_create(by=producer, title="Men's Downhill — Final")
    assert (first.slug, second.slug) == ("mens-downhill-final", "mens-downhill-final-2")
    assert first.status == Event.Status.SCHEDULED and first.created_by == producer and first.summary_languages == ["en"]


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"title": " "}, "invalid_title"),
        ({"title": "x" * 201}, "invalid_title"),
        ({"title": "Gala", "slug": "Not A Slug"}, "invalid_slug"),
        ({"title": "Gala", "video_url": "ftp://x"}, "invalid_video_url"),
        ({"title": "Gala", "summary_languages": ["english"]}, "invalid_summary_languages"),
    ],
)
def test_create_validates_its_fields(producer, fields, code):
    with pytest.raises(ServiceError) as excinfo:
        event_create(by=producer, **fields)
    assert excinfo.value.code == code


def test_create_refuses_a_taken_slug(producer, live_event):
    with pytest.raises(ServiceError) as excinfo:
        event_create(by=producer, title="Other", slug="final")
    assert excinfo.value.code == "slug_taken"


@pytest.mark.parametrize("who, code", [("anonymous", "auth_required"), ("viewer", "forbidden"), ("moderator", "forbidden")])
def test_only_producers_and_superusers_run_events(who, code, viewer, moderator, superuser):
    user = {"anonymous": None, "viewer": viewer, "moderator": moderator}[who]
    with pytest.raises(ServiceError) as excinfo:
        event_create(by=user, title="Gala")
    assert excinfo.value.code == code
    assert event_create(by=superuser, title="Gala").slug == "gala"


def test_go_live_starts_the_broadcast_clock_and_tells_the_room(scheduled, producer, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = event_go_live(event=scheduled, by=producer)
    assert event.status == Event.Status.LIVE
    assert abs((timezone.now() - event.started_at).total_seconds()) < 2
    assert event.live_edge_ms() < 2000
    [(event_id, key, frame)] = published
    assert (event_id, key, frame["type"]) == (event.pk, "event", "event")
    assert frame["event"]["status"] == "live" and frame["event"]["started_at_ms"] > 0


def test_lifecycle_refuses_steps_out_of_order(scheduled, producer):
    with pytest.raises(ServiceError) as excinfo:
        event_end(event=scheduled, by=producer)
    assert excinfo.value.code == "event_not_live"
    event_go_live(event=scheduled, by=producer)
    for step, code in [(event_go_live, "event_already_live"), (event_end, None), (event_end, "event_ended"), (event_go_live, "event_ended")]:
        if code is None:
            step(event=scheduled, by=producer)
            continue
        with pytest.raises(ServiceError) as excinfo:
            step(event=scheduled, by=producer)
        assert excinfo.value.code == code


def test_end_stops_the_clock_and_closes_the_open_poll(live_event, producer):
    from polls import services as polls

    poll = polls.poll_launch(poll=polls.poll_create(event=live_event, by=producer, data={"question": "Q?", "options": ["a", "b"]}), by=producer)
    event = event_end(event=live_event, by=producer)
    assert event.status == Event.Status.ENDED and event.ended_at is not None
    poll.refresh_from_db()
    assert poll.status == "closed"


def test_schedule_moves_the_start_of_an_event_not_started(scheduled, producer, live_event):
    start = timezone.now() + timedelta(hours=2)
    assert event_schedule(event=scheduled, by=producer, scheduled_start=start).scheduled_start == start
    with pytest.raises(ServiceError) as excinfo:
        event_schedule(event=live_event, by=producer, scheduled_start=start)
    assert excinfo.value.code == "event_already_live"


# --- stats ------------------------------------------------------------------------------------


def test_a_push_is_stored_as_a_snapshot_and_broadcast(live_event, producer, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        snapshot = stats_push(event=live_event, by=producer, data={"scoreboard": {"sides": [{"name": "ITA", "score": 1}], "clock": "12:00"}})
    assert snapshot.document == {"scoreboard": {"sides": [{"name": "ITA", "score": 1}], "clock": "12:00"}}
    assert snapshot.media_ms >= 5 * 60 * 1000 and snapshot.by == producer
    [(event_id, key, frame)] = published
    assert (event_id, key) == (live_event.pk, "stats")
    assert frame == {"type": "stats", "stats": {"id": snapshot.pk, "updated_at": frame["stats"]["updated_at"],
                                                "media_ms": snapshot.media_ms, **snapshot.document}}


def test_pushes_merge_section_by_section(live_event, producer):
    stats_push(event=live_event, by=producer, data={"scoreboard": {"clock": "1:00"}, "metrics": [{"label": "Wind", "value": 2}]})
    stats_push(event=live_event, by=producer, data={"scoreboard": {"clock": "2:00"}})
    latest = stats_push(event=live_event, by=producer, data={"metrics": None})
    assert latest.document == {"scoreboard": {"clock": "2:00"}}
    assert StatsSnapshot.objects.filter(event=live_event).count() == 3


def test_an_invalid_push_stores_nothing_and_lists_its_problems(live_event, producer):
    with pytest.raises(ServiceError) as excinfo:
        stats_push(event=live_event, by=producer, data={"standings": [{"rank": 0, "name": "A"}, {"name": 5}]})
    error = excinfo.value
    assert (error.code, error.details["field"]) == ("stats_invalid_value", "standings[0].rank")
    assert [e["field"] for e in error.details["errors"]] == ["standings[0].rank", "standings[1].name"]
    assert not StatsSnapshot.objects.exists()


def test_standings_rows_carry_their_rank_before_the_last_standings_change(live_event, producer):
    """prev_rank survives pushes that leave the standings alone, and is null for a new row."""
    from chat import wire

    rows = lambda *names: [{"rank": i + 1, "name": n, "team": "AUT"} for i, n in enumerate(names)]  # noqa: E731
    stats_push(event=live_event, by=producer, data={"standings": rows("Brunner", "Hofer")})
    stats_push(event=live_event, by=producer, data={"standings": rows("Solberg", "Brunner", "Hofer")})
    snapshot = stats_push(event=live_event, by=producer, data={"metrics": [{"label": "Wind", "value": "calm"}]})
    standings = wire.stats_payload(snapshot)["standings"]
    assert [(r["name"], r["rank"], r["prev_rank"]) for r in standings] == [("Solberg", 1, None), ("Brunner", 2, 1), ("Hofer", 3, 2)]


def test_stats_at_answers_the_document_in_effect_at_a_broadcast_time(live_event, producer):
    first = stats_push(event=live_event, by=producer, data={"scoreboard": {"clock": "1"}})
    StatsSnapshot.objects.filter(pk=first.pk).update(media_ms=1000)
    second = stats_push(event=live_event, by=producer, data={"scoreboard": {"clock": "2"}})
    StatsSnapshot.objects.filter(pk=second.pk).update(media_ms=5000)
    assert services.stats_at(event=live_event, media_ms=500) is None
    assert services.stats_at(event=live_event, media_ms=4999).pk == first.pk
    assert services.stats_at(event=live_event, media_ms=5000).pk == second.pk


# --- key moments ---------------------------------------------------------------------------------


def test_a_moment_is_pinned_to_the_live_edge_and_broadcast(live_event, producer, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        moment = moment_push(event=live_event, by=producer, data={"kind": "record", "title": " Course  record ", "detail": "1:51.20"})
    assert moment.title == "Course record" and 299_000 < moment.media_ms < 302_000
    [(event_id, key, frame)] = published
    assert key == f"moment.{moment.pk}"
    assert frame == {"type": "moment", "moment": {"id": moment.pk, "media_ms": moment.media_ms, "kind": "record",
                                                  "title": "Course record", "detail": "1:51.20", "created_at": frame["moment"]["created_at"]}}


def test_two_moments_in_one_tick_have_their_own_keys(live_event, producer, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        moment_push(event=live_event, by=producer, data={"kind": "goal", "title": "1-0"})
        moment_push(event=live_event, by=producer, data={"kind": "goal", "title": "2-0"})
    assert len({key for _, key, _ in published}) == 2


@pytest.mark.parametrize(
    "data, code",
    [
        ({"kind": "Goal!", "title": "x"}, "invalid_kind"),
        ({"kind": "goal"}, "invalid_title"),
        ({"kind": "goal", "title": "x" * 81}, "invalid_title"),
        ({"kind": "goal", "title": "x", "detail": 3}, "invalid_detail"),
        ({"kind": "goal", "title": "x", "media_ms": -1}, "invalid_media_time"),
        ({"kind": "goal", "title": "x", "media_ms": 10**9}, "invalid_media_time"),
        ({"kind": "goal", "title": "x", "player": "y"}, "invalid_moment"),
    ],
)
def test_moments_are_validated(live_event, producer, data, code):
    with pytest.raises(ServiceError) as excinfo:
        moment_push(event=live_event, by=producer, data=data)
    assert excinfo.value.code == code


def test_a_moment_needs_the_broadcast_clock(scheduled, producer):
    with pytest.raises(ServiceError) as excinfo:
        moment_push(event=scheduled, by=producer, data={"kind": "goal", "title": "early"})
    assert excinfo.value.code == "event_not_live"


def test_room_facts_carry_the_current_stats_and_moments_in_media_order(live_event, producer):
    moment_push(event=live_event, by=producer, data={"kind": "goal", "title": "late", "media_ms": 9000})
    moment_push(event=live_event, by=producer, data={"kind": "goal", "title": "early", "media_ms": 1000})
    stats_push(event=live_event, by=producer, data={"scoreboard": {"clock": "3:00"}})
    facts = services.room_facts(event=live_event)
    assert [m["title"] for m in facts["moments"]] == ["early", "late"]
    assert facts["stats"]["scoreboard"] == {"clock": "3:00"}
    assert services.event_facts(event=live_event)["stats"] == {"scoreboard": {"clock": "3:00"}}
