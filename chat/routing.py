from django.urls import path

from moderation.consumers import ModerationConsumer

from .consumers import RoomConsumer

websocket_urlpatterns = [
    path("ws/events/<slug:slug>/", RoomConsumer.as_asgi()),
    path("ws/moderate/<slug:slug>/", ModerationConsumer.as_asgi()),
]
