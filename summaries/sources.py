"""
What a summary is written from: the read side of other apps, in one place.

``event_facts`` is the seam with the producers' side (stats and key moments,
issue #4). Until that lands it returns empty facts; when it does, only this
function changes. The chat reads below use visible comments only: hidden,
held and rejected comments never reach a prompt or a summary.
"""
from django.db.models import Count, ExpressionWrapper, F, IntegerField, Max, Value

from chat.models import Comment


def event_facts(event) -> dict:
    """
    The event's current facts, as plain JSON-able data::

        {
          "stats": None | {
              # A match: two or more sides with a score.
              "scoreboard": {"sides": [{"name": "Italy", "score": 2}, {"name": "France", "score": 1}],
                             "period": "2nd half", "clock": "67:12"},
              # A race or a contest: the order so far.
              "standings": [{"rank": 1, "name": "Goggia", "team": "ITA", "result": "1:32.45", "gap": ""},
                            {"rank": 2, "name": "Shiffrin", "team": "USA", "result": "1:32.57", "gap": "+0.12"}],
              # ...any other keys of the producers' stats document, passed along as data.
          },
          "moments": [  # key moments so far, in media order
              {"media_ms": 724000, "kind": "goal", "title": "Goal", "detail": "Rossi, header from a corner"},
          ],
        }

    Either of ``scoreboard`` and ``standings`` may be missing; every string is
    producer data (trusted, but still quoted as data in prompts).
    """
    from events.services import event_facts as producers_facts

    return producers_facts(event=event)


def last_comment_id(event) -> int:
    """Id of the event's newest visible comment (0 when none)."""
    return Comment.objects.filter(event=event, status=Comment.Status.VISIBLE).aggregate(m=Max("id"))["m"] or 0


def comments_since(event, *, after_id: int, limit: int) -> list[dict]:
    """The newest visible comments with an id above ``after_id``, newest first."""
    rows = (
        Comment.objects.filter(event=event, status=Comment.Status.VISIBLE, id__gt=after_id)
        .order_by("-id")
        .values("id", "media_ms", "text")[:limit]
    )
    return list(rows)


def count_since(event, *, after_id: int) -> int:
    return Comment.objects.filter(event=event, status=Comment.Status.VISIBLE, id__gt=after_id).count()


def volume(event, *, from_ms: int, bucket_ms: int = 60_000) -> list[dict]:
    """Visible comments per media-time bucket from ``from_ms`` on: ``[{"start_ms", "count"}]``."""
    rows = (
        Comment.objects.filter(event=event, status=Comment.Status.VISIBLE, media_ms__gte=from_ms)
        .annotate(bucket=ExpressionWrapper(F("media_ms") / Value(bucket_ms), output_field=IntegerField()))
        .values("bucket")
        .annotate(count=Count("id"))
        .order_by("bucket")
    )
    counts: dict[int, int] = {}
    for row in rows:
        start = int(row["bucket"]) * bucket_ms
        counts[start] = counts.get(start, 0) + row["count"]
    return [{"start_ms": start, "count": count} for start, count in sorted(counts.items())]
