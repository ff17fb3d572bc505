"""The hub's overload counters and the staff-only ``GET /api/metrics/`` that shows them."""
import asyncio
import os

import pytest
from channels.layers import InMemoryChannelLayer
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from chat import batch as chat_batch
from chat import hub as hub_module, wire
from chat.hub import RoomHub

from .test_hub import DirectSocket, item

URL = "/api/metrics/"


async def overloaded_hub() -> tuple[RoomHub, int]:
    """
    A hub that refused 2 sockets, skipped 1 slow one, closed 1 stalled one and
    sampled 10 comments down to what the display cap shows (returned with it).
    """
    hub = RoomHub(layer=InMemoryChannelLayer())
    # Fewer than 10 a second: the tick's 10 comments are sampled (how many show is the sampler's business).
    hub.max_connections, hub.display_cap = 3, 3
    admitted = [hub.admit() for _ in range(5)]
    assert admitted == [True, True, True, False, False]
    fast, slow, stalled = DirectSocket(), DirectSocket(hub.slow_skip_bytes + 1), DirectSocket(hub.slow_close_bytes + 1)
    for sock in (fast, slow, stalled):
        await hub.join(7, sock)
    for n in range(10):
        hub.accept({"type": wire.LAYER_DANMAKU, "event": 7, "item": item(n)})
    await hub.flush()
    await hub.stop()
    shown = len(fast.protocol.sent[0]["items"])
    assert 0 < shown < 10 and slow.protocol.sent == [] and stalled.protocol.closed == 4408
    return hub, shown


async def test_metrics_reflect_refusals_slow_clients_and_the_display_cap(settings):
    hub, shown = await overloaded_hub()
    metrics = hub.metrics()
    assert metrics == {
        "process_id": hub.process_id,
        "connections": 3,
        "max_connections": 3,
        "rooms": 0,  # stop() left the rooms
        "room_sockets": {},
        "frames_sent": 1,
        "frames_skipped_slow": 1,
        "slow_closed": 1,
        "items_dropped_by_cap": 10 - shown,
        "refused": 2,
        "tick_ms": settings.ROOM_TICK_MS,
        "display_cap": 3,
        "batches": {},
    }


async def test_metrics_count_local_sockets_per_room():
    hub = RoomHub(layer=InMemoryChannelLayer())
    for event_id, sockets in ((1, 2), (2, 1)):
        for _ in range(sockets):
            await hub.join(event_id, DirectSocket())
    try:
        metrics = hub.metrics()
    finally:
        await hub.stop()
    assert metrics["rooms"] == 2 and metrics["room_sockets"] == {"1": 2, "2": 1}


@pytest.mark.django_db(transaction=True)
async def test_metrics_count_this_loops_batches(live_event, viewer):
    """Each database call of the comment batcher counts once; a batcher of another loop is not reported."""
    from chat import services

    hub = RoomHub(layer=InMemoryChannelLayer())
    draft = services.danmaku_parse({"text": "one batch", "media_ms": 1})
    await chat_batch.get_batcher().submit(services.Post(event=live_event, author=viewer, draft=draft))
    assert hub.metrics()["batches"]["danmaku-posts"] == 1


@pytest.fixture
def staff(make_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('ops', is_staff=True)).key}")
    return client


@pytest.mark.django_db
def test_it_refuses_anonymous_clients_with_401():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "auth_required"


@pytest.mark.django_db
def test_it_refuses_viewers_who_are_not_staff_with_403(viewer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=viewer).key}")
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.django_db
def test_it_says_hub_null_before_the_process_served_a_room(staff, monkeypatch):
    monkeypatch.setattr(hub_module, "_hub", None)
    response = staff.get(URL)
    assert response.status_code == 200
    assert response.json() == {"process": None, "pid": os.getpid(), "hub": None}
    assert hub_module._hub is None  # the view never creates a hub


@pytest.mark.django_db
def test_it_shows_the_hubs_counters_to_staff(staff, monkeypatch):
    hub, shown = asyncio.run(overloaded_hub())
    monkeypatch.setattr(hub_module, "_hub", hub)
    response = staff.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["process"] == hub.process_id and body["pid"] == os.getpid()
    assert body["hub"] == hub.metrics()
    assert body["hub"]["refused"] == 2 and body["hub"]["frames_skipped_slow"] == 1
    assert body["hub"]["slow_closed"] == 1 and body["hub"]["items_dropped_by_cap"] == 10 - shown


@pytest.mark.django_db
def test_session_staff_see_it_too(make_user, monkeypatch):
    monkeypatch.setattr(hub_module, "_hub", None)
    client = APIClient()
    client.force_login(make_user("desk", is_staff=True))
    assert client.get(URL).status_code == 200
