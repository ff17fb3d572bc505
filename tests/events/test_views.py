"""The producer console (producers only) and the on-air overlay (public, transparent, 1920x1080)."""
import json

import pytest

from tests.events.conftest import ROLES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role_user", ROLES, indirect=True)
def test_console_is_for_producers_only(request, client, role_user, live_event):
    """Anonymous visitors are sent to log in; viewers and moderators get 403; producers and superusers the page."""
    role = request.node.callspec.params["role_user"]
    if role_user is not None:
        client.force_login(role_user)
    response = client.get("/events/final/console/")
    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    elif role in ("viewer", "moderator"):
        assert response.status_code == 403
    else:
        assert response.status_code == 200


def test_console_config_lists_the_api_and_the_limits(client, producer, live_event):
    client.force_login(producer)
    page = client.get("/events/final/console/").content.decode()
    config = json.loads(page.split('<script id="console-config" type="application/json">')[1].split("</script>")[0])
    assert config["urls"]["api"]["stats"] == "/api/events/final/stats/"
    assert config["urls"]["api"]["poll_launch"] == "/api/polls/{id}/launch/"
    assert config["urls"]["overlay"] == "/events/final/overlay/"
    assert config["producer"]["poll_limits"]["options"] == [2, 6]
    assert config["producer"]["stats_limits"]["max_bytes"] == 32 * 1024
    assert config["csrf_token"] and config["viewer"]["roles"] == ["producer"]


def test_overlay_is_public_framable_and_takes_flags(client, live_event):
    response = client.get("/events/final/overlay/?danmaku=1")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    page = response.content.decode()
    config = json.loads(page.split('<script id="overlay-config" type="application/json">')[1].split("</script>")[0])
    assert config["overlay"] == {"poll": True, "danmaku": True, "width": 1920, "height": 1080}
    assert config["ws_path"] == "/ws/events/final/"


def test_unknown_events_are_404(client, producer):
    client.force_login(producer)
    assert client.get("/events/nope/console/").status_code == 404
    assert client.get("/events/nope/overlay/").status_code == 404
