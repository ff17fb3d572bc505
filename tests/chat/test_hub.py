"""The process hub on its own: coalescing, display cap, retractions, slow clients."""
import json

import pytest
from channels.layers import InMemoryChannelLayer

from chat import fastpath, wire
from chat.hub import Room, RoomHub


class Recorder:
    """A socket seen through ASGI (no Daphne protocol): records frames."""

    protocol = None

    def __init__(self):
        self.frames = []

    async def base_send(self, message):
        self.frames.append(json.loads(message["text"]))


class FakeTransport:
    def __init__(self, queued=0):
        self.dataBuffer, self.offset, self._tempDataLen = b"", 0, queued


class FakeProtocol:
    """Daphne's protocol as the fast path sees it: state, transport, sendMessage."""

    def __init__(self, queued=0):
        self.state = fastpath.STATE_OPEN
        self.transport = FakeTransport(queued)
        self.sent, self.closed = [], None

    def sendMessage(self, data, binary):
        self.sent.append(json.loads(data))

    def sendClose(self, code, reason):
        self.closed = code


class DirectSocket:
    transport = None  # not plain TCP: the hub goes through the protocol

    def __init__(self, queued=0):
        self.protocol = FakeProtocol(queued)


def item(n):
    return {"id": n, "text": f"t{n}", "color": "#ffffff", "mode": "scroll", "size": "normal", "media_ms": n,
            "author": {"id": 1, "name": "a"}, "created_at": None}


@pytest.fixture
async def hub(settings):
    settings.ROOM_DISPLAY_CAP_PER_SEC = 1000
    hub = RoomHub(layer=InMemoryChannelLayer())
    yield hub
    await hub.stop()


async def joined(hub, sock, event_id=1):
    await hub.join(event_id, sock)
    return sock


async def test_a_tick_of_comments_becomes_one_frame(hub):
    sock = await joined(hub, Recorder())
    for n in range(5):
        hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(n)})
    await hub.flush()
    assert [f["type"] for f in sock.frames] == ["danmaku"]
    assert [i["id"] for i in sock.frames[0]["items"]] == [0, 1, 2, 3, 4]
    await hub.flush()
    assert len(sock.frames) == 1  # nothing pending, nothing sent


async def test_display_cap_samples_but_keeps_the_buffer_complete(hub):
    hub.display_cap = 10
    sock = await joined(hub, Recorder())
    for n in range(50):
        hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(n)})
    await hub.flush()
    shown = [i["id"] for i in sock.frames[0]["items"]]
    # A tick shows at most two ticks' worth of the cap (10/s, 100 ms ticks): 2.
    assert len(shown) == 2 and shown == sorted(shown)
    assert hub.items_dropped_by_cap == 48
    # Catch-up still knows every comment.
    assert [i["id"] for i in hub.recent_since(1, 39)] == list(range(40, 50))


def test_display_cap_spreads_a_seconds_budget_over_its_ticks(hub):
    # 200 comments/s against a cap of 80/s, 100 ms ticks: every tick shows a
    # few (about 8), none shows a second's worth, and none is left empty.
    hub.display_cap = 80
    room = Room(1)
    shown = []
    for tick in range(1, 31):
        batch = [item(tick * 100 + n) for n in range(20)]
        shown.append(len(hub._sample(room, batch, now=1000.0 + tick * hub.tick_s)))
    assert shown[0] == 16  # a quiet room's first busy tick: two ticks' worth
    assert all(7 <= n <= 9 for n in shown[1:]), shown
    assert sum(shown[1:11]) <= 80 + 1


async def test_latest_stats_frame_per_tick_wins(hub):
    sock = await joined(hub, Recorder())
    for score in range(3):
        hub.accept({"type": wire.LAYER_FRAME, "event": 1, "key": "stats", "frame": {"type": "stats", "stats": {"s": score}}})
    await hub.flush()
    assert sock.frames == [{"type": "stats", "stats": {"s": 2}}]


async def test_a_retracted_comment_never_flies(hub):
    sock = await joined(hub, Recorder())
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(1)})
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(2)})
    hub.accept({"type": wire.LAYER_RETRACT, "event": 1, "ids": [1]})
    await hub.flush()
    assert sock.frames[0] == {"type": "danmaku.retract", "ids": [1]}
    assert [i["id"] for i in sock.frames[1]["items"]] == [2]


async def test_messages_for_rooms_without_local_viewers_are_ignored(hub):
    sock = await joined(hub, Recorder(), event_id=1)
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 2, "item": item(1)})
    await hub.flush()
    assert sock.frames == []


async def test_slow_client_misses_danmaku_but_not_stats(hub):
    fast, slow = await joined(hub, DirectSocket()), await joined(hub, DirectSocket(queued=hub.slow_skip_bytes + 1))
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(1)})
    hub.accept({"type": wire.LAYER_FRAME, "event": 1, "key": "stats", "frame": {"type": "stats", "stats": {}}})
    await hub.flush()
    assert [f["type"] for f in fast.protocol.sent] == ["stats", "danmaku"]
    assert [f["type"] for f in slow.protocol.sent] == ["stats"]
    assert hub.frames_skipped_slow == 1


