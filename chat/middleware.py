"""
Who is on the other end of a socket, and may they connect from where they are.

Browsers always send an Origin header on a WebSocket handshake. A browser
socket must come from one of our hosts (no cross-site socket hijacking) and is
authenticated by its session cookie. A client without an Origin is not a
browser: it authenticates with ``?token=<API token>`` and its cookies are
ignored, so a foreign page can never ride on a viewer's session.
"""
from urllib.parse import parse_qs, urlparse

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from channels.sessions import SessionMiddlewareStack
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host


def origin_allowed(origin: bytes) -> bool:
    try:
        parsed = urlparse(origin.decode("latin1"))
    except UnicodeDecodeError:
        return False
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        return False
    host = parsed.hostname
    if ":" in host:
        host = f"[{host}]"
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    if validate_host(host, allowed):
        return True
    return f"{parsed.scheme}://{parsed.netloc}" in settings.CSRF_TRUSTED_ORIGINS


@database_sync_to_async
def user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return None
    return token.user if token.user.is_active else None


class SocketAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                origin = value
        if origin is not None and not origin_allowed(origin):
            return await WebsocketDenier()(scope, receive, send)
        scope = dict(scope)
        token = parse_qs(scope.get("query_string", b"").decode("latin1")).get("token", [None])[0]
        if token:
            user = await user_for_token(token)
            if user is None:
                scope["auth_error"] = "invalid_token"
                user = AnonymousUser()
        elif origin is not None and scope.get("cookies", {}).get(settings.SESSION_COOKIE_NAME):
            user = await get_user(scope)
        else:
            user = AnonymousUser()
        scope["user"] = user
        return await self.inner(scope, receive, send)


def SocketAuthStack(inner):
    return SessionMiddlewareStack(SocketAuthMiddleware(inner))
