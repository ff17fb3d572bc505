"""GET and POST /api/events/<slug>/summaries/: history for everyone, "summary now" for producers."""
import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chat import wire
from summaries import services
from summaries.models import Summary

pytestmark = pytest.mark.django_db


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def url(slug="final"):
    return f"/api/events/{slug}/summaries/"


@pytest.fixture
def producer(make_user):
    user = make_user("paula", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="producers")[0])
    return user


def add(event, lang, window, text):
    return Summary.objects.create(event=event, lang=lang, window_key=window, text=text, provider="offline", model="templates-1")


def test_history_is_newest_first_and_filtered_by_language(live_event):
    live_event.summary_languages = ["en", "it"]
    live_event.save()
    first = add(live_event, "en", "a", "First.")
    add(live_event, "it", "a", "Primo.")
    second = add(live_event, "en", "b", "Second.")
    body = client_for().get(url(), {"lang": "en"}).json()
    assert body["languages"] == ["en", "it"] and body["lang"] == "en" and body["stale"] is False
    assert body["results"] == [wire.summary_record(second), wire.summary_record(first)]
    assert len(client_for().get(url()).json()["results"]) == 3
    assert len(client_for().get(url(), {"limit": 1}).json()["results"]) == 1


def test_history_of_an_unknown_event_is_404(db):
    response = client_for().get(url("nope"))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_producer_asks_for_a_summary_now_and_gets_202(live_event, producer, comment, django_capture_on_commit_callbacks):
    comment(live_event, "forza azzurri")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(producer).post(url(), {"lang": "en"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["queued"] == ["en"] and body["window"].startswith("req-")
    # The embedded default runs the task in-process: the summary is there.
    summary = Summary.objects.get()
    assert (summary.window_key, summary.provider) == (body["window"], "offline")


def test_a_request_without_a_language_asks_for_all(live_event, producer, monkeypatch, django_capture_on_commit_callbacks):
    live_event.summary_languages = ["en", "zh", "it"]
    live_event.save()
    calls = []
    monkeypatch.setattr(services, "_enqueue", lambda *args: calls.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(producer).post(url(), {}, format="json")
    assert response.status_code == 202 and response.json()["queued"] == ["en", "zh", "it"]
    assert [lang for _, lang, _ in calls] == ["en", "zh", "it"]


def test_a_viewer_may_not_ask(live_event, viewer):
    response = client_for(viewer).post(url(), {}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_anonymous_requests_are_told_to_sign_in(live_event):
    response = client_for().post(url(), {}, format="json")
    assert response.status_code == 401 and response.json()["code"] == "auth_required"


@pytest.mark.parametrize("body, code", [({"lang": "fr"}, "invalid_lang"), ({"lang": 3}, "invalid_lang")])
def test_a_bad_language_is_400(live_event, producer, body, code):
    response = client_for(producer).post(url(), body, format="json")
    assert response.status_code == 400 and response.json()["code"] == code


