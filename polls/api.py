"""
Polls over REST (docs/producers.md). Producers prepare, launch and close
polls and read results at any time; everyone sees launched polls (results
as the poll's visibility allows) and signed-in accounts vote. Thin views.
"""
import csv
import io

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from companion.errors import ServiceError
from events.models import Event
from events.roles import is_producer, producer_check

from . import services


def body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ServiceError("invalid_message", "Send a JSON object.")
    return request.data


def with_my_votes(request, polls, payloads: list[dict]) -> list[dict]:
    """Each payload plus ``my_vote``: the option the requester chose (null: none, or anonymous)."""
    mine = services.votes_of(user=request.user, poll_ids=[p.pk for p in polls])
    return [{**payload, "my_vote": mine.get(payload["id"])} for payload in payloads]


def cell(text: str) -> str:
    """Producer text as a CSV cell a spreadsheet will not run as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@extend_schema(
    methods=["GET"],
    operation_id="polls_list",
    summary="The event's polls: producers get the queue and the past; others the launched polls in broadcast order",
    parameters=[OpenApiParameter("status", str, description="draft, queued, open or closed")],
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(
    methods=["POST"],
    operation_id="polls_create",
    summary="Prepare a poll (producers): question, options (2-6), duration_s, results_visibility, status?, position?",
    request=OpenApiTypes.OBJECT,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["GET", "POST"])
@permission_classes([AllowAny])
def event_polls(request, slug):
    event = get_object_or_404(Event, slug=slug)
    if request.method == "POST":
        poll = services.poll_create(event=event, by=request.user, data=body(request))
        return Response(services.poll_payload(poll, producer=True), status=201)
    producer = is_producer(request.user)
    polls = services.polls_for_event(event=event, producer=producer)
    status = request.query_params.get("status")
    if status:
        polls = [p for p in polls if p.status == status]
    payloads = services.poll_payloads(polls, producer=producer)
    return Response({"results": with_my_votes(request, polls, payloads)})


@extend_schema(
    methods=["GET"], operation_id="polls_retrieve", summary="One poll, with my_vote", responses=OpenApiTypes.OBJECT
)
@extend_schema(
    methods=["PATCH"],
    operation_id="polls_update",
    summary="Edit a poll that has not been launched (producers); options are replaced",
    request=OpenApiTypes.OBJECT,
    responses=OpenApiTypes.OBJECT,
)
@extend_schema(
    methods=["DELETE"], operation_id="polls_destroy", responses={204: None}, summary="Delete a poll that has not been launched (producers)"
)
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([AllowAny])
def poll_detail(request, poll_id):
    if request.method != "GET":
        producer_check(request.user)
    producer = is_producer(request.user)
    poll = services.poll_get(poll_id=poll_id, producer=producer)
    if request.method == "PATCH":
        poll = services.poll_update(poll=poll, by=request.user, data=body(request))
    elif request.method == "DELETE":
        services.poll_delete(poll=poll, by=request.user)
        return Response(status=204)
    return Response(with_my_votes(request, [poll], [services.poll_payload(poll, producer=producer)])[0])


@extend_schema(operation_id="polls_launch", request=None, responses=OpenApiTypes.OBJECT, summary="Open the poll now (producers)")
@api_view(["POST"])
@permission_classes([AllowAny])
def poll_launch(request, poll_id):
    producer_check(request.user)
    poll = services.poll_get(poll_id=poll_id, producer=True)
    poll = services.poll_launch(poll=poll, by=request.user)
    return Response(services.poll_payload(poll, producer=True))


@extend_schema(operation_id="polls_close", request=None, responses=OpenApiTypes.OBJECT, summary="Close the poll now (producers)")
@api_view(["POST"])
@permission_classes([AllowAny])
def poll_close(request, poll_id):
    producer_check(request.user)
    poll = services.poll_get(poll_id=poll_id, producer=True)
    poll = services.poll_close(poll=poll, by=request.user)
    return Response(services.poll_payload(poll, producer=True))


@extend_schema(
    operation_id="polls_vote",
    summary="Vote (signed-in accounts, once per poll): {option}",
    request=OpenApiTypes.OBJECT,
    responses={201: OpenApiTypes.OBJECT},
)
@api_view(["POST"])
@permission_classes([AllowAny])
def poll_vote(request, poll_id):
    data = body(request)
    _, option_id = services.poll_vote_parse({"poll": poll_id, "option": data.get("option")})
    vote = services.poll_vote(user=request.user, poll_id=poll_id, option_id=option_id)
    return Response({"id": vote.pk, "poll": poll_id, "option": option_id}, status=201)


@extend_schema(
    operation_id="polls_results",
    summary="Counts and shares; producers any time, others once the results are public",
    responses=OpenApiTypes.OBJECT,
)
@api_view(["GET"])
@permission_classes([AllowAny])
def poll_results(request, poll_id):
    producer = is_producer(request.user)
    poll = services.poll_get(poll_id=poll_id, producer=producer)
    return Response(services.poll_results(poll=poll, producer=producer))


@extend_schema(
    operation_id="polls_results_csv",
    summary="Results as CSV, one row per option (same access as the JSON results)",
    responses={(200, "text/csv"): OpenApiTypes.STR},
)
@api_view(["GET"])
@permission_classes([AllowAny])
def poll_results_csv(request, poll_id):
    producer = is_producer(request.user)
    poll = services.poll_get(poll_id=poll_id, producer=producer)
    results = services.poll_results(poll=poll, producer=producer)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["poll_id", "question", "status", "opens_at", "closes_at", "media_ms", "option_id", "option", "votes", "percent", "total"]
    )
    for option in results["options"]:
        writer.writerow(
            [
                results["id"], cell(results["question"]), results["status"], results["opens_at"] or "", results["closes_at"] or "",
                "" if results["media_ms"] is None else results["media_ms"],
                option["id"], cell(option["label"]), option["votes"], option["percent"], results["total"],
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="poll-{poll.pk}-results.csv"'
    return response
