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
