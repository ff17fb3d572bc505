from django.urls import path

from .consumers import RoomConsumer

websocket_urlpatterns = [
    path("ws/events/<slug:slug>/", RoomConsumer.as_asgi()),
]
