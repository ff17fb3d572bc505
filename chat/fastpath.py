"""
Writing one pre-built WebSocket frame to many Daphne sockets.

Through ASGI, every frame to every socket passes the session wrapper, Daphne's
reply checks, a UTF-8 encode of the same text, autobahn's framing and Twisted's
buffered write (which registers the socket with the selector and sends on the
next loop turn). Server-to-client frames are not masked, so one frame's bytes
serve every socket: the hub builds them once per tick (``text_frame``) and
``write`` sends them straight to each socket, handing Twisted only what the
kernel did not take. That is what asyncio's own transports do on write.

It also reads how many bytes each socket has queued but not yet sent, so a
slow client can be skipped for danmaku instead of buffering without bound.
That count only sees what the kernel refused, so each room socket's kernel
send buffer is bounded (``limit_send_buffer``): left to autotuning, it grows to
megabytes, and a slow reader fell minutes behind before the hub could tell.

Outside Daphne (tests with WebsocketCommunicator, other servers) no protocol
is found and the hub falls back to plain ASGI sends. A transport that is not
plain TCP (TLS terminated in Daphne) or a socket that negotiated compression
goes through autobahn's ``sendMessage``.
"""
import socket
import struct
from functools import partial

try:  # Daphne's protocol is autobahn's; its OPEN state is a class constant.
    from autobahn.websocket.protocol import WebSocketProtocol

    STATE_OPEN = WebSocketProtocol.STATE_OPEN
except ImportError:  # pragma: no cover
    STATE_OPEN = None

try:  # plain stream sockets: TCP, and Unix sockets (nginx in front on the same host)
    from twisted.internet.tcp import Server as PlainTCP
    from twisted.internet.unix import Server as PlainUnix

    PLAIN_TRANSPORTS = (PlainTCP, PlainUnix)
except ImportError:  # pragma: no cover
    PLAIN_TRANSPORTS = ()


def daphne_protocol(send):
    """The Daphne WebSocket protocol behind an ASGI ``send``, or None."""
    send = getattr(getattr(send, "__self__", None), "real_send", send)  # channels' session wrapper
    if isinstance(send, partial) and send.args:
        protocol = send.args[0]
        if hasattr(protocol, "sendMessage") and hasattr(protocol, "transport"):
            return protocol
    return None


def backlog(protocol) -> int:
    """Bytes queued in the protocol's transport, not yet taken by the kernel."""
    transport = protocol.transport
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except AttributeError:  # another transport: treat as never congested
        return 0


def limit_send_buffer(transport, size: int) -> bool:
    """
    Bound the kernel's send buffer of a plain stream ``transport`` to ``size``
    bytes (Linux doubles it for bookkeeping; 0 leaves autotuning on). Past it,
    bytes queue in Twisted, where ``backlog`` sees them.
    """
    sock = getattr(transport, "socket", None)
    if not size or sock is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
    except OSError:
        return False
    return True


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 section 5.2) carrying ``payload``."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def raw_transport(protocol):
    """The transport ``send_idle`` may write to (plain TCP or Unix socket, no TLS, no compression), or None."""
    transport = getattr(protocol, "transport", None)
    if transport.__class__ in PLAIN_TRANSPORTS and not transport.TLS and protocol._perMessageCompress is None:
        return transport
    return None


def send_idle(transport, frame: bytes) -> bool:
    """
    When nothing is queued on ``transport`` (from ``raw_transport``), send
    ``frame`` now and return True: the kernel takes it (one ``send``), and
    whatever it does not take is queued in Twisted's transport, exactly as if
    Twisted had written it. Return False, sending nothing, when bytes are
    queued ahead: the caller decides (skip a slow client, or ``write``).
    Order on the wire is kept because the direct send happens only on an
    empty queue. A socket that is being closed is not OPEN in autobahn, and
    callers check that first.
    """
    if transport.dataBuffer or transport._tempDataLen:
        return False
    try:
        sent = transport.socket.send(frame)
    except OSError:
        # Full (EAGAIN), or reset: Twisted queues it, or finds the reset on its
        # own write and closes the connection.
        sent = 0
    if sent != len(frame):
        transport.write(frame[sent:])
    return True


def write(protocol, frame: bytes, payload: bytes) -> None:
    """Send a frame built by ``text_frame(payload)`` on an open socket, whatever is queued."""
    transport = raw_transport(protocol)
    if transport is None:
        protocol.sendMessage(payload, False)
    elif transport.connected and not transport.disconnecting and send_idle(transport, frame):
        return
    else:
        transport.write(frame)
