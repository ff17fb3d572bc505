"""
The raw write path: one pre-built frame, sent straight to the kernel.

Frames are checked with an independent parser (the ``websockets`` library),
and ``write`` runs on a real Twisted TCP transport over a real socket pair, so
a partial send, a queue ahead and the fallback are the real thing. The
reactor is the only stand-in: it records which sockets asked to be written
later instead of running a loop.
"""
import json
import socket

import pytest
from twisted.internet.tcp import Server
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from chat import fastpath


def parse_frames(data: bytes) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames = []
    while True:
        at_eof = reader.at_eof()
        try:
            next(at_eof)
        except StopIteration as done:
            if done.value:
                return frames
        parser = Frame.parse(reader.read_exact, mask=False, max_size=None)
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        else:  # pragma: no cover - the parser wanted more bytes than were sent
            raise AssertionError("truncated frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_text_frame_is_a_valid_final_unmasked_text_frame(size):
    payload = b"a" * size
    [frame] = parse_frames(fastpath.text_frame(payload))
    assert frame.opcode is Opcode.TEXT and frame.fin and frame.data == payload


class RecordingReactor:
    """What Twisted's transport asks of a reactor, recorded instead of run."""

    def __init__(self):
        self.readers, self.writers = set(), set()

    def addReader(self, fd):
        self.readers.add(fd)

    def removeReader(self, fd):
        self.readers.discard(fd)

    def addWriter(self, fd):
        self.writers.add(fd)

    def removeWriter(self, fd):
        self.writers.discard(fd)


class Protocol:
    """The parts of autobahn's protocol that ``write`` reads, and its slow path."""

    _perMessageCompress = None

    def __init__(self):
        self.via_autobahn = []

    def sendMessage(self, payload, binary):
        self.via_autobahn.append(payload)


@pytest.fixture
def connection():
    server_side, client_side = socket.socketpair()
    reactor = RecordingReactor()
    protocol = Protocol()
    transport = Server(server_side, protocol, ("127.0.0.1", 1), None, 1, reactor)
    protocol.transport = transport
    client_side.settimeout(2)
    yield protocol, transport, reactor, client_side
    server_side.close()
    client_side.close()


def read_all(client_side, expected: int) -> bytes:
    data = b""
    while len(data) < expected:
        data += client_side.recv(1 << 20)
    return data


def payloads(count: int, size: int) -> list[bytes]:
    return [json.dumps({"n": n, "pad": "x" * size}).encode() for n in range(count)]


def test_an_idle_socket_gets_the_frame_now_without_the_reactor(connection):
    protocol, transport, reactor, client_side = connection
    payload = b'{"type":"danmaku","items":[]}'
    frame = fastpath.text_frame(payload)
    fastpath.write(protocol, frame, payload)
    assert reactor.writers == set() and fastpath.backlog(protocol) == 0
    assert [f.data for f in parse_frames(read_all(client_side, len(frame)))] == [payload]
    assert protocol.via_autobahn == []


def test_what_the_kernel_does_not_take_is_queued_in_order(connection):
    protocol, transport, reactor, client_side = connection
    transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sent = payloads(60, 3000)
    for payload in sent:
        fastpath.write(protocol, fastpath.text_frame(payload), payload)
    # The kernel took the first frames; the rest waits in Twisted's buffer,
    # which asked the reactor to say when the socket can take more.
    assert fastpath.backlog(protocol) > 0 and reactor.writers == {transport}
    # With bytes queued ahead, the hub's direct send declines (and sends nothing).
    queued = fastpath.backlog(protocol)
    assert fastpath.send_idle(transport, b"never sent") is False and fastpath.backlog(protocol) == queued
    expected = sum(len(fastpath.text_frame(p)) for p in sent)
    received = b""
    while len(received) < expected:
        received += client_side.recv(1 << 20)
        if fastpath.backlog(protocol):
            transport.doWrite()  # what the reactor does when the socket is writable
    assert [f.data for f in parse_frames(received)] == sent
    assert reactor.writers == set() and protocol.via_autobahn == []


def test_a_closed_peer_does_not_raise(connection):
    protocol, transport, reactor, client_side = connection
    client_side.close()
    payload = b'{"type":"stats"}'
    for _ in range(3):  # the first send may succeed into the void; later ones fail
        fastpath.write(protocol, fastpath.text_frame(payload), payload)


def test_compressed_or_tls_sockets_go_through_autobahn(connection):
    protocol, transport, reactor, client_side = connection
    payload = b'{"type":"stats"}'
    assert fastpath.raw_transport(protocol) is transport
    protocol._perMessageCompress = object()
    assert fastpath.raw_transport(protocol) is None
    fastpath.write(protocol, fastpath.text_frame(payload), payload)
    protocol._perMessageCompress = None
    transport.TLS = True
    assert fastpath.raw_transport(protocol) is None
    fastpath.write(protocol, fastpath.text_frame(payload), payload)
    assert protocol.via_autobahn == [payload, payload]
    client_side.setblocking(False)
    with pytest.raises(BlockingIOError):
        client_side.recv(100)


def kernel_absorbs(limit: int | None) -> int:
    """Bytes a TCP peer that never reads lets the kernel take before frames queue in Twisted."""
    listener = socket.create_server(("127.0.0.1", 0))
    client_side = socket.create_connection(listener.getsockname())
    server_side, _ = listener.accept()
    listener.close()
    server_side.setblocking(False)
    protocol = Protocol()
    transport = Server(server_side, protocol, ("127.0.0.1", 1), None, 1, RecordingReactor())
    protocol.transport = transport
    try:
        if limit is not None:
            assert fastpath.limit_send_buffer(transport, limit)
        frame = fastpath.text_frame(b"x" * 1600)  # a tick's danmaku at the display cap
        taken = 0
        while fastpath.backlog(protocol) == 0 and taken < 64 << 20:
            fastpath.write(protocol, frame, b"")
            taken += len(frame)
        return taken
    finally:
        server_side.close()
        client_side.close()


def test_a_bounded_send_buffer_lets_the_hub_see_a_stalled_reader_early():
    # Left to autotuning, the kernel takes megabytes for a reader that has
    # stopped (minutes of danmaku), all invisible to backlog() and so to the
    # hub's slow-client limits. Bounded, frames start queueing in Twisted soon.
    bounded = kernel_absorbs(32 * 1024)
    assert bounded < 512 * 1024
    assert kernel_absorbs(None) > 2 * bounded
    assert fastpath.limit_send_buffer(object(), 32 * 1024) is False  # not a TCP transport: left alone


def test_a_unix_socket_transport_takes_the_direct_path():
    # nginx in front reaches Daphne over a Unix socket (scripts/prod.sh).
    from twisted.internet.unix import Server as UnixServer

    server_side, client_side = socket.socketpair()
    protocol = Protocol()
    transport = UnixServer(server_side, protocol, None, None, 1, RecordingReactor())
    protocol.transport = transport
    try:
        assert fastpath.raw_transport(protocol) is transport
        assert fastpath.limit_send_buffer(transport, 32 * 1024)
        payload = b'{"type":"stats"}'
        fastpath.write(protocol, fastpath.text_frame(payload), payload)
        client_side.settimeout(2)
        assert [f.data for f in parse_frames(read_all(client_side, len(payload) + 2))] == [payload]
        assert protocol.via_autobahn == []
    finally:
        server_side.close()
        client_side.close()
