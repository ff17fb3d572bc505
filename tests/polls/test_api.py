"""Polls over REST: the permission matrix, the queue, launch and close, votes, results as JSON and CSV."""
import csv
import io

import pytest
from rest_framework.test import APIClient

from polls import services
from polls.models import Vote
from tests.events.conftest import EXPECTED, ROLES, api_as

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role_user", ROLES, indirect=True)
def test_permission_matrix_for_poll_endpoints(request, role_user, make_poll, live_event):
    """Everything but reading and voting is for producers; anonymous callers 401, viewers and moderators 403."""
    role = request.node.callspec.params["role_user"]
    client = api_as(role_user)
    draft, queued = make_poll(status="draft"), make_poll()
    calls = [
        ("post", "/api/events/final/polls/", {"question": "Q?", "options": ["a", "b"]}),
        ("patch", f"/api/polls/{draft.pk}/", {"question": "Better?"}),
        ("post", f"/api/polls/{queued.pk}/launch/", None),
        ("get", f"/api/polls/{queued.pk}/results/", None),
        ("get", f"/api/polls/{queued.pk}/results.csv", None),
        ("post", f"/api/polls/{queued.pk}/close/", None),
        ("delete", f"/api/polls/{draft.pk}/", None),
    ]
    for method, url, data in calls:
        response = getattr(client, method)(url, data, format="json")
        if role in EXPECTED:
            if method == "get":
                # Results of a launched poll are public; of a closed one too. Before launch: not found.
                assert response.status_code in (200, 404), url
            else:
                assert (response.status_code, response.json()["code"]) == EXPECTED[role], url
        else:
            assert response.status_code in (200, 201, 204), (url, response.content)


@pytest.mark.parametrize("role_user", ROLES, indirect=True)
def test_permission_matrix_for_voting(request, role_user, open_poll):
    """Every account votes; anonymous callers get 401 auth_required."""
    role = request.node.callspec.params["role_user"]
    response = api_as(role_user).post(f"/api/polls/{open_poll.pk}/vote/", {"option": open_poll.options.first().pk}, format="json")
    if role == "anonymous":
        assert (response.status_code, response.json()["code"]) == (401, "auth_required")
    else:
        assert response.status_code == 201


def test_viewers_see_launched_polls_only_and_producers_the_queue(make_poll, producer, viewer):
    make_poll(question="Draft?", status="draft")
    live = services.poll_launch(poll=make_poll(question="Live?"), by=producer)
    assert [p["question"] for p in api_as(viewer).get("/api/events/final/polls/").json()["results"]] == ["Live?"]
    as_producer = api_as(producer).get("/api/events/final/polls/").json()["results"]
    assert [(p["question"], p["status"]) for p in as_producer] == [("Live?", "open"), ("Draft?", "draft")]
    assert "position" in as_producer[0] and "position" not in api_as(viewer).get(f"/api/polls/{live.pk}/").json()
    assert api_as(viewer).get(f"/api/polls/{as_producer[1]['id']}/").status_code == 404
    queued = api_as(producer).get("/api/events/final/polls/", {"status": "draft"}).json()["results"]
    assert [p["question"] for p in queued] == ["Draft?"]


def test_prepare_launch_vote_and_close_over_the_api(producer, viewer, live_event):
    studio = api_as(producer)
    created = studio.post(
        "/api/events/final/polls/",
        {"question": "Will the record fall?", "options": ["Yes", "No"], "duration_s": 30, "results_visibility": "live"},
        format="json",
    )
    assert created.status_code == 201
    poll = created.json()
    assert (poll["status"], poll["duration_s"], [o["label"] for o in poll["options"]]) == ("queued", 30, ["Yes", "No"])
    launched = studio.post(f"/api/polls/{poll['id']}/launch/").json()
    assert launched["status"] == "open" and launched["closes_at_ms"] - launched["opens_at_ms"] == 30_000

    yes = poll["options"][0]["id"]
    voted = api_as(viewer).post(f"/api/polls/{poll['id']}/vote/", {"option": yes}, format="json")
    assert voted.status_code == 201 and voted.json()["option"] == yes
    again = api_as(viewer).post(f"/api/polls/{poll['id']}/vote/", {"option": yes}, format="json")
    assert (again.status_code, again.json()["code"], again.json()["option"]) == (409, "already_voted", yes)
    assert api_as(viewer).get(f"/api/polls/{poll['id']}/").json()["my_vote"] == yes

    closed = studio.post(f"/api/polls/{poll['id']}/close/").json()
    assert (closed["status"], closed["total"]) == ("closed", 1)
    late = api_as(producer).post(f"/api/polls/{poll['id']}/vote/", {"option": yes}, format="json")
    assert (late.status_code, late.json()["code"]) == (409, "poll_closed")