async def test_stalled_client_is_closed(hub):
    stalled = await joined(hub, DirectSocket(queued=hub.slow_close_bytes + 1))
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(1)})
    await hub.flush()
    assert stalled.protocol.closed == 4408 and stalled.protocol.sent == []


async def test_closed_sockets_are_skipped(hub):
    sock = await joined(hub, DirectSocket())
    sock.protocol.state = "closed"
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(1)})
    await hub.flush()
    assert sock.protocol.sent == []


async def test_empty_room_unsubscribes_after_grace(hub, monkeypatch):
    sock = await joined(hub, Recorder())
    hub.leave(1, sock)
    await hub.flush()
    assert 1 in hub.rooms  # a reload does not churn the subscription
    hub.rooms[1].empty_since -= 3600
    await hub.flush()
    assert 1 not in hub.rooms


async def test_recent_since_needs_the_last_seen_id(hub):
    sock = await joined(hub, Recorder())
    for n in (10, 20, 30):
        hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(n)})
    await hub.flush()
    assert [i["id"] for i in hub.recent_since(1, 10)] == [20, 30]
    assert hub.recent_since(1, 30) == []
    assert hub.recent_since(1, 15) is None  # not seen here: ask the database


@pytest.mark.django_db
async def test_joiners_share_a_snapshot_until_the_room_changes(hub, monkeypatch):
    """A surge of joins reads the room state once; a published change makes the next joiner read it again."""
    from types import SimpleNamespace

    from chat import services

    reads = []

    def room_snapshot(*, event):
        reads.append(event.pk)
        return {"stats": {"n": len(reads)}, "poll": None, "summary": None, "moments": []}

    monkeypatch.setattr(services, "room_snapshot", room_snapshot)
    event = SimpleNamespace(pk=1)
    await joined(hub, Recorder())
    first = [await hub.snapshot_for(event) for _ in range(5)]
    assert reads == [1] and all(s["stats"] == {"n": 1} for s in first)
    hub.accept({"type": wire.LAYER_FRAME, "event": 1, "key": "stats", "frame": {"type": "stats", "stats": {}}})
    assert (await hub.snapshot_for(event))["stats"] == {"n": 2}


@pytest.mark.django_db(transaction=True)  # the database thread closes stale connections around each read
async def test_a_surge_of_joiners_waits_for_one_read(hub, monkeypatch):
    """Joiners arriving while the first read runs share it: one query each for the event and the room state."""
    import asyncio
    import threading
    from types import SimpleNamespace

    from chat import services

    release = threading.Event()
    reads = {"event": 0, "snapshot": 0}

    def event_by_slug(slug):
        reads["event"] += 1
        release.wait(5)
        return SimpleNamespace(pk=1, slug=slug)

    def room_snapshot(*, event):
        reads["snapshot"] += 1
        return {"stats": None, "poll": None, "summary": None, "moments": []}

    monkeypatch.setattr(services, "event_by_slug", event_by_slug)
    monkeypatch.setattr(services, "room_snapshot", room_snapshot)

    async def join():
        event = await hub.event_for("final")
        return event, await hub.snapshot_for(event)

    joiners = [asyncio.create_task(join()) for _ in range(50)]
    await asyncio.sleep(0.05)
    joiners[0].cancel()  # one joiner leaves while waiting: the others still get their answer
    release.set()
    results = await asyncio.gather(*joiners[1:])
    assert reads == {"event": 1, "snapshot": 1}
    assert all(event.pk == 1 and snapshot["moments"] == [] for event, snapshot in results)


class RawSocket:
    """A room socket on a real TCP connection through Twisted's transport (the fast path)."""

    def __init__(self, queued=0):
        import socket as sockets

        from twisted.internet.tcp import Server

        listener = sockets.create_server(("127.0.0.1", 0))
        self.peer = sockets.create_connection(listener.getsockname())
        server_side, _ = listener.accept()
        listener.close()
        server_side.setblocking(False)
        self.peer.settimeout(2)
        self.protocol = FakeProtocol()

        class Reactor:
            def addWriter(self, fd):
                pass

            removeWriter = addReader = removeReader = addWriter

        self.transport = Server(server_side, self.protocol, ("127.0.0.1", 1), None, 1, Reactor())
        self.protocol.transport = self.transport
        self.protocol._perMessageCompress = None
        self.syscalls = 0
        real = server_side.send

        class Counting:
            def __getattr__(_, name):
                return getattr(server_side, name)

            def send(_, data):
                self.syscalls += 1
                return real(data)

        self.server_side = server_side
        self.buffer = b""
        self.transport.socket = Counting()

    def close(self):
        self.server_side.close()
        self.peer.close()

    def received(self) -> list[dict]:
        """The complete frames the peer has received since the last call (partial ones wait)."""
        self.peer.setblocking(False)
        try:
            while chunk := self.peer.recv(1 << 20):
                self.buffer += chunk
        except BlockingIOError:
            pass
        frames = []
        while len(self.buffer) >= 2:
            size, start = self.buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(self.buffer[2:4]), 4
            elif size == 127:
                size, start = int.from_bytes(self.buffer[2:10]), 10
            if len(self.buffer) < start + size:
                break
            assert self.buffer[0] == 0x81  # final, unmasked text frames only
            frames.append(json.loads(self.buffer[start : start + size]))
            self.buffer = self.buffer[start + size :]
        return frames


