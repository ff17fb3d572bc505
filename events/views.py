"""The viewer's pages. Each hands its script one JSON config (``json_script``)."""
from django.conf import settings
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from chat import services as chat_services
from chat import wire

from .models import Event


def home(request):
    events = list(Event.objects.order_by("-started_at", "-scheduled_start", "-created_at"))
    return render(
        request,
        "events/home.html",
        {
            "live": [e for e in events if e.status == Event.Status.LIVE],
            "upcoming": [e for e in events if e.status == Event.Status.SCHEDULED],
            "ended": [e for e in events if e.status == Event.Status.ENDED],
        },
    )


def page_config(request, event: Event) -> dict:
    from summaries.services import summary_languages

    user = request.user
    return {
        "event": wire.event_payload(event),
        # "Catch me up" (static/js/summary.js): the languages offered, the first is the default.
        "summary_languages": summary_languages(event),
        "viewer": wire.viewer_payload(user, can_post=chat_services.can_post(user, event)),
        "ws_path": f"/ws/events/{event.slug}/",
        "urls": {
            "room": reverse("event-room", args=[event.slug]),
            "replay": reverse("event-replay", args=[event.slug]),
            "danmaku": reverse("api-danmaku", args=[event.slug]),
            "density": reverse("api-danmaku-density", args=[event.slug]),
            "summaries": reverse("api-summaries", args=[event.slug]),
            "login": reverse("login"),
            "guest": reverse("guest"),
        },
        "limits": {
            "max_length": settings.DANMAKU_MAX_LENGTH,
            "rate_count": settings.DANMAKU_RATE_COUNT,
            "rate_window": settings.DANMAKU_RATE_WINDOW,
        },
    }


def room(request, slug):
    event = get_object_or_404(Event, slug=slug)
    return render(request, "events/room.html", {"event": event, "config": page_config(request, event)})


def replay(request, slug):
    event = get_object_or_404(Event, slug=slug)
    return render(request, "events/replay.html", {"event": event, "config": page_config(request, event)})
