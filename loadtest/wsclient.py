"""
A minimal WebSocket client as a raw asyncio Protocol, cheap enough for
thousands of sockets in one process on a small machine.

It does the HTTP upgrade itself (with an Origin header for browser-like
viewers, ``?token=`` for API clients), answers pings and closes, and parses
only frame headers. What happens to a complete text frame depends on the role:

- ``CountingClient`` counts frames, danmaku frames and comments in them (a
  C-level substring count over the payload, no JSON decoding);
- ``TrackedClient`` decodes every danmaku frame to see which comments reached
  its screen and when;
- ``PosterClient`` decodes only its ``ack`` and ``error`` frames;
- ``VoterClient`` is a poster that casts one vote (``poll.vote``) instead;
- ``SlowClient`` counts like a viewer, on counters of its own, and reads at
  most a set number of bytes a second (none at all: a stalled client).

Every client counts its ``stats`` frames and remembers the highest push
sequence number it saw in one (``stats_seq``, see ``stats_seq_of``), and counts
its ``poll`` frames and the ``closed`` ones among them (no JSON decoding).

Frames are recognised by their leading bytes: Companion encodes compactly
(``{"type":"danmaku",...``), stock Channels with spaces (``{"type": "danmaku"``);
both are understood.
"""
import asyncio
import base64
import hashlib
import json
import os
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Frame kinds, from the first bytes of a text frame.
K_OTHER, K_HELLO, K_DANMAKU, K_ACK, K_ERROR, K_PRESENCE, K_NOTICE, K_STATS, K_POLL = range(9)
_KIND_NAMES = (
    (b'"danmaku"', K_DANMAKU),
    (b'"ack"', K_ACK),
    (b'"hello"', K_HELLO),
    (b'"presence"', K_PRESENCE),
    (b'"stats"', K_STATS),
    (b'"error"', K_ERROR),
    (b'"notice"', K_NOTICE),
    (b'"poll"', K_POLL),
)
KIND_LABELS = {K_OTHER: "other", K_HELLO: "hello", K_DANMAKU: "danmaku", K_ACK: "ack",
               K_ERROR: "error", K_PRESENCE: "presence", K_NOTICE: "notice", K_STATS: "stats",
               K_POLL: "poll"}
# Every comment item carries exactly one author object; a string cannot contain
# this byte sequence unescaped, so counting it counts items.
AUTHOR_KEY = b'"author":'

# Client states.
CONNECTING, UPGRADING, OPEN, CLOSED = range(4)

MAX_HANDSHAKE_BYTES = 16384
# Bytes asked of the kernel per read (see WSClient.connection_made).
RECV_BYTES = 64 * 1024
# The tool's stats pushes carry their sequence number as a metric value
# ``lt-seq-<n>`` (runner.stats_document); found by substring, whatever the spacing.
STATS_SEQ_MARK = b"lt-seq-"
# A slow client reads at most this much per recv, so one read overshoots its
# allowance by little.
SLOW_RECV_BYTES = 4096
# A closed poll's status in a poll frame, as Companion encodes it (compactly):
# only the poll itself has a status key, and user text (the question, option
# labels) cannot hold this byte sequence unescaped.
POLL_CLOSED_MARK = b'"status":"closed"'


def stats_seq_of(buf, start: int, end: int) -> int | None:
    """The push sequence number in a stats frame ``buf[start:end]``, or None."""
    at = buf.find(STATS_SEQ_MARK, start, end)
    if at < 0:
        return None
    at += len(STATS_SEQ_MARK)
    stop = at
    while stop < end and 48 <= buf[stop] <= 57:
        stop += 1
    return int(bytes(buf[at:stop])) if stop > at else None


def frame_kind(buf, start: int) -> int:
    if buf.startswith(b'{"type":"', start):
        p = start + 8
    elif buf.startswith(b'{"type": "', start):
        p = start + 9
    else:
        return K_OTHER
    for name, kind in _KIND_NAMES:
        if buf.startswith(name, p):
            return kind
    return K_OTHER


