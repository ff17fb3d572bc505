import pytest
from rest_framework.test import APIClient

from events.models import Event

pytestmark = pytest.mark.django_db


def test_event_list_shows_every_event_with_its_clock(live_event):
    Event.objects.create(title="Gala", slug="gala")
    body = APIClient().get("/api/events/").json()
    by_slug = {e["slug"]: e for e in body["results"]}
    assert set(by_slug) == {"final", "gala"}
    assert by_slug["final"]["status"] == "live"
    assert by_slug["final"]["started_at_ms"] > 0
    assert by_slug["gala"]["started_at"] is None


def test_event_list_filters_by_status(live_event):
    Event.objects.create(title="Gala", slug="gala")
    body = APIClient().get("/api/events/", {"status": "scheduled"}).json()
    assert [e["slug"] for e in body["results"]] == ["gala"]


def test_event_detail(live_event):
    body = APIClient().get("/api/events/final/").json()
    assert body["title"] == "Downhill final" and body["video_url"] is None


def test_event_detail_of_unknown_slug_is_404(db):
    assert APIClient().get("/api/events/nope/").status_code == 404


def test_openapi_schema_lists_the_replay_endpoint(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/events/{slug}/danmaku/" in response.json()["paths"]


def test_healthz_reports_database_and_cache(db, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


# --- producers' endpoints ----------------------------------------------------------------

from datetime import timedelta  # noqa: E402

from django.utils import timezone  # noqa: E402

from tests.events.conftest import EXPECTED, ROLES, api_as  # noqa: E402


def producer_calls(slug: str) -> list[tuple[str, str, dict | None]]:
    """Every producers-only event endpoint with a valid body."""
    return [
        ("post", "/api/events/", {"title": "Gala night"}),
        ("post", f"/api/events/{slug}/stats/", {"metrics": [{"label": "Wind", "value": 2}]}),
        ("post", f"/api/events/{slug}/moments/", {"kind": "goal", "title": "1-0"}),
        ("post", f"/api/events/{slug}/end/", None),
    ]


@pytest.mark.parametrize("role_user", ROLES, indirect=True)
def test_permission_matrix_for_event_endpoints(request, role_user, live_event):
    """Anonymous callers get 401 auth_required, viewers and moderators 403 forbidden; producers and superusers succeed."""
    role = request.node.callspec.params["role_user"]
    client = api_as(role_user)
    for method, url, data in producer_calls("final"):
        response = getattr(client, method)(url, data, format="json")
        if role in EXPECTED:
            assert (response.status_code, response.json()["code"]) == EXPECTED[role], url
        else:
            assert response.status_code in (200, 201), (url, response.content)


@pytest.mark.parametrize("role_user", ROLES, indirect=True)
def test_permission_matrix_for_lifecycle_and_reads(request, role_user):
    """Go-live and schedule are for producers; everyone reads the event, its stats and moments."""
    from events.models import Event

    role = request.node.callspec.params["role_user"]
    Event.objects.create(title="Gala", slug="gala")
    client = api_as(role_user)
    schedule = client.post("/api/events/gala/schedule/", {"scheduled_start": "2030-01-01T18:00:00Z"}, format="json")
    live = client.post("/api/events/gala/go-live/")
    for response in (schedule, live):
        if role in EXPECTED:
            assert (response.status_code, response.json()["code"]) == EXPECTED[role]
        else:
            assert response.status_code == 200
    for url in ("/api/events/gala/", "/api/events/gala/stats/", "/api/events/gala/moments/"):
        assert client.get(url).status_code == 200


def test_create_go_live_and_end_over_the_api(producer):
    client = api_as(producer)
    created = client.post("/api/events/", {"title": "Slalom", "scheduled_start": "2030-01-01T10:00:00+01:00"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert (body["slug"], body["status"], body["scheduled_start"]) == ("slalom", "scheduled", "2030-01-01T09:00:00Z")
    live = client.post("/api/events/slalom/go-live/").json()
    assert live["status"] == "live" and live["started_at_ms"] > 0
    again = client.post("/api/events/slalom/go-live/")
    assert (again.status_code, again.json()["code"]) == (409, "event_already_live")
    assert client.post("/api/events/slalom/end/").json()["status"] == "ended"


def test_create_reports_invalid_fields(producer, live_event):
    client = api_as(producer)
    for data, code in (
        ({"title": ""}, "invalid_title"),
        ({"title": "x", "slug": "final"}, "slug_taken"),
        ({"title": "x", "scheduled_start": "tomorrow"}, "invalid_scheduled_start"),
        ({"title": 5}, "invalid_title"),
    ):
        response = client.post("/api/events/", data, format="json")
        assert response.json()["code"] == code and response.status_code in (400, 409)


def test_stats_push_and_read_back(producer, live_event):
    client = api_as(producer)
    pushed = client.post(
        "/api/events/final/stats/",
        {"standings": [{"rank": 1, "name": "L. Brunner", "team": "AUT", "result": "1:51.84"}]},
        format="json",
    )
    assert pushed.status_code == 201
    current = APIClient().get("/api/events/final/stats/").json()["stats"]
    assert current == pushed.json()["stats"]
    assert current["standings"][0] == {"rank": 1, "name": "L. Brunner", "team": "AUT", "result": "1:51.84", "gap": None, "prev_rank": None}
    assert APIClient().get("/api/events/final/stats/", {"at_ms": 0}).json() == {"stats": None}


def test_stats_validation_errors_name_the_field(producer, live_event):
    response = api_as(producer).post("/api/events/final/stats/", {"standings": [{"rank": "first", "name": "A"}]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("stats_invalid_type", "standings[0].rank")
    assert body["errors"] == [{"field": "standings[0].rank", "code": "stats_invalid_type", "message": body["message"]}]


def test_an_oversized_stats_push_is_413(producer, live_event):
    rows = [{"rank": 1, "name": f"{i:03d}" + "n" * 77, "team": "t" * 80, "result": "r" * 80, "gap": "g" * 80} for i in range(100)]
    response = api_as(producer).post("/api/events/final/stats/", {"standings": rows}, format="json")
    assert (response.status_code, response.json()["code"]) == (413, "stats_too_large")


def test_moments_push_and_list_in_media_order(producer, live_event):
    client = api_as(producer)
    assert client.post("/api/events/final/moments/", {"kind": "medal", "title": "Gold", "media_ms": 9000}, format="json").status_code == 201
    client.post("/api/events/final/moments/", {"kind": "record", "title": "Record", "media_ms": 3000}, format="json")
    listed = APIClient().get("/api/events/final/moments/").json()["results"]
    assert [(m["media_ms"], m["kind"], m["title"]) for m in listed] == [(3000, "record", "Record"), (9000, "medal", "Gold")]
    window = APIClient().get("/api/events/final/moments/", {"from_ms": 4000}).json()["results"]
    assert [m["title"] for m in window] == ["Gold"]


def test_openapi_schema_lists_the_producers_endpoints(db):
    paths = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("/api/events/{slug}/stats/", "/api/events/{slug}/moments/", "/api/events/{slug}/go-live/",
                 "/api/events/{slug}/polls/", "/api/polls/{poll_id}/launch/", "/api/polls/{poll_id}/results.csv"):
        assert path in paths, path


def test_session_clients_need_the_csrf_token(producer, live_event):
    """The console calls the API with its session; without the CSRF token a write is refused."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(producer)
    response = client.post("/api/events/final/moments/", {"kind": "goal", "title": "x"}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert timezone.now() - live_event.started_at > timedelta(minutes=4)