def test_vote_errors_over_the_api(open_poll, viewer, make_poll):
    client = api_as(viewer)
    bad_option = client.post(f"/api/polls/{open_poll.pk}/vote/", {"option": make_poll().options.first().pk}, format="json")
    assert (bad_option.status_code, bad_option.json()["code"]) == (400, "invalid_option")
    missing = client.post(f"/api/polls/{open_poll.pk}/vote/", {}, format="json")
    assert missing.json()["code"] == "invalid_option"
    unknown = client.post("/api/polls/999999/vote/", {"option": 1}, format="json")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "poll_not_found")


def test_launch_conflicts_are_409(open_poll, make_poll, producer):
    response = api_as(producer).post(f"/api/polls/{make_poll().pk}/launch/")
    assert (response.status_code, response.json()["code"], response.json()["poll"]) == (409, "poll_already_open", open_poll.pk)
    relaunch = api_as(producer).post(f"/api/polls/{open_poll.pk}/launch/")
    assert (relaunch.status_code, relaunch.json()["code"]) == (409, "poll_launched")


def test_results_json_and_csv(open_poll, make_user, producer):
    for index in (0, 1, 1, 1):
        services.poll_vote(user=make_user(), poll_id=open_poll.pk, option_id=list(open_poll.options.all())[index].pk)
    results = APIClient().get(f"/api/polls/{open_poll.pk}/results/").json()
    assert [(o["label"], o["votes"], o["percent"]) for o in results["options"]] == [("Brunner", 1, 25.0), ("Solberg", 3, 75.0), ("Aebersold", 0, 0.0)]
    response = api_as(producer).get(f"/api/polls/{open_poll.pk}/results.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert f'poll-{open_poll.pk}-results.csv' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["option"], r["votes"], r["percent"], r["total"]) for r in rows] == [
        ("Brunner", "1", "25.0", "4"), ("Solberg", "3", "75.0", "4"), ("Aebersold", "0", "0.0", "4")]


def test_csv_cells_never_start_a_formula(make_poll, producer):
    poll = services.poll_launch(poll=make_poll(options=["=1+1", "@home"]), by=producer)
    rows = list(csv.reader(io.StringIO(api_as(producer).get(f"/api/polls/{poll.pk}/results.csv").content.decode())))
    assert [row[7] for row in rows[1:]] == ["'=1+1", "'@home"]


def test_hidden_results_are_for_producers_until_the_poll_closes(make_poll, producer, viewer):
    poll = services.poll_launch(poll=make_poll(results_visibility="after_close"), by=producer)
    services.poll_vote(user=viewer, poll_id=poll.pk, option_id=poll.options.first().pk)
    hidden = api_as(viewer).get(f"/api/polls/{poll.pk}/results/")
    assert (hidden.status_code, hidden.json()["code"]) == (403, "results_hidden")
    assert api_as(viewer).get(f"/api/polls/{poll.pk}/").json()["total"] is None
    assert api_as(producer).get(f"/api/polls/{poll.pk}/results/").json()["total"] == 1
    services.poll_close(poll=poll, by=producer)
    assert api_as(viewer).get(f"/api/polls/{poll.pk}/results/").json()["total"] == 1


def test_replay_lists_past_polls_with_their_media_time_and_final_result(open_poll, producer, viewer):
    services.poll_vote(user=viewer, poll_id=open_poll.pk, option_id=open_poll.options.last().pk)
    services.poll_close(poll=open_poll, by=producer)
    [poll] = APIClient().get("/api/events/final/polls/").json()["results"]
    assert poll["status"] == "closed" and poll["media_ms"] == open_poll.media_ms
    assert [o["votes"] for o in poll["options"]] == [0, 0, 1]
    assert Vote.objects.count() == 1
