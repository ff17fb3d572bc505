"""Polls: prepare, queue, launch on cue, vote once, close on time (also with nobody watching)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from chat import broadcast
from companion.errors import ServiceError
from events.models import Event
from polls import services, tasks
from polls.models import Poll, Vote
from polls.services import poll_close, poll_create, poll_launch, poll_update, poll_vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr(broadcast, "publish_frame", lambda event_id, key, frame: sent.append((event_id, key, frame)))
    return sent


def vote(user, poll, index=0):
    return poll_vote(user=user, poll_id=poll.pk, option_id=list(poll.options.all())[index].pk)


def expire(poll):
    """Move the poll's timer into the past, as if its time were up."""
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    poll.refresh_from_db()


# --- preparing ------------------------------------------------------------------------------


def test_create_queues_a_poll_at_the_end_of_the_queue(make_poll):
    first, second = make_poll(), make_poll(question="Next?", options=["yes", "no"], status="draft")
    assert (first.status, second.status) == ("queued", "draft")
    assert second.position == first.position + 1
    assert [o.label for o in first.options.all()] == ["Brunner", "Solberg", "Aebersold"]


@pytest.mark.parametrize(
    "data, code, field",
    [
        ({"question": ""}, "invalid_question", "question"),
        ({"question": "q" * 201}, "invalid_question", "question"),
        ({"options": ["only one"]}, "invalid_options", "options"),
        ({"options": list("abcdefg")}, "invalid_options", "options"),
        ({"options": ["a", " "]}, "invalid_options", "options[1]"),
        ({"options": ["Yes", "yes"]}, "invalid_options", "options[1]"),
        ({"options": ["a", "x" * 81]}, "invalid_options", "options[1]"),
        ({"duration_s": 4}, "invalid_duration", "duration_s"),
        ({"duration_s": 3601}, "invalid_duration", "duration_s"),
        ({"duration_s": "60"}, "invalid_duration", "duration_s"),
        ({"results_visibility": "never"}, "invalid_visibility", "results_visibility"),
        ({"status": "open"}, "invalid_status", "status"),
        ({"position": 1.5}, "invalid_position", "position"),
        ({"colour": "red"}, "invalid_poll", "colour"),
    ],
)
def test_poll_fields_are_validated(make_poll, data, code, field):
    with pytest.raises(ServiceError) as excinfo:
        make_poll(**data)
    assert (excinfo.value.code, excinfo.value.details["field"]) == (code, field)


def test_a_prepared_poll_can_be_edited_and_its_options_replaced(make_poll, producer):
    poll = poll_update(poll=make_poll(), by=producer, data={"options": ["A", "B"], "results_visibility": "after_close", "position": -1})
    assert [o.label for o in poll.options.all()] == ["A", "B"]
    assert (poll.results_visibility, poll.position, poll.question) == ("after_close", -1, "Who wins gold?")


def test_a_launched_poll_cannot_be_edited_or_deleted(open_poll, producer):
    for call in (lambda: poll_update(poll=open_poll, by=producer, data={"question": "New?"}),
                 lambda: services.poll_delete(poll=open_poll, by=producer)):
        with pytest.raises(ServiceError) as excinfo:
            call()
        assert excinfo.value.code == "poll_launched"


@pytest.mark.parametrize("who", ["viewer", "moderator"])
def test_only_producers_prepare_launch_and_close(make_poll, producer, viewer, moderator, who):
    user = {"viewer": viewer, "moderator": moderator}[who]
    poll = make_poll()
    for call in (
        lambda: poll_create(event=poll.event, by=user, data={"question": "Q?", "options": ["a", "b"]}),
        lambda: poll_update(poll=poll, by=user, data={"question": "Q?"}),
        lambda: poll_launch(poll=poll, by=user),
        lambda: poll_close(poll=poll, by=user),
    ):
        with pytest.raises(ServiceError) as excinfo:
            call()
        assert excinfo.value.code == "forbidden"


# --- launching and closing ----------------------------------------------------------------------


