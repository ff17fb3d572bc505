"""
The process hub: how a frame reaches thousands of sockets cheaply.

Each server process runs one hub. The hub, not each socket, is subscribed to
the channel layer: one group membership per room per process, so a comment
costs one publish per room across all processes (channels_redis' pub/sub layer
publishes once per group). Sockets register with the hub when they join a room.

Arriving danmaku are coalesced per room for a short tick, serialised once, and
the same bytes are written to every local socket, together with the tick's
other frames: the cost per socket is one send per tick, not a JSON encode, a
layer hop and a consumer dispatch per frame. When a room runs
hotter than a screen can show, the hub sends a sample (everything is stored and
replays in full). Stats, polls and notices coalesce too: the latest of each
kind per tick, never dropped for danmaku. Presence is counted the same way:
every hub announces its local count per room, and each sums the others.
"""
import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections import deque

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from companion import batch

from . import fastpath, services, wire

logger = logging.getLogger(__name__)

# A room with no local sockets keeps its subscription this long, so a page
# reload does not unsubscribe and resubscribe.
EMPTY_ROOM_GRACE_S = 30
# How long a process trusts its copy of an event (status, clock) before
# reading it again; a surge of joins then costs no query per socket.
EVENT_CACHE_S = 2.0
# Sockets written between two yields to the event loop during a flush.
WRITE_SLICE = 256
# After a flush that took longer than a tick, the next waits this part of a tick.
MIN_PAUSE_FRACTION = 0.25
# A peer process whose presence report is older than this is not counted.
PRESENCE_STALE_FACTOR = 3


class Room:
    """What one process knows of one event's room."""

    def __init__(self, event_id: int):
        self.event_id = event_id
        self.sockets: set = set()
        self.pending: list[dict] = []
        self.pending_retract: list[int] = []
        # Latest frame per key (stats, poll, summary, notice...): a burst of
        # pushes becomes one frame per tick.
        self.pending_frames: dict[str, dict] = {}
        # Frames for one account's sockets only: (user id, frame).
        self.pending_user: list[tuple[int, dict]] = []
        self.empty_since: float | None = None
        # Recently delivered danmaku, so joiners of this process can be caught up
        # without a database query when the gap is short.
        self.recent: deque[dict] = deque(maxlen=settings.CATCHUP_MAX_ITEMS)
        self.peer_counts: dict[str, tuple[int, float]] = {}
        self.online_sent: int | None = None
        # Display-cap budget (items), refilled continuously: see RoomHub._sample.
        self.allowance: float | None = None
        self.allowance_at = 0.0


class Held:
    """
    What the hub keeps back for a socket whose client is behind (bytes still
    queued in its transport): every control frame, in order, and only the
    newest danmaku frame. Older danmaku are dropped first, so a client that
    catches up sees what is flying now, not a backlog of stale comments.
    """

    __slots__ = ("control", "control_bytes", "danmaku")

    def __init__(self):
        self.control: list[bytes] = []
        self.control_bytes = 0
        self.danmaku: bytes | None = None


