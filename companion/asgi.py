"""
ASGI entry point: ``companion.asgi:application``.

HTTP goes to Django; WebSockets go through the Origin and auth checks to the
live room's consumer.
"""
import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "companion.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.middleware import SocketAuthStack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402

if os.environ.get("ASGI_GC_TUNING", "1") != "0":
    # Thousands of long-lived sockets make the collector walk the same objects
    # over and over (30% of the event loop under load, docs/benchmarks.md):
    # freeze what start-up made and collect the young generation less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SocketAuthStack(URLRouter(websocket_urlpatterns)),
    }
)
