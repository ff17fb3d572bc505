"""The producers' frames (stats, moment, poll, event) and hello's moments: their exact keys."""
from types import SimpleNamespace

from django.utils import timezone

from chat import wire


def test_stats_frame_keys_and_prev_rank():
    snapshot = SimpleNamespace(
        pk=4, created_at=timezone.now(), media_ms=1200, previous_ranks=[2],
        document={"standings": [{"rank": 1, "name": "A", "team": None, "result": "1:51.8", "gap": None}], "metrics": []},
    )
    frame = wire.stats_frame(wire.stats_payload(snapshot))
    assert set(frame) == {"type", "stats"} and frame["type"] == "stats"
    assert set(frame["stats"]) == {"id", "updated_at", "media_ms", "standings", "metrics"}
    assert set(frame["stats"]["standings"][0]) == {"rank", "name", "team", "result", "gap", "prev_rank"}
    assert frame["stats"]["standings"][0]["prev_rank"] == 2


def test_moment_frame_keys():
    moment = SimpleNamespace(pk=1, media_ms=5, kind="goal", title="1-0", detail="", created_at=timezone.now())
    frame = wire.moment_frame(wire.moment_payload(moment))
    assert frame["type"] == "moment"
    assert set(frame["moment"]) == {"id", "media_ms", "kind", "title", "detail", "created_at"}


def poll(**fields):
    now = timezone.now()
    return SimpleNamespace(**{
        "pk": 9, "question": "Q?", "status": "open", "results_visibility": "live", "duration_s": 30,
        "opens_at": now, "closes_at": now, "media_ms": 100, "position": 1, "created_at": now, **fields,
    })


def test_poll_frame_keys():
    options = [SimpleNamespace(pk=1, label="a"), SimpleNamespace(pk=2, label="b")]
    frame = wire.poll_frame(wire.poll_payload(poll(), options=options, counts={2: 3}))
    assert frame["type"] == "poll"
    assert set(frame["poll"]) == {
        "id", "question", "options", "status", "total", "results_visibility", "results_hidden",
        "duration_s", "opens_at", "closes_at", "opens_at_ms", "closes_at_ms", "media_ms",
    }
    assert frame["poll"]["options"] == [{"id": 1, "label": "a", "votes": 0}, {"id": 2, "label": "b", "votes": 3}]
    assert frame["poll"]["total"] == 3
    producer = wire.poll_payload(poll(), options=options, producer=True)
    assert {"position", "created_at"} <= set(producer)


def test_hidden_results_carry_no_counts():
    options = [SimpleNamespace(pk=1, label="a")]
    payload = wire.poll_payload(poll(results_visibility="after_close"), options=options, counts={1: 5})
    assert (payload["total"], payload["options"][0]["votes"], payload["results_hidden"]) == (None, None, True)
    closed = wire.poll_payload(poll(results_visibility="after_close", status="closed"), options=options, counts={1: 5})
    assert (closed["total"], closed["results_hidden"]) == (5, False)


def test_event_frame_and_hello_moments():
    assert set(wire.event_frame({"slug": "x"})) == {"type", "event"}
    hello = wire.hello_frame(event={}, viewer={}, server_time_ms=0, online=0)
    assert hello["moments"] == [] and hello["stats"] is None and hello["poll"] is None