class RoomHub:
    def __init__(self, layer=None):
        self.layer = layer or get_channel_layer()
        self.loop = asyncio.get_running_loop()
        self.rooms: dict[int, Room] = {}
        self.channel: str | None = None
        self.process_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.tick_s = settings.ROOM_TICK_MS / 1000
        self.display_cap = settings.ROOM_DISPLAY_CAP_PER_SEC
        self.presence_s = settings.PRESENCE_INTERVAL_MS / 1000
        self.max_connections = settings.ROOM_MAX_CONNECTIONS
        self.connections = 0
        self._events: dict[str, tuple[object, float]] = {}
        self._snapshots: dict[int, tuple[dict, float]] = {}
        self._changes: dict[int, int] = {}
        self._reads: dict[tuple, asyncio.Task] = {}
        self._started = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        # A client this far behind gets no danmaku until it catches up; one
        # this far behind is closed (it is not reading at all).
        self.slow_skip_bytes = settings.ROOM_SLOW_CLIENT_BYTES
        self.slow_close_bytes = settings.ROOM_STALLED_CLIENT_BYTES
        # Sockets whose client is behind, with what is kept back for each.
        self.held: dict[object, Held] = {}
        self.frames_sent = 0
        self.frames_skipped_slow = 0
        self.slow_closed = 0
        self.items_dropped_by_cap = 0
        self.refused = 0

    # --- lifecycle -----------------------------------------------------------

    async def start(self):
        async with self._started:
            if self.channel is not None:
                return
            self.channel = await self.layer.new_channel(prefix="hub.")
            self._tasks = [
                asyncio.create_task(self._receive_loop(), name="hub-receive"),
                asyncio.create_task(self._tick_loop(), name="hub-tick"),
                asyncio.create_task(self._presence_loop(), name="hub-presence"),
            ]
            if settings.EMBEDDED_BEAT:
                from companion import beat

                self._tasks.append(asyncio.create_task(beat.run(), name="embedded-beat"))

    async def stop(self):
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        for event_id in list(self.rooms):
            await self._unsubscribe(event_id)
        self.channel = None

    # --- events and admission ----------------------------------------------------

    async def event_for(self, slug: str):
        """The event behind a room, read at most every EVENT_CACHE_S per process."""
        cached = self._events.get(slug)
        if cached is not None and time.monotonic() - cached[1] < EVENT_CACHE_S:
            return cached[0]
        return await self._shared(("event", slug), self._read_event, slug)

    async def _read_event(self, slug: str):
        now = time.monotonic()
        event = await database_sync_to_async(services.event_by_slug)(slug)
        if event is not None:
            self._events[slug] = (event, now)
        return event

    async def snapshot_for(self, event) -> dict:
        """
        The room state a joiner's ``hello`` carries (stats, moments, poll,
        summary), read at most every EVENT_CACHE_S per process and dropped as
        soon as the room publishes a change: a surge of joins costs one query
        per room, not one per socket.
        """
        cached = self._snapshots.get(event.pk)
        if cached is not None and time.monotonic() - cached[1] < EVENT_CACHE_S:
            return cached[0]
        return await self._shared(("snapshot", event.pk), self._read_snapshot, event)

    async def _read_snapshot(self, event) -> dict:
        now = time.monotonic()
        changes = self._changes.get(event.pk, 0)
        snapshot = await database_sync_to_async(services.room_snapshot)(event=event)
        if self._changes.get(event.pk, 0) == changes:  # no change arrived while it was read
            self._snapshots[event.pk] = (snapshot, now)
        return snapshot

    async def _shared(self, key, read, *args):
        """
        One read for every caller asking for ``key`` while it runs: the joiners
        of a surge wait for the same query instead of queueing one each on the
        database thread. A caller that goes away does not cancel it for the others.
        """
        task = self._reads.get(key)
        if task is None:
            task = self._reads[key] = self.loop.create_task(read(*args))
            task.add_done_callback(lambda _: self._reads.pop(key, None))
        return await asyncio.shield(task)

    def admit(self) -> bool:
        """Take a connection slot, unless this process is full."""
        if self.connections >= self.max_connections:
            self.refused += 1
            return False
        self.connections += 1
        return True

    def release(self) -> None:
        self.connections = max(0, self.connections - 1)

    def metrics(self) -> dict:
        """
        This process's figures (the counters count since the hub started). Safe
        to call from another thread: it reads ints and copies the rooms in one
        C-level step, never awaiting or changing anything.
        """
        rooms = list(self.rooms.items())
        batchers = list(batch._batchers.values())
        return {
            "process_id": self.process_id,
            "connections": self.connections,
            "max_connections": self.max_connections,
            "rooms": len(rooms),
            "room_sockets": {str(event_id): len(room.sockets) for event_id, room in rooms},
            "frames_sent": self.frames_sent,
            "frames_skipped_slow": self.frames_skipped_slow,
            "slow_closed": self.slow_closed,
            "items_dropped_by_cap": self.items_dropped_by_cap,
            "refused": self.refused,
            "tick_ms": round(self.tick_s * 1000),
            "display_cap": self.display_cap,
            # Database calls made by this loop's comment and vote batchers.
            "batches": {b.name: b.batches for b in batchers if b.loop is self.loop},
        }

    # --- membership -----------------------------------------------------------

    async def join(self, event_id: int, sock) -> Room:
        if self.channel is None:
            await self.start()
        room = self.rooms.get(event_id)
        if room is None:
            room = self.rooms[event_id] = Room(event_id)
            await self.layer.group_add(wire.room_group(event_id), self.channel)
        room.sockets.add(sock)
        room.empty_since = None
        return room

    def leave(self, event_id: int, sock) -> None:
        room = self.rooms.get(event_id)
        if room is None:
            return
        room.sockets.discard(sock)
        self.held.pop(sock, None)
        if not room.sockets:
            room.empty_since = time.monotonic()

    def local_count(self, event_id: int) -> int:
        room = self.rooms.get(event_id)
        return len(room.sockets) if room else 0

    def online(self, event_id: int) -> int:
        """Viewers of the room across all processes (ours counted live)."""
        room = self.rooms.get(event_id)
        if room is None:
            return 0
        horizon = time.monotonic() - self.presence_s * PRESENCE_STALE_FACTOR
        peers = sum(n for pid, (n, seen) in room.peer_counts.items() if pid != self.process_id and seen >= horizon)
        return peers + len(room.sockets)

    def recent_since(self, event_id: int, after_id: int) -> list[dict] | None:
        """Delivered danmaku newer than ``after_id``, or None if the buffer cannot tell."""
        room = self.rooms.get(event_id)
        if room is None:
            return None
        # Only an id this buffer holds proves it saw everything after it.
        recent = list(room.recent)
        for index, item in enumerate(recent):
            if item["id"] == after_id:
                return recent[index + 1 :]
        return None

    async def _unsubscribe(self, event_id: int):
        self.rooms.pop(event_id, None)
        try:
            await self.layer.group_discard(wire.room_group(event_id), self.channel)
        except Exception:
            logger.exception("hub: could not leave group of event %s", event_id)

    # --- inbound from the channel layer ----------------------------------------

    async def _receive_loop(self):
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub: channel layer receive failed; retrying")
                await asyncio.sleep(1)
                continue
            try:
                self.accept(message)
            except Exception:
                logger.exception("hub: bad layer message %r", message)

    def accept(self, message: dict) -> None:
        room = self.rooms.get(message.get("event"))
        if room is None:
            return
        kind = message["type"]
        if kind == wire.LAYER_DANMAKU:
            room.pending.append(message["item"])
        elif kind == wire.LAYER_RETRACT:
            room.pending_retract.extend(message["ids"])
            # A hidden comment is not replayed to a viewer who rejoins either.
            hidden = set(message["ids"])
            if any(item["id"] in hidden for item in room.recent):
                room.recent = deque((i for i in room.recent if i["id"] not in hidden), maxlen=room.recent.maxlen)
        elif kind == wire.LAYER_USER_FRAME:
            room.pending_user.append((message["user"], message["frame"]))
        elif kind == wire.LAYER_FRAME:
            room.pending_frames[message["key"]] = message["frame"]
            # The room changed (stats, poll, summary, ...): joiners need a fresh snapshot.
            self._snapshots.pop(room.event_id, None)
            self._changes[room.event_id] = self._changes.get(room.event_id, 0) + 1
        elif kind == wire.LAYER_PRESENCE:
            room.peer_counts[message["process"]] = (message["count"], time.monotonic())

    # --- outbound to sockets ------------------------------------------------------

    async def _tick_loop(self):
        # Ticks start every tick_s, however long a flush took (a flush to
        # thousands of sockets takes a good part of a tick); one that overran
        # is followed by a short pause, so reads and posts still get their turn.
        next_at = self.loop.time()
        while True:
            now = self.loop.time()
            next_at = max(next_at + self.tick_s, now + self.tick_s * MIN_PAUSE_FRACTION)
            await asyncio.sleep(next_at - now)
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub: flush failed")

    async def flush(self) -> None:
        now = time.monotonic()
        for event_id, room in list(self.rooms.items()):
            if not room.sockets:
                if room.empty_since is not None and now - room.empty_since > EMPTY_ROOM_GRACE_S:
                    await self._unsubscribe(event_id)
                room.pending.clear()
                room.pending_retract.clear()
                room.pending_frames.clear()
                room.pending_user.clear()
                continue
            frames, danmaku = self._frames_for(room, now)
            if room.pending_user:
                await self._send_user_frames(room)
            if frames or danmaku:
                await self.send_tick(room.sockets, frames, danmaku)
            elif self.held:
                # A quiet tick: what was kept back for clients that were behind
                # goes out as soon as they have caught up.
                behind = [sock for sock in self.held if sock in room.sockets]
                if behind:
                    await self.send_tick(behind, [], None)

    def _frames_for(self, room: Room, now: float) -> tuple[list[str], str | None]:
        """The tick's control frames (never dropped) and its danmaku frame (droppable)."""
        frames: list[str] = []
        danmaku = None
        # Retractions first, so a hidden comment never flies after its retraction.
        if room.pending_retract:
            ids = room.pending_retract
            room.pending_retract = []
            hidden = set(ids)
            room.pending = [item for item in room.pending if item["id"] not in hidden]
            frames.append(wire.encode(wire.retract_frame(ids)))
        for frame in room.pending_frames.values():
            frames.append(wire.encode(frame))
        room.pending_frames.clear()
        if room.pending:
            items = room.pending
            room.pending = []
            room.recent.extend(items)
            items = self._sample(room, items, now)
            if items:
                danmaku = wire.encode(wire.danmaku_frame(items))
        return frames, danmaku

    async def _send_user_frames(self, room: Room) -> None:
        """Frames addressed to one account go to that account's sockets in the room only."""
        pending, room.pending_user = room.pending_user, []
        for user_id, frame in pending:
            targets = [sock for sock in room.sockets if getattr(getattr(sock, "user", None), "pk", None) == user_id]
            if targets:
                await self.send_tick(targets, [wire.encode(frame)], None)

    def _sample(self, room: Room, items: list[dict], now: float) -> list[dict]:
        """
        Apply the per-room display cap: at most ``display_cap`` items a second,
        spread evenly over the ticks. The budget refills continuously and holds
        at most two ticks' worth, so a hot room shows a steady stream of a few
        comments per tick, not a second's worth in the first ticks and then
        nothing until the next second.
        """
        burst = max(1.0, 2 * self.display_cap * self.tick_s)
        if room.allowance is None:
            room.allowance = burst
        else:
            room.allowance = min(burst, room.allowance + (now - room.allowance_at) * self.display_cap)
        room.allowance_at = now
        budget = int(room.allowance)
        if len(items) > budget:
            self.items_dropped_by_cap += len(items) - budget
            items = random.sample(items, budget) if budget > 0 else []
            items.sort(key=lambda item: item["id"])
        room.allowance -= len(items)
        return items

    async def send_tick(self, sockets, control: list[str], danmaku: str | None) -> None:
        """
        Write a tick's frames to many sockets: the control frames (stats, poll,
        notices...; never dropped), then the danmaku frame. A socket with
        nothing queued gets them all in one ``send``: a poll's tallies or a
        stats push cost no extra system call per socket beside the danmaku.
        A socket whose client is behind is not written to until it has caught
        up: its control frames are kept back in order, and of its danmaku only
        the newest (``Held``).
        """
        payloads = [text.encode() for text in control]
        frames = [fastpath.text_frame(payload) for payload in payloads]
        danmaku_payload = danmaku.encode() if danmaku is not None else None
        danmaku_frame = fastpath.text_frame(danmaku_payload) if danmaku_payload is not None else None
        together = b"".join(frames) + (danmaku_frame or b"")
        count = len(frames) + (danmaku_frame is not None)
        texts = [*control, *([danmaku] if danmaku is not None else [])]
        sent = 0
        for index, sock in enumerate(list(sockets)):
            if index and index % WRITE_SLICE == 0:
                # Let posts, joins and layer messages in between slices of a big room.
                await asyncio.sleep(0)
            protocol = sock.protocol
            try:
                if protocol is None:  # not under Daphne: plain ASGI sends
                    for text in texts:
                        await sock.base_send({"type": "websocket.send", "text": text})
                    sent += count
                    continue
                if protocol.state != fastpath.STATE_OPEN:
                    continue
                transport = sock.transport
                if transport is not None:
                    if sock not in self.held and fastpath.send_idle(transport, together):
                        sent += count
                    else:
                        sent += self._send_behind(sock, protocol, transport, frames, danmaku_frame)
                    continue
                # TLS in Daphne or compression: autobahn's path, with byte limits.
                queued = fastpath.backlog(protocol)
                if queued > self.slow_close_bytes:
                    self.slow_closed += 1
                    protocol.sendClose(code=4408, reason="client too slow")
                    continue
                for frame, payload in zip(frames, payloads, strict=True):
                    fastpath.write(protocol, frame, payload)
                    sent += 1
                if danmaku_frame is not None:
                    if queued > self.slow_skip_bytes:
                        self.frames_skipped_slow += 1
                    else:
                        fastpath.write(protocol, danmaku_frame, danmaku_payload)
                        sent += 1
            except Exception:
                # A socket that failed mid-write is closing; its disconnect cleans up.
                logger.debug("hub: write failed", exc_info=True)
        self.frames_sent += sent

    def _send_behind(self, sock, protocol, transport, frames: list[bytes], danmaku_frame: bytes | None) -> int:
        """
        A tick for a socket that had bytes queued or frames kept back: send
        what was kept and this tick's frames at once if its transport has
        drained, else keep them back (dropping an older danmaku frame for the
        newer one). Returns the frames sent.
        """
        held = self.held.get(sock)
        if held is None:
            held = self.held[sock] = Held()
        held.control.extend(frames)
        held.control_bytes += sum(len(frame) for frame in frames)
        if danmaku_frame is not None:
            if held.danmaku is not None:
                self.frames_skipped_slow += 1  # the older one is dropped
            held.danmaku = danmaku_frame
        if fastpath.backlog(protocol) == 0:
            del self.held[sock]
            out = [*held.control, *([held.danmaku] if held.danmaku is not None else [])]
            data = b"".join(out)
            if not fastpath.send_idle(transport, data):  # pragma: no cover - drained means idle
                transport.write(data)
            return len(out)
        if held.control_bytes + fastpath.backlog(protocol) > self.slow_close_bytes:
            # Not reading at all: what it has not read would only grow.
            del self.held[sock]
            self.slow_closed += 1
            protocol.sendClose(code=4408, reason="client too slow")
        return 0

    # --- presence ------------------------------------------------------------------

    async def _presence_loop(self):
        while True:
            await asyncio.sleep(self.presence_s)
            try:
                await self.announce_presence()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub: presence announce failed")

    async def announce_presence(self) -> None:
        for event_id, room in list(self.rooms.items()):
            if room.sockets or room.online_sent:
                await self.layer.group_send(
                    wire.room_group(event_id),
                    {
                        "type": wire.LAYER_PRESENCE,
                        "event": event_id,
                        "process": self.process_id,
                        "count": len(room.sockets),
                    },
                )
            online = self.online(event_id)
            if room.sockets and online != room.online_sent:
                room.online_sent = online
                # Goes out with the next tick's frames (one send per socket).
                room.pending_frames["presence"] = wire.presence_frame(online)


_hub: RoomHub | None = None


def get_hub() -> RoomHub:
    """The hub of the running event loop (one per server process)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop or _hub.loop.is_closed():
        _hub = RoomHub()
    return _hub