def mask_payload(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked, unfragmented client frame."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = os.urandom(4)
    return header + key + mask_payload(payload, key)


class Counters:
    """Totals over every socket of one run phase (read at window edges)."""

    __slots__ = ("frames", "danmaku_frames", "items", "bytes", "hellos", "presence_frames", "other_frames")

    def __init__(self):
        self.frames = self.danmaku_frames = self.items = self.bytes = 0
        self.hellos = self.presence_frames = self.other_frames = 0

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


class WSClient(asyncio.Protocol):
    """Base client: handshake, frame headers, control frames."""

    role = "viewer"

    def __init__(self, ctx, *, path: str, host: str, origin: str | None):
        self.ctx = ctx
        self.path = path
        self.host = host
        self.origin = origin
        self.state = CONNECTING
        self.transport = None
        self.buf = bytearray()
        self.fragments: bytearray | None = None
        self.key = base64.b64encode(os.urandom(16))
        loop = asyncio.get_running_loop()
        # Resolves to None once the hello frame arrives, or to a failure reason.
        self.ready: asyncio.Future = loop.create_future()
        self.established_at: float | None = None
        self.closing = False  # we started the close
        self.close_reason: str | None = None
        # Where this client's frames are counted (a slow client has its own).
        self.counters: Counters = ctx.counters
        self.stats_frames = 0
        self.stats_seq: int | None = None  # the highest push sequence number seen
        self.poll_frames = 0
        self.poll_closed_frames = 0

    # --- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        # asyncio reads up to 256 KiB per recv into a fresh bytes object: above
        # glibc's initial mmap threshold (128 KiB), so every read was an mmap,
        # a page fault and an mremap until something freed a large block and
        # raised the threshold. That made the first variant of a run cost the
        # tool twice the CPU of later ones (and inflated its latencies).
        if hasattr(transport, "max_size"):
            transport.max_size = RECV_BYTES
        self.state = UPGRADING
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key.decode()}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.origin:
            lines.append(f"Origin: {self.origin}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin1"))

    def data_received(self, data):
        if self.state == OPEN:
            self.buf += data
            self._parse()
            return
        if self.state != UPGRADING:
            return
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HANDSHAKE_BYTES:
                self.fail("bad_handshake")
            return
        head = bytes(self.buf[:end]).decode("latin1")
        del self.buf[: end + 4]
        status_line, _, rest = head.partition("\r\n")
        parts = status_line.split(" ", 2)
        status = parts[1] if len(parts) > 1 else "?"
        if status != "101":
            self.fail(f"http_{status}")
            return
        expected = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
        headers = {}
        for line in rest.split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("sec-websocket-accept") != expected:
            self.fail("bad_accept")
            return
        self.state = OPEN
        if self.buf:
            self._parse()

    def connection_lost(self, exc):
        was_open = self.state == OPEN
        self.state = CLOSED
        reason = self.close_reason
        if reason is None:
            if exc is None:
                reason = "eof"
            elif isinstance(exc, ConnectionResetError):
                reason = "reset"
            else:
                reason = type(exc).__name__
            self.close_reason = reason
        if not self.ready.done():
            self.ready.set_result(reason)
        elif was_open and not self.closing:
            self.ctx.on_dropped(self, reason)

    # --- frames ------------------------------------------------------------------

    def _parse(self):
        buf = self.buf
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                head = 10
            if b1 & 0x80:  # servers never mask
                self.fail("protocol_masked_frame")
                return
            start = pos + head
            end = start + length
            if end > n:
                break
            opcode = b0 & 0x0F
            if opcode == 1 and b0 & 0x80 and self.fragments is None:
                self.on_text(buf, start, end)
            elif opcode <= 2:
                self._fragment(b0, opcode, buf, start, end)
            elif opcode == 9:
                self.transport.write(client_frame(0xA, bytes(buf[start:end])))
            elif opcode == 8:
                code = struct.unpack_from("!H", buf, start)[0] if length >= 2 else 1005
                self._closed_by_server(code)
                return
            pos = end
            if self.state != OPEN:
                return
        if pos:
            del buf[:pos]

    def _fragment(self, b0, opcode, buf, start, end):
        if opcode in (1, 2):
            self.fragments = bytearray(buf[start:end]) if opcode == 1 else None
            if opcode == 2:
                return
        elif self.fragments is not None:
            self.fragments += buf[start:end]
        if b0 & 0x80 and self.fragments is not None:
            whole, self.fragments = self.fragments, None
            self.on_text(whole, 0, len(whole))

    def _closed_by_server(self, code: int):
        self.close_reason = f"closed_{code}"
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(0x8, struct.pack("!H", code if code != 1005 else 1000)))
            self.transport.close()
        self.state = CLOSED

    def on_text(self, buf, start, end):
        counters = self.counters
        counters.frames += 1
        counters.bytes += end - start
        kind = frame_kind(buf, start)
        if kind == K_DANMAKU:
            counters.danmaku_frames += 1
            counters.items += buf.count(AUTHOR_KEY, start, end)
        elif kind == K_PRESENCE:
            counters.presence_frames += 1
        elif kind == K_HELLO:
            counters.hellos += 1
            self.on_hello()
        else:
            counters.other_frames += 1
            if kind == K_STATS:
                self.stats_frames += 1
                seq = stats_seq_of(buf, start, end)
                if seq is not None and (self.stats_seq is None or seq > self.stats_seq):
                    self.stats_seq = seq
            elif kind == K_POLL:
                self.poll_frames += 1
                if buf.find(POLL_CLOSED_MARK, start, end) >= 0:
                    self.poll_closed_frames += 1
            elif kind == K_ERROR:
                self.on_error(json.loads(bytes(buf[start:end])))
        return kind

    def on_hello(self):
        self.established_at = time.monotonic()
        if not self.ready.done():
            self.ready.set_result(None)

    def on_error(self, frame: dict):
        self.ctx.on_error_frame(self, frame)

    # --- actions ---------------------------------------------------------------------

    def fail(self, reason: str):
        self.close_reason = reason
        if not self.ready.done():
            self.ready.set_result(reason)
        if self.transport is not None:
            self.transport.abort()
        self.state = CLOSED

    def send_text(self, text: str) -> bool:
        if self.state != OPEN or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(client_frame(0x1, text.encode("utf-8")))
        return True

    def close(self):
        self.closing = True
        if self.transport is None:
            return
        if self.state == OPEN and not self.transport.is_closing():
            self.transport.write(client_frame(0x8, struct.pack("!H", 1000)))
        self.transport.close()
        self.state = CLOSED


