import os

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response

from companion.errors import ServiceError
from events.models import Event

from . import hub, services, wire

MAX_WINDOW_ITEMS = 5000


def int_param(request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServiceError("invalid_param", f"{name} must be an integer.", field=name) from None
    if not low <= value <= high:
        raise ServiceError("invalid_param", f"{name} must be between {low} and {high}.", field=name)
    return value


@extend_schema(
    methods=["GET"],
    summary="Replay window: visible comments with from_ms <= media_ms < to_ms, in media order",
    parameters=[
        OpenApiParameter("from_ms", int),
        OpenApiParameter("to_ms", int),
        OpenApiParameter("limit", int, description=f"At most {MAX_WINDOW_ITEMS}."),
    ],
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(
    methods=["POST"],
    summary="Post a comment, with the same rules as the socket's danmaku.post",
    request=OpenApiTypes.OBJECT,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
def danmaku(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if request.method == "POST":
        if not isinstance(request.data, dict):
            raise ServiceError("invalid_message", "Send a JSON object.")
        draft = services.danmaku_parse(request.data)
        comment = services.danmaku_post(event=event, author=request.user, draft=draft)
        return Response(wire.comment_payload(comment), status=201)
    from_ms = int_param(request, "from_ms", 0, low=0, high=services.MAX_MEDIA_MS)
    to_ms = int_param(request, "to_ms", services.MAX_MEDIA_MS, low=0, high=services.MAX_MEDIA_MS)
    limit = int_param(request, "limit", 1000, low=1, high=MAX_WINDOW_ITEMS)
    if to_ms < from_ms:
        raise ServiceError("invalid_param", "to_ms must not be before from_ms.", field="to_ms")
    comments = list(services.danmaku_window(event=event, from_ms=from_ms, to_ms=to_ms, limit=limit + 1))
    truncated = len(comments) > limit
    comments = comments[:limit]
    return Response(
        {
            "from_ms": from_ms,
            "to_ms": to_ms,
            "items": [wire.comment_payload(c) for c in comments],
            # When truncated, ask again from here (ids already seen may repeat).
            "next_from_ms": comments[-1].media_ms if truncated else None,
        }
    )


@extend_schema(
    summary="Comments per media-time bucket, for the replay's density graph",
    parameters=[OpenApiParameter("bucket_ms", int)],
    responses=OpenApiTypes.OBJECT,
)
@api_view(["GET"])
@permission_classes([AllowAny])
def danmaku_density(request, slug):
    event = get_object_or_404(Event, slug=slug)
    bucket_ms = int_param(request, "bucket_ms", 10_000, low=1000, high=3_600_000)
    return Response(
        {
            "bucket_ms": bucket_ms,
            "duration_ms": event.live_edge_ms(),
            "buckets": services.danmaku_density(event=event, bucket_ms=bucket_ms),
        }
    )


@extend_schema(
    summary="This server process's room hub counters (staff only; one process per request)",
    description=(
        "``hub`` is null until the process has served a room socket. Counters count since the hub "
        "started: frames_sent, frames_skipped_slow (danmaku not sent to a client that is behind), "
        "slow_closed (stalled clients closed with 4408), items_dropped_by_cap (comments sampled out "
        "by the display cap), refused (sockets told server_busy and closed with 4013), batches "
        "(database calls of the comment and vote batchers)."
    ),
    responses=OpenApiTypes.OBJECT,
)
@api_view(["GET"])
@permission_classes([IsAdminUser])
def metrics(request):
    # The hub belongs to the server's event loop; this view runs in a worker
    # thread, so it reads the hub there is and never creates one.
    current = hub._hub
    return Response(
        {
            "process": current.process_id if current else None,
            "pid": os.getpid(),
            "hub": current.metrics() if current else None,
        }
    )