@pytest.fixture
async def sock(hub):
    """A RawSocket joined to room 1, closed after the test."""
    sock = await joined(hub, RawSocket())
    yield sock
    sock.close()


async def test_a_ticks_frames_go_to_an_idle_socket_in_one_send(hub, sock):
    hub.accept({"type": wire.LAYER_FRAME, "event": 1, "key": "stats", "frame": {"type": "stats", "stats": {"s": 1}}})
    hub.accept({"type": wire.LAYER_FRAME, "event": 1, "key": "poll", "frame": {"type": "poll", "poll": {"id": 3}}})
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(7)})
    await hub.flush()
    assert sock.syscalls == 1
    # Control frames first, the danmaku last: three WebSocket messages, one send.
    assert [f["type"] for f in sock.received()] == ["stats", "poll", "danmaku"]
    assert hub.frames_sent == 3


def fill_until_queued(sock: RawSocket) -> int:
    """Write filler frames to a peer that does not read until Twisted holds some: bytes written."""
    filler = fastpath.text_frame(json.dumps({"type": "filler", "pad": "x" * 4000}).encode())
    written = 0
    while fastpath.backlog(sock.protocol) == 0:
        fastpath.write(sock.protocol, filler, b"")
        written += len(filler)
    return written


def drain(sock: RawSocket) -> list[dict]:
    """Let the peer read everything queued (the reactor's part: doWrite when writable)."""
    frames = []
    while True:
        frames += sock.received()
        if not fastpath.backlog(sock.protocol):
            return frames + sock.received()
        sock.transport.doWrite()


def tick(hub, n):
    hub.accept({"type": wire.LAYER_FRAME, "event": 1, "key": "stats", "frame": {"type": "stats", "stats": {"n": n}}})
    hub.accept({"type": wire.LAYER_DANMAKU, "event": 1, "item": item(n)})


async def test_a_client_behind_keeps_every_control_frame_and_only_the_newest_danmaku(hub, sock):
    fill_until_queued(sock)
    for n in (1, 2, 3):  # three ticks while the client is behind
        tick(hub, n)
        await hub.flush()
    held = hub.held[sock]
    assert len(held.control) == 3 and held.danmaku is not None
    assert hub.frames_skipped_slow == 2  # danmaku 1 and 2: the older go first
    # The client catches up; the next tick sends what was kept, then its own.
    received = [f for f in drain(sock) if f["type"] != "filler"]
    assert received == []  # nothing was written behind the filler
    tick(hub, 4)
    await hub.flush()
    received = drain(sock)
    assert [(f["type"], f.get("stats", {}).get("n") or [i["id"] for i in f.get("items", [])]) for f in received] == [
        ("stats", 1), ("stats", 2), ("stats", 3), ("stats", 4), ("danmaku", [4])
    ]
    assert hub.frames_skipped_slow == 3 and sock not in hub.held
    # What is kept back also goes out on a quiet tick, once the client has caught up.
    fill_until_queued(sock)
    tick(hub, 5)
    await hub.flush()
    assert sock in hub.held
    assert [f for f in drain(sock) if f["type"] != "filler"] == []
    await hub.flush()  # nothing new arrived
    assert [f["type"] for f in drain(sock)] == ["stats", "danmaku"] and sock not in hub.held
    # Caught up: the next tick is one plain send again.
    calls = sock.syscalls
    tick(hub, 6)
    await hub.flush()
    assert sock.syscalls == calls + 1


async def test_a_client_that_stopped_reading_is_closed_once_too_much_is_kept(hub, sock):
    fill_until_queued(sock)
    hub.slow_close_bytes = fastpath.backlog(sock.protocol) + 200
    for n in range(1, 10):
        tick(hub, n)
        await hub.flush()
        if sock.protocol.closed:
            break
    assert sock.protocol.closed == 4408 and hub.slow_closed == 1 and sock not in hub.held


async def test_leaving_forgets_what_was_kept(hub, sock):
    fill_until_queued(sock)
    tick(hub, 1)
    await hub.flush()
    assert sock in hub.held
    hub.leave(1, sock)
    assert sock not in hub.held