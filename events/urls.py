from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("events/<slug:slug>/", views.room, name="event-room"),
    path("events/<slug:slug>/replay/", views.replay, name="event-replay"),
    path("events/<slug:slug>/console/", views.console, name="event-console"),
    path("events/<slug:slug>/overlay/", views.overlay, name="event-overlay"),
]
