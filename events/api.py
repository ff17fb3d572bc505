from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from chat import wire

from .models import Event


@extend_schema(operation_id="events_list", responses=OpenApiTypes.OBJECT, summary="List events, live first")
@api_view(["GET"])
@permission_classes([AllowAny])
def event_list(request):
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