def test_launch_opens_the_timer_pins_the_broadcast_time_and_tells_the_room(
    make_poll, producer, live_event, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        poll = poll_launch(poll=make_poll(duration_s=45), by=producer)
    assert poll.status == "open"
    assert poll.closes_at - poll.opens_at == timedelta(seconds=45)
    assert 299_000 < poll.media_ms < 302_000
    [(event_id, key, frame)] = published
    assert (event_id, key, frame["type"]) == (live_event.pk, f"poll.{poll.pk}", "poll")
    assert frame["poll"]["status"] == "open" and frame["poll"]["total"] == 0
    assert [o["votes"] for o in frame["poll"]["options"]] == [0, 0, 0]


def test_one_poll_is_open_at_a_time(open_poll, make_poll, producer):
    with pytest.raises(ServiceError) as excinfo:
        poll_launch(poll=make_poll(), by=producer)
    assert (excinfo.value.code, excinfo.value.details["poll"]) == ("poll_already_open", open_poll.pk)


def test_a_launch_closes_a_previous_poll_whose_time_is_up(open_poll, make_poll, producer):
    expire(open_poll)
    poll_launch(poll=make_poll(), by=producer)
    open_poll.refresh_from_db()
    assert open_poll.status == "closed"


def test_polls_launch_only_while_the_event_is_live(producer, make_poll, live_event):
    Event.objects.filter(pk=live_event.pk).update(status=Event.Status.ENDED)
    with pytest.raises(ServiceError) as excinfo:
        poll_launch(poll=make_poll(), by=producer)
    assert excinfo.value.code == "event_not_live"


def test_close_early_keeps_the_votes_and_is_idempotent(open_poll, producer, viewer, published, django_capture_on_commit_callbacks):
    vote(viewer, open_poll, 1)
    with django_capture_on_commit_callbacks(execute=True):
        closed = poll_close(poll=open_poll, by=producer)
    assert closed.status == "closed" and closed.closed_at == closed.closes_at
    assert poll_close(poll=closed, by=producer).closed_at == closed.closed_at
    frame = published[-1][2]["poll"]
    assert (frame["status"], frame["total"], [o["votes"] for o in frame["options"]]) == ("closed", 1, [0, 1, 0])


def test_closing_a_poll_not_launched_is_refused(make_poll, producer):
    with pytest.raises(ServiceError) as excinfo:
        poll_close(poll=make_poll(), by=producer)
    assert excinfo.value.code == "poll_not_open"


def test_the_timer_task_closes_only_when_the_time_is_up(open_poll):
    """Run early (eager mode runs it at once) the task changes nothing; run on time, it closes; run again, nothing."""
    assert tasks.poll_close_when_due(open_poll.pk) is False
    expire(open_poll)
    assert tasks.poll_close_when_due(open_poll.pk) is True
    assert tasks.poll_close_when_due(open_poll.pk) is False
    open_poll.refresh_from_db()
    assert open_poll.status == "closed"


def test_launch_schedules_the_timer_task_with_the_duration_as_countdown(make_poll, producer, monkeypatch, django_capture_on_commit_callbacks):
    calls = []
    monkeypatch.setattr(tasks.poll_close_when_due, "apply_async", lambda **kw: calls.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        poll = poll_launch(poll=make_poll(duration_s=30), by=producer)
    assert calls == [{"args": [poll.pk], "countdown": 30.25}]


def test_the_sweep_closes_every_poll_whose_time_is_up(open_poll, make_poll, producer, make_user):
    other_event = Event.objects.create(title="Gala", slug="gala", status="live", started_at=timezone.now())
    other = poll_launch(poll=make_poll(event=other_event), by=producer)
    expire(open_poll)
    assert services.polls_close_due() == 1
    assert tasks.polls_close_due() == 0
    assert Poll.objects.get(pk=open_poll.pk).status == "closed"
    assert Poll.objects.get(pk=other.pk).status == "open"


def test_the_sweep_command_closes_due_polls(open_poll):
    from django.core.management import call_command

    expire(open_poll)
    call_command("polls_loop", once=True)
    assert Poll.objects.get(pk=open_poll.pk).status == "closed"


# --- voting ---------------------------------------------------------------------------------------


def test_a_vote_counts_once(open_poll, viewer):
    first = vote(viewer, open_poll, 2)
    with pytest.raises(ServiceError) as excinfo:
        vote(viewer, open_poll, 0)
    assert (excinfo.value.code, excinfo.value.details["option"]) == ("already_voted", first.option_id)
    assert Vote.objects.filter(poll=open_poll).count() == 1


def test_votes_on_a_foreign_option_a_closed_poll_or_a_prepared_poll_are_refused(open_poll, make_poll, producer, viewer):
    foreign = make_poll(question="Other?", options=["x", "y"])
    with pytest.raises(ServiceError) as excinfo:
        poll_vote(user=viewer, poll_id=open_poll.pk, option_id=foreign.options.first().pk)
    assert excinfo.value.code == "invalid_option"
    with pytest.raises(ServiceError) as excinfo:
        vote(viewer, foreign)
    assert excinfo.value.code == "poll_not_found"
    with pytest.raises(ServiceError) as excinfo:
        poll_vote(user=viewer, poll_id=10**9, option_id=1)
    assert excinfo.value.code == "poll_not_found"
    poll_close(poll=open_poll, by=producer)
    with pytest.raises(ServiceError) as excinfo:
        vote(viewer, open_poll)
    assert excinfo.value.code == "poll_closed"


def test_a_vote_after_the_time_is_up_is_refused_before_the_sweep_runs(open_poll, viewer):
    expire(open_poll)
    assert open_poll.status == "open"
    with pytest.raises(ServiceError) as excinfo:
        vote(viewer, open_poll)
    assert excinfo.value.code == "poll_closed"


def test_a_vote_from_another_events_room_finds_no_poll(open_poll, viewer):
    other = Event.objects.create(title="Gala", slug="gala", status="live", started_at=timezone.now())
    with pytest.raises(ServiceError) as excinfo:
        poll_vote(user=viewer, poll_id=open_poll.pk, option_id=open_poll.options.first().pk, event=other)
    assert excinfo.value.code == "poll_not_found"


def test_anonymous_and_inactive_accounts_cannot_vote(open_poll, make_user):
    from django.contrib.auth.models import AnonymousUser

    for user, code in ((AnonymousUser(), "auth_required"), (make_user(is_active=False), "forbidden")):
        with pytest.raises(ServiceError) as excinfo:
            vote(user, open_poll)
        assert excinfo.value.code == code


@pytest.mark.parametrize("message, code", [({"poll": "7", "option": 1}, "poll_not_found"), ({"poll": 7, "option": None}, "invalid_option"),
                                           ({"poll": True, "option": 1}, "poll_not_found")])
def test_vote_messages_are_parsed(message, code):
    with pytest.raises(ServiceError) as excinfo:
        services.poll_vote_parse(message)
    assert excinfo.value.code == code


# --- results ------------------------------------------------------------------------------------------


def test_results_count_and_share(open_poll, make_user):
    for index in (0, 0, 1):
        vote(make_user(), open_poll, index)
    results = services.poll_results(poll=open_poll)
    assert results["total"] == 3 and results["final"] is False
    assert [(o["votes"], o["percent"]) for o in results["options"]] == [(2, 66.7), (1, 33.3), (0, 0.0)]


def test_results_shown_after_closing_are_hidden_from_viewers_until_then(make_poll, producer, make_user):
    poll = poll_launch(poll=make_poll(results_visibility="after_close"), by=producer)
    vote(make_user(), poll, 1)
    viewer_payload = services.poll_payload(poll)
    assert viewer_payload["results_hidden"] is True and viewer_payload["total"] is None
    assert {o["votes"] for o in viewer_payload["options"]} == {None}
    assert services.poll_payload(poll, producer=True)["total"] == 1
    with pytest.raises(ServiceError) as excinfo:
        services.poll_results(poll=poll)
    assert excinfo.value.code == "results_hidden"
    poll = poll_close(poll=poll, by=producer)
    assert services.poll_payload(poll)["total"] == 1


def test_the_room_sees_the_open_poll_then_the_closed_one_for_a_minute(open_poll, producer, live_event):
    assert services.poll_for_room(event=live_event)["id"] == open_poll.pk
    poll_close(poll=open_poll, by=producer)
    assert services.poll_for_room(event=live_event)["status"] == "closed"
    Poll.objects.filter(pk=open_poll.pk).update(closed_at=timezone.now() - timedelta(seconds=61))
    assert services.poll_for_room(event=live_event) is None


def test_producers_list_open_then_queue_then_past_and_viewers_only_launched_polls(make_poll, producer, live_event):
    past = poll_launch(poll=make_poll(question="Past?"), by=producer)
    poll_close(poll=past, by=producer)
    draft = make_poll(question="Draft?", status="draft")
    queued = make_poll(question="Queued?")
    live = poll_launch(poll=make_poll(question="Live?"), by=producer)
    assert [p.pk for p in services.polls_for_event(event=live_event, producer=True)] == [live.pk, queued.pk, draft.pk, past.pk]
    assert [p.pk for p in services.polls_for_event(event=live_event)] == [past.pk, live.pk]
