"""
The room socket, end to end through the ASGI stack (Origin and auth middleware,
routing, consumer, process hub), on the in-memory layer. The same behaviours on
a real Redis layer are in test_consumers_redis.py.
"""
import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from chat.models import Comment
from companion.asgi import application
from tests.conftest import ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(path="/ws/events/final/", *, token=None, headers=(ORIGIN,), query=""):
    params = [p for p in (f"token={token}" if token else "", query) if p]
    url = path + ("?" + "&".join(params) if params else "")
    comm = WebsocketCommunicator(application, url, headers=list(headers))
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


async def next_frame(comm, kind, timeout=3):
    """The next frame of ``kind``, skipping others (presence, notices...)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        frame = await comm.receive_json_from(timeout=max(0.05, deadline - asyncio.get_running_loop().time()))
        if frame["type"] == kind:
            return frame


@database_sync_to_async
def token_for(user):
    return Token.objects.create(user=user).key


async def test_anonymous_viewer_gets_hello_and_may_not_post(live_event):
    """An anonymous browser may watch: hello carries the event, and can_post is false."""
    comm = await connect()
    hello = await comm.receive_json_from()
    assert hello["type"] == "hello"
    assert hello["event"]["slug"] == "final"
    assert hello["event"]["status"] == "live"
    assert hello["viewer"] == {"id": None, "name": None, "can_post": False, "roles": []}
    assert set(hello) >= {"server_time_ms", "online", "stats", "poll", "summary"}
    await comm.send_json_to({"type": "danmaku.post", "ref": "c1", "text": "hi", "media_ms": 0})
    error = await next_frame(comm, "error")
    assert (error["ref"], error["code"]) == ("c1", "auth_required")
    await comm.disconnect()


async def test_hello_tells_a_sanctioned_account_it_cannot_post_and_why(live_event, viewer, make_user):
    from datetime import timedelta

    from django.utils import timezone

    from moderation.models import Sanction

    muted = await database_sync_to_async(make_user)("muted")
    await database_sync_to_async(Sanction.objects.create)(user=viewer, kind=Sanction.Kind.BAN)
    await database_sync_to_async(Sanction.objects.create)(
        user=muted, kind=Sanction.Kind.TIMEOUT, ends_at=timezone.now() + timedelta(minutes=10)
    )
    banned = await connect(token=await token_for(viewer), headers=())
    hello = await banned.receive_json_from()
    assert hello["viewer"]["can_post"] is False and hello["viewer"]["refusal"]["code"] == "banned"
    timed_out = await connect(token=await token_for(muted), headers=())
    refusal = (await timed_out.receive_json_from())["viewer"]["refusal"]
    assert refusal["code"] == "timed_out" and 590 < refusal["retry_after"] <= 600 and refusal["until"]
    await banned.disconnect()
    await timed_out.disconnect()


async def test_token_client_posts_gets_ack_and_sees_the_broadcast(live_event, viewer):
    key = await token_for(viewer)
    poster = await connect(token=key, headers=())
    watcher = await connect()
    hello = await poster.receive_json_from()
    assert hello["viewer"]["name"] == "Ana" and hello["viewer"]["can_post"] is True
    await watcher.receive_json_from()

    await poster.send_json_to(
        {"type": "danmaku.post", "ref": "c1", "text": "GO!", "color": "#FF0000", "mode": "top", "size": "large", "media_ms": 1234}
    )
    ack = await next_frame(poster, "ack")
    assert ack["ref"] == "c1"
    assert ack["item"]["text"] == "GO!"
    stored = await database_sync_to_async(Comment.objects.get)(pk=ack["id"])
    assert (stored.text, stored.color, stored.mode, stored.size, stored.media_ms) == ("GO!", "#ff0000", "top", "large", 1234)

    frame = await next_frame(watcher, "danmaku")
    assert frame["items"] == [ack["item"]]
    assert set(frame["items"][0]) == {"id", "text", "color", "mode", "size", "media_ms", "author", "created_at"}
    assert frame["items"][0]["author"] == {"id": viewer.pk, "name": "Ana"}
    await poster.disconnect()
    await watcher.disconnect()


async def test_comments_in_one_tick_arrive_as_one_frame(live_event, make_user, settings):
    """The hub coalesces: several comments in one tick reach a viewer as one frame."""
    settings.ROOM_TICK_MS = 300
    users = [await database_sync_to_async(make_user)() for _ in range(3)]
    posters = [await connect(token=await token_for(u), headers=()) for u in users]
    watcher = await connect()
    for comm in posters + [watcher]:
        await comm.receive_json_from()
    for n, comm in enumerate(posters):
        await comm.send_json_to({"type": "danmaku.post", "ref": n, "text": f"c{n}", "media_ms": 10})
    for comm in posters:
        await next_frame(comm, "ack")
    frame = await next_frame(watcher, "danmaku")
    assert sorted(i["text"] for i in frame["items"]) == ["c0", "c1", "c2"]
    for comm in posters + [watcher]:
        await comm.disconnect()


async def test_session_cookie_authenticates_a_browser(live_event, viewer, client):
    await database_sync_to_async(client.force_login)(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = await connect(headers=(ORIGIN, (b"cookie", cookie)))
    hello = await comm.receive_json_from()
    assert hello["viewer"]["id"] == viewer.pk
    await comm.disconnect()


async def test_session_cookie_is_ignored_without_an_origin(live_event, viewer, client):
    """Only browsers (which send Origin) may use cookies; others need a token."""
    await database_sync_to_async(client.force_login)(viewer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    comm = await connect(headers=((b"cookie", cookie),))
    hello = await comm.receive_json_from()
    assert hello["viewer"]["id"] is None
    await comm.disconnect()


async def test_foreign_origin_is_refused(live_event):
    comm = WebsocketCommunicator(application, "/ws/events/final/", headers=[(b"origin", b"https://evil.example")])
    connected, code = await comm.connect()
    assert connected is False


async def test_invalid_token_gets_an_error_and_is_closed(live_event):
    comm = await connect(token="nope", headers=())
    error = await comm.receive_json_from()
    assert error["code"] == "invalid_token"
    closed = await comm.receive_output()
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_unknown_event_gets_not_found_and_is_closed(db):
    comm = await connect("/ws/events/nothing-here/")
    error = await comm.receive_json_from()
    assert error["code"] == "not_found"
    assert (await comm.receive_output())["code"] == 4404


@pytest.mark.parametrize(
    "payload, code",
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('"text"', "invalid_message"),
        ("{}", "unknown_type"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": 7}', "unknown_type"),
        ('{"type": "danmaku.post", "ref": {"a": 1}, "text": "x", "media_ms": 1}', "invalid_message"),
        ('{"type": "danmaku.post", "ref": "r", "text": "", "media_ms": 1}', "text_empty"),
        ('{"type": "danmaku.post", "ref": "r", "text": "x", "color": "blue", "media_ms": 1}', "invalid_color"),
        ('{"type": "danmaku.post", "ref": "r", "text": "x", "mode": "spin", "media_ms": 1}', "invalid_mode"),
        ('{"type": "danmaku.post", "ref": "r", "text": "x", "media_ms": -5}', "invalid_media_time"),
        ('{"type": "danmaku.post", "ref": "r", "text": "' + "y" * 200 + '", "media_ms": 1}', "text_too_long"),
        ('{"type": "danmaku.post", "ref": "r", "text": "' + "y" * 5000 + '", "media_ms": 1}', "message_too_large"),
    ],
)
async def test_bad_input_gets_a_typed_error_and_the_socket_survives(live_event, viewer, payload, code):
    comm = await connect(token=await token_for(viewer), headers=())
    await comm.receive_json_from()
    await comm.send_to(text_data=payload)
    error = await next_frame(comm, "error")
    assert error["code"] == code
    assert error["message"]
    # Still connected and working.
    await comm.send_json_to({"type": "danmaku.post", "ref": "ok", "text": "still here", "media_ms": 1})
    assert (await next_frame(comm, "ack"))["ref"] == "ok"
    await comm.disconnect()


async def test_binary_frames_get_a_typed_error(live_event):
    comm = await connect()
    await comm.receive_json_from()
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await next_frame(comm, "error"))["code"] == "binary_not_supported"
    await comm.disconnect()


async def test_a_flood_of_messages_is_rate_limited(live_event):
    comm = await connect()
    await comm.receive_json_from()
    for _ in range(30):
        await comm.send_to(text_data="{}")
    codes = [(await comm.receive_json_from())["code"] for _ in range(30)]
    assert "rate_limited" in codes
    assert codes.count("unknown_type") <= 21
    await comm.disconnect()


async def test_posting_too_fast_is_refused_with_retry_after(live_event, viewer, settings):
    settings.DANMAKU_RATE_COUNT, settings.DANMAKU_RATE_WINDOW = 2, 60
    comm = await connect(token=await token_for(viewer), headers=())
    await comm.receive_json_from()
    for n in range(3):
        await comm.send_json_to({"type": "danmaku.post", "ref": n, "text": "spam", "media_ms": 1})
    frames = [await next_frame(comm, t) for t in ("ack", "ack", "error")]
    assert frames[2]["code"] == "rate_limited" and frames[2]["ref"] == 2 and frames[2]["retry_after"] > 0
    assert await database_sync_to_async(Comment.objects.count)() == 2
    await comm.disconnect()


async def test_reconnecting_client_catches_up_from_storage(live_event, viewer):
    make = database_sync_to_async(Comment.objects.create)
    seen = await make(event=live_event, author=viewer, text="seen", media_ms=1)
    missed = [await make(event=live_event, author=viewer, text=f"missed{n}", media_ms=2) for n in range(2)]
    await make(event=live_event, author=viewer, text="hidden", media_ms=3, status=Comment.Status.HIDDEN)
    comm = await connect(query=f"since={seen.pk}")
    await comm.receive_json_from()
    frame = await next_frame(comm, "danmaku")
    assert frame["catchup"] is True
    assert [i["id"] for i in frame["items"]] == [c.pk for c in missed]
    await comm.disconnect()


async def test_reconnecting_client_catches_up_from_the_hub_buffer(live_event, viewer):
    """A comment delivered by this process is replayed to a rejoining viewer without the DB."""
    key = await token_for(viewer)
    poster = await connect(token=key, headers=())
    await poster.receive_json_from()
    ids = []
    for n in range(3):
        await poster.send_json_to({"type": "danmaku.post", "ref": n, "text": f"m{n}", "media_ms": 1})
        ids.append((await next_frame(poster, "ack"))["id"])
    await next_frame(poster, "danmaku")
    late = await connect(query=f"since={ids[0]}")
    await late.receive_json_from()
    frame = await next_frame(late, "danmaku")
    assert [i["id"] for i in frame["items"]] == ids[1:]
    await poster.disconnect()
    await late.disconnect()


async def test_presence_counts_viewers(live_event, settings):
    settings.PRESENCE_INTERVAL_MS = 100
    first = await connect()
    await first.receive_json_from()
    second = await connect()
    hello = await second.receive_json_from()
    assert hello["online"] == 2
    assert (await next_frame(first, "presence"))["online"] == 2
    await second.disconnect()
    assert (await next_frame(first, "presence"))["online"] == 1
    await first.disconnect()


async def test_a_full_process_says_so_and_closes_with_try_again_later(live_event, settings):
    settings.ROOM_MAX_CONNECTIONS = 1
    first = await connect()
    assert (await first.receive_json_from())["type"] == "hello"
    second = await connect()
    notice = await second.receive_json_from()
    assert (notice["type"], notice["level"], notice["code"]) == ("notice", "error", "server_busy")
    assert 2000 <= notice["retry_after_ms"] <= 10000
    assert (await second.receive_output())["code"] == 4013
    # A slot frees when a viewer leaves.
    await first.disconnect()
    third = await connect()
    assert (await third.receive_json_from())["type"] == "hello"
    await third.disconnect()


async def test_event_status_changes_reach_posting_within_the_cache_window(live_event, viewer, monkeypatch):
    """A socket opened while the event was live refuses posts once it is back to scheduled."""
    from chat import hub as hub_module
    from events.models import Event

    monkeypatch.setattr(hub_module, "EVENT_CACHE_S", 0)
    comm = await connect(token=await token_for(viewer), headers=())
    await comm.receive_json_from()
    await database_sync_to_async(Event.objects.filter(pk=live_event.pk).update)(status=Event.Status.SCHEDULED)
    await comm.send_json_to({"type": "danmaku.post", "ref": "x", "text": "hi", "media_ms": 1})
    assert (await next_frame(comm, "error"))["code"] == "event_not_live"
    await comm.disconnect()