class CountingClient(WSClient):
    role = "viewer"


class TrackedClient(WSClient):
    """Decodes every danmaku frame and reports which comments it showed, when."""

    role = "tracked"

    def __init__(self, ctx, **kwargs):
        super().__init__(ctx, **kwargs)
        self.seen: set[int] = set()

    def on_text(self, buf, start, end):
        kind = super().on_text(buf, start, end)
        if kind == K_DANMAKU:
            now = time.monotonic()
            frame = json.loads(bytes(buf[start:end]))
            self.ctx.on_tracked_items(self, frame.get("items", ()), now)
        return kind


class PosterClient(WSClient):
    """An API client (``?token=``) that posts comments and waits for their acks."""

    role = "poster"

    def on_text(self, buf, start, end):
        kind = frame_kind(buf, start)
        if kind == K_ACK:
            now = time.monotonic()
            counters = self.counters
            counters.frames += 1
            counters.bytes += end - start
            counters.other_frames += 1
            self.ctx.on_ack(self, json.loads(bytes(buf[start:end])), now)
            return kind
        return super().on_text(buf, start, end)


class VoterClient(PosterClient):
    """An API client (``?token=``) that casts one vote and waits for its ack; otherwise a viewer."""

    role = "voter"


class SlowClient(WSClient):
    """
    A viewer on a slow link: after its hello it reads at most ``read_bps``
    bytes a second (0: nothing, a stalled client) by pausing and resuming the
    transport's reading. The caller connects it like a client on a real
    network (small SO_RCVBUF, Ethernet-sized MSS: runner.Phase._connect), so
    what it does not read queues in the server, and calls ``refill`` on a
    timer and ``release`` to let it read freely again.
    """

    role = "slow"

    def __init__(self, ctx, *, read_bps: float, **kwargs):
        super().__init__(ctx, **kwargs)
        self.counters = Counters()
        self.read_bps = read_bps
        self.budget = 0.0  # bytes it may still read; negative after a read that overshot
        self.throttled = False
        self.paused = False
        self.bytes_read = 0

    def connection_made(self, transport):
        super().connection_made(transport)
        if hasattr(transport, "max_size"):
            transport.max_size = SLOW_RECV_BYTES

    def data_received(self, data):
        self.bytes_read += len(data)
        self.ctx.on_slow_bytes()
        if self.throttled:
            self.budget -= len(data)
        super().data_received(data)
        if self.throttled and self.budget <= 0:
            self._pause()

    def on_hello(self):
        super().on_hello()
        self.throttled = True
        self.budget = 0.0

    def refill(self, seconds: float) -> None:
        """Add ``seconds`` worth of allowance (at most a quarter second's) and read again if there is some."""
        if not self.throttled or self.state != OPEN:
            return
        self.budget = min(self.budget + self.read_bps * seconds, max(self.read_bps * 0.25, 1.0))
        if self.budget > 0:
            self._resume()

    def release(self) -> None:
        """Read as fast as possible from now on."""
        self.throttled = False
        self._resume()

    def _pause(self):
        if not self.paused and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
            self.paused = True

    def _resume(self):
        if self.paused and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        self.paused = False
