"""
Events over REST: list and detail for everyone; create, schedule, go live,
end, stats and key moments for producers (docs/producers.md). Views are thin:
they read the request, call a service and answer with the wire's payloads.
"""
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from chat import wire
from chat.api import int_param
from chat.services import MAX_MEDIA_MS
from companion.errors import ServiceError

from . import services
from .models import Event


def body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ServiceError("invalid_message", "Send a JSON object.")
    return request.data


def datetime_field(data: dict, name: str, *, required: bool):
    raw = data.get(name)
    if raw in (None, ""):
        if required:
            raise ServiceError(f"invalid_{name}", f"{name} is required (ISO 8601 with a time zone).", field=name)
        return None
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is None:
        raise ServiceError(f"invalid_{name}", f"{name} must be an ISO 8601 date-time, e.g. 2026-11-22T18:00:00Z.", field=name)
    return moment


def string_field(data: dict, name: str, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ServiceError(f"invalid_{name}", f"{name} must be a string.", field=name)
    return value


@extend_schema(
    methods=["GET"], operation_id="events_list", responses=OpenApiTypes.OBJECT, summary="List events, live first"
)
@extend_schema(
    methods=["POST"],
    operation_id="events_create",
    request=OpenApiTypes.OBJECT,
    responses={201: OpenApiTypes.OBJECT},
    summary="Create an event (producers): title, slug?, description?, scheduled_start?, video_url?, summary_languages?",
)
@api_view(["GET", "POST"])
@permission_classes([AllowAny])
def event_list(request):
    if request.method == "POST":
        data = body(request)
        languages = data.get("summary_languages")
        event = services.event_create(
            by=request.user,
            title=string_field(data, "title"),
            slug=string_field(data, "slug") or None,
            description=string_field(data, "description"),
            scheduled_start=datetime_field(data, "scheduled_start", required=False),
            video_url=string_field(data, "video_url"),
            summary_languages=languages,
        )
        return Response(wire.event_payload(event), status=201)
    events = Event.objects.order_by("status", "-scheduled_start", "-created_at")
    status = request.query_params.get("status")
    if status:
        events = events.filter(status=status)
    return Response({"results": [wire.event_payload(e) for e in events[:200]]})


@extend_schema(operation_id="events_retrieve", responses=OpenApiTypes.OBJECT, summary="One event")
@api_view(["GET"])
@permission_classes([AllowAny])
def event_detail(request, slug):
    return Response(wire.event_payload(get_object_or_404(Event, slug=slug)))


@extend_schema(
    operation_id="events_schedule",
    request=OpenApiTypes.OBJECT,
    responses=OpenApiTypes.OBJECT,
    summary="Set the planned start of an event that has not started (producers): {scheduled_start}",
)
@api_view(["POST"])
@permission_classes([AllowAny])
def event_schedule(request, slug):
    event = get_object_or_404(Event, slug=slug)
    start = datetime_field(body(request), "scheduled_start", required=True)
    return Response(wire.event_payload(services.event_schedule(event=event, by=request.user, scheduled_start=start)))


@extend_schema(
    operation_id="events_go_live",
    request=None,
    responses=OpenApiTypes.OBJECT,
    summary="Go live: the broadcast clock starts now (producers)",
)
@api_view(["POST"])
@permission_classes([AllowAny])
def event_go_live(request, slug):
    event = get_object_or_404(Event, slug=slug)
    return Response(wire.event_payload(services.event_go_live(event=event, by=request.user)))


@extend_schema(
    operation_id="events_end", request=None, responses=OpenApiTypes.OBJECT, summary="End a live event (producers)"
)
@api_view(["POST"])
@permission_classes([AllowAny])
def event_end(request, slug):
    event = get_object_or_404(Event, slug=slug)
    return Response(wire.event_payload(services.event_end(event=event, by=request.user)))


@extend_schema(
    methods=["GET"],
    operation_id="stats_retrieve",
    summary="The current stats document, or the one in effect at broadcast time ?at_ms= (replay); null before any push",
    parameters=[OpenApiParameter("at_ms", int)],
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(
    methods=["POST"],
    operation_id="stats_push",
    summary="Push stats (producers): scoreboard, standings, metrics; a section replaces, null removes, absent keeps",
    request=OpenApiTypes.OBJECT,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
@permission_classes([AllowAny])
def stats(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if request.method == "POST":
        snapshot = services.stats_push(event=event, by=request.user, data=request.data)
        return Response({"stats": wire.stats_payload(snapshot)}, status=201)
    if request.query_params.get("at_ms") not in (None, ""):
        at_ms = int_param(request, "at_ms", 0, low=0, high=MAX_MEDIA_MS)
        snapshot = services.stats_at(event=event, media_ms=at_ms)
    else:
        snapshot = services.stats_current(event=event)
    return Response({"stats": wire.stats_payload(snapshot) if snapshot else None})


@extend_schema(
    methods=["GET"],
    operation_id="moments_list",
    summary="Key moments with from_ms <= media_ms < to_ms, in media order (the replay's timeline)",
    parameters=[OpenApiParameter("from_ms", int), OpenApiParameter("to_ms", int)],
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(
    methods=["POST"],
    operation_id="moments_push",
    summary="Push a key moment (producers): kind, title, detail?, media_ms? (default: the live edge now)",
    request=OpenApiTypes.OBJECT,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
@permission_classes([AllowAny])
def moments(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if request.method == "POST":
        moment = services.moment_push(event=event, by=request.user, data=request.data)
        return Response(wire.moment_payload(moment), status=201)
    from_ms = int_param(request, "from_ms", 0, low=0, high=MAX_MEDIA_MS)
    to_ms = int_param(request, "to_ms", MAX_MEDIA_MS, low=0, high=MAX_MEDIA_MS)
    return Response(
        {"results": [wire.moment_payload(m) for m in services.moments_list(event=event, from_ms=from_ms, to_ms=to_ms)]}
    )
