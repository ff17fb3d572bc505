"""
The hub's additions for moderation (chat/hub.py): frames for one account's
sockets, and retractions that also leave the catch-up buffer. In the style of
tests/chat/test_hub.py.
"""
import json
from types import SimpleNamespace

import pytest
from channels.layers import InMemoryChannelLayer

from chat import wire
from chat.hub import RoomHub


class Recorder:
    protocol = None

    def __init__(self, user_id=None):
        self.user = SimpleNamespace(pk=user_id)
        self.frames = []

    async def base_send(self, message):
        self.frames.append(json.loads(message["text"]))


def item(n):
    return {"id": n, "text": f"t{n}", "color": "#ffffff", "mode": "scroll", "size": "normal", "media_ms": n,
            "author": {"id": 1, "name": "a"}, "created_at": None}


@pytest.fixture
async def hub(settings):
    settings.ROOM_DISPLAY_CAP_PER_SEC = 1000
    hub = RoomHub(layer=InMemoryChannelLayer())
    yield hub
    await hub.stop()


async def test_a_user_frame_reaches_only_that_accounts_sockets(hub):
    ana_phone, ana_laptop, ben, anonymous = Recorder(7), Recorder(7), Recorder(8), Recorder(None)
    for sock in (ana_phone, ana_laptop, ben, anonymous):
        await hub.join(1, sock)
    notice = wire.notice_frame(level="info", code="comment_held", message="Waiting for a moderator.", comment=5)
    hub.accept({"type": wire.LAYER_USER_FRAME, "event": 1, "user": 7, "frame": notice})
    await hub.flush()
    assert ana_phone.frames == [notice] and ana_laptop.frames == [notice]
    assert ben.frames == [] and anonymous.frames == []
    await hub.flush()
    assert len(ana_phone.frames) == 1  # sent once


async def test_user_frames_for_rooms_without_local_sockets_are_dropped(hub):
    await hub.join(1, Recorder(7))
    hub.accept({"type": wire.LAYER_USER_FRAME, "event": 2, "user": 7, "frame": {"type": "notice"}})
    await hub.flush()
    assert hub.rooms[1].pending_user == []


async def test_a_retracted_comment_leaves_the_catch_up_buffer(hub):
    sock = Recorder()
    await hub.join(1, sock)
    for n in (1, 2, 3):
        hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(n)})
    await hub.flush()
    hub.accept({"type": wire.LAYER_RETRACT, "event": 1, "ids": [2]})
    await hub.flush()
    assert [i["id"] for i in hub.recent_since(1, 1)] == [3]
    # A viewer whose last id was the hidden one is caught up from storage instead.
    assert hub.recent_since(1, 2) is None
