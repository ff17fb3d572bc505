"""The viewer's pages, the producer console and the on-air overlay. Each hands its script one JSON config (``json_script``)."""
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from chat import services as chat_services
from chat import wire
from polls import services as polls_services

from . import services, stats
from .models import Event
from .roles import is_producer


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
            # The panels' reads (static/js/panels/): launched polls with my_vote, and key moments.
            "polls": reverse("api-event-polls", args=[event.slug]),
            "moments": reverse("api-moments", args=[event.slug]),
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


def api_urls(event: Event) -> dict:
    """The producers' API of one event; ``{id}`` in a poll URL stands for the poll's id."""
    def poll(name: str) -> str:
        return reverse(name, args=[0]).replace("/0/", "/{id}/")

    return {
        "event": reverse("api-event-detail", args=[event.slug]),
        "events": reverse("api-event-list"),
        "schedule": reverse("api-event-schedule", args=[event.slug]),
        "go_live": reverse("api-event-go-live", args=[event.slug]),
        "end": reverse("api-event-end", args=[event.slug]),
        "stats": reverse("api-stats", args=[event.slug]),
        "moments": reverse("api-moments", args=[event.slug]),
        "polls": reverse("api-event-polls", args=[event.slug]),
        "poll": poll("api-poll-detail"),
        "poll_launch": poll("api-poll-launch"),
        "poll_close": poll("api-poll-close"),
        "poll_vote": poll("api-poll-vote"),
        "poll_results": poll("api-poll-results"),
        "poll_results_csv": poll("api-poll-results-csv"),
    }


def console(request, slug):
    """The producer console: producers and superusers only (others 403; anonymous to the login page)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_producer(request.user):
        raise PermissionDenied("Only producers can open the console.")
    event = get_object_or_404(Event, slug=slug)
    config = page_config(request, event)
    config["urls"].update(
        {
            "api": api_urls(event),
            "overlay": reverse("event-overlay", args=[event.slug]),
            "admin": reverse("admin:events_event_change", args=[event.pk]),
        }
    )
    config["csrf_token"] = get_token(request)
    config["producer"] = {
        "stats_limits": {
            "max_bytes": stats.MAX_BYTES,
            "max_string": stats.MAX_STRING,
            "max_sides": stats.MAX_SIDES,
            "max_rows": stats.MAX_ROWS,
            "max_metrics": stats.MAX_METRICS,
        },
        "poll_limits": {
            "options": [polls_services.MIN_OPTIONS, polls_services.MAX_OPTIONS],
            "duration_s": [polls_services.MIN_DURATION_S, polls_services.MAX_DURATION_S],
            "question": polls_services.MAX_QUESTION,
            "label": polls_services.MAX_LABEL,
        },
        "moment_kinds": list(services.MOMENT_KINDS),
    }
    return render(request, "events/console.html", {"event": event, "config": config})


@xframe_options_exempt
def overlay(request, slug):
    """
    The on-air overlay (transparent, 1920x1080) for an encoder's browser
    source. Public: it shows what every viewer sees, and encoders carry no
    session. ``?danmaku=1`` adds the flying comments; ``?poll=0`` hides the poll.
    """
    event = get_object_or_404(Event, slug=slug)
    config = page_config(request, event)
    config["overlay"] = {
        "poll": request.GET.get("poll", "1") != "0",
        "danmaku": request.GET.get("danmaku", "0") == "1",
        "width": 1920,
        "height": 1080,
    }
    return render(request, "events/overlay.html", {"event": event, "config": config})
