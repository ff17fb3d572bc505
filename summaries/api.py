from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from chat import wire
from chat.api import int_param
from companion.errors import ServiceError
from events.models import Event

from . import services


@extend_schema(
    methods=["GET"],
    operation_id="summaries_list",
    summary="The event's summaries, newest first (in one language with ?lang=)",
    parameters=[OpenApiParameter("lang", str), OpenApiParameter("limit", int, description="At most 200.")],
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(
    methods=["POST"],
    operation_id="summaries_request",
    summary="Ask for a summary now (producers): {\"lang\": \"en\"} or every language of the event",
    request=OpenApiTypes.OBJECT,
    responses={202: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
@permission_classes([AllowAny])
def summaries(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if request.method == "POST":
        if not request.user.is_authenticated:
            raise ServiceError("auth_required", "Sign in as a producer to ask for a summary.")
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ServiceError("invalid_message", "Send a JSON object.")
        lang = data.get("lang")
        if lang is not None and not isinstance(lang, str):
            raise ServiceError("invalid_lang", "lang is a language code such as en.", field="lang")
        queued = services.summary_request(event=event, user=request.user, lang=lang or None)
        return Response({"queued": queued["langs"], "window": queued["window"]}, status=202)
    lang = request.query_params.get("lang") or None
    limit = int_param(request, "limit", 20, low=1, high=200)
    return Response(
        {
            "languages": services.summary_languages(event),
            "lang": lang,
            # True while the provider is failing: the newest summary may be out of date.
            "stale": services.summaries_stale(),
            "results": [wire.summary_record(s) for s in services.summary_history(event=event, lang=lang, limit=limit)],
        }
    )
