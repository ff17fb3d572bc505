import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chat.models import Comment
from events.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def authed(viewer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=viewer).key}")
    return client


def url(slug="final", suffix=""):
    return f"/api/events/{slug}/danmaku/{suffix}"


def test_it_posts_a_comment_with_a_token(authed, live_event, viewer):
    response = authed.post(url(), {"text": "from a script", "media_ms": 500, "color": "#00ff00"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["text"] == "from a script" and body["author"] == {"id": viewer.pk, "name": "Ana"}
    assert Comment.objects.get(pk=body["id"]).color == "#00ff00"


def test_it_rejects_anonymous_posts_with_401(api, live_event):
    response = api.post(url(), {"text": "x", "media_ms": 1}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "auth_required"
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "body, code",
    [
        ({"text": "", "media_ms": 1}, "text_empty"),
        ({"text": "x" * 101, "media_ms": 1}, "text_too_long"),
        ({"text": "x", "media_ms": -1}, "invalid_media_time"),
        ({"text": "x", "media_ms": 1, "mode": "spin"}, "invalid_mode"),
        ({"text": "x", "media_ms": 1, "color": "pink"}, "invalid_color"),
        ([1, 2], "invalid_message"),
    ],
)
def test_it_rejects_invalid_comments_with_400_and_a_code(authed, live_event, body, code):
    response = authed.post(url(), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_it_rejects_malformed_json(authed, live_event):
    response = authed.post(url(), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_it_rate_limits_with_429_and_retry_after(authed, live_event, settings):
    settings.DANMAKU_RATE_COUNT, settings.DANMAKU_RATE_WINDOW = 1, 60
    assert authed.post(url(), {"text": "a", "media_ms": 1}, format="json").status_code == 201
    response = authed.post(url(), {"text": "b", "media_ms": 1}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_it_refuses_posting_to_a_scheduled_event(authed):
    Event.objects.create(title="Soon", slug="soon")
    response = authed.post(url("soon"), {"text": "x", "media_ms": 1}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "event_not_live"


def test_replay_window_returns_visible_comments_in_media_order(api, live_event, viewer):
    for media_ms in (3000, 1000, 2000, 8000):
        Comment.objects.create(event=live_event, author=viewer, text=f"t{media_ms}", media_ms=media_ms)
    Comment.objects.create(event=live_event, author=viewer, text="gone", media_ms=1500, status="hidden")
    body = api.get(url(), {"from_ms": 1000, "to_ms": 8000}).json()
    assert [i["media_ms"] for i in body["items"]] == [1000, 2000, 3000]
    assert body["next_from_ms"] is None
    assert body["items"][0]["author"]["name"] == "Ana"


def test_replay_window_says_where_to_continue_when_truncated(api, live_event, viewer):
    for media_ms in range(0, 5000, 1000):
        Comment.objects.create(event=live_event, author=viewer, text="t", media_ms=media_ms)
    body = api.get(url(), {"limit": 2}).json()
    assert [i["media_ms"] for i in body["items"]] == [0, 1000]
    assert body["next_from_ms"] == 1000


@pytest.mark.parametrize("params", [{"from_ms": "abc"}, {"from_ms": -1}, {"limit": 0}, {"from_ms": 10, "to_ms": 5}])
def test_replay_window_rejects_bad_parameters(api, live_event, params):
    response = api.get(url(), params)
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_replay_window_of_an_unknown_event_is_404(api, db):
    response = api.get(url("missing"))
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_density_counts_per_bucket(api, live_event, viewer):
    for media_ms in (100, 200, 10_100):
        Comment.objects.create(event=live_event, author=viewer, text="t", media_ms=media_ms)
    body = api.get(url(suffix="density/"), {"bucket_ms": 10_000}).json()
    assert body["bucket_ms"] == 10_000
    assert body["buckets"] == [{"start_ms": 0, "count": 2}, {"start_ms": 10_000, "count": 1}]
    assert body["duration_ms"] > 0
