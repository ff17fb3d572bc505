"""
ASGI app of the stock baseline (``loadtest.stock_asgi:application``): Django for
HTTP (the health check), the stock consumer at ``/ws/events/<slug>/`` behind the
same Origin and token checks as Companion (chat.middleware.SocketAuthStack).
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "companion.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from chat.middleware import SocketAuthStack  # noqa: E402
from loadtest.stock import StockRoomConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SocketAuthStack(URLRouter([path("ws/events/<slug:slug>/", StockRoomConsumer.as_asgi())])),
    }
)
