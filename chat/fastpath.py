"""
Writing one pre-encoded frame to many Daphne sockets.

Through ASGI, every frame to every socket passes the session wrapper, Daphne's
reply checks and a UTF-8 encode of the same text. The hub instead encodes a
frame once and hands the bytes to each socket's WebSocket protocol directly.
It also reads how many bytes each socket has queued but not yet sent, so a
slow client can be skipped for danmaku instead of buffering without bound.

Outside Daphne (tests with WebsocketCommunicator, other servers) no protocol
is found and the hub falls back to plain ASGI sends.
"""
from functools import partial

try:  # Daphne's protocol is autobahn's; its OPEN state is a class constant.
    from autobahn.websocket.protocol import WebSocketProtocol

    STATE_OPEN = WebSocketProtocol.STATE_OPEN
except ImportError:  # pragma: no cover
    STATE_OPEN = None


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
