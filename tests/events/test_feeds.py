"""Recorded feeds: the file format, playback timing, and the shipped downhill final played through both targets."""
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from events.feeds import ApiTarget, FeedError, Outcome, ServiceTarget, feed_play, feed_read
from events.models import KeyMoment, StatsSnapshot
from polls.models import Poll

FEED = Path(__file__).resolve().parents[2] / "feeds" / "alpine-downhill-final.jsonl"


def write(tmp_path, *lines) -> Path:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(json.dumps(line) if not isinstance(line, str) else line for line in lines))
    return path


def test_read_keeps_the_header_and_sorts_by_offset(tmp_path):
    meta, lines = feed_read(write(tmp_path, {"feed": {"title": "T"}}, {"at_ms": 50, "moment": {}}, "", "# note", {"at_ms": 10, "event": "go_live"}))
    assert meta == {"title": "T"}
    assert [(line.at_ms, line.action) for line in lines] == [(10, "event"), (50, "moment")]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not JSON"),
        ([1], "not a JSON object"),
        ({"at_ms": -1, "stats": {}}, "at_ms"),
        ({"at_ms": 1.5, "stats": {}}, "at_ms"),
        ({"at_ms": 1, "stats": {}, "moment": {}}, "one action"),
        ({"at_ms": 1, "weather": {}}, "one action"),
        ({"at_ms": 1, "event": "pause"}, "event is one of"),
    ],
)
def test_read_names_the_first_bad_line(tmp_path, line, message):
    with pytest.raises(FeedError, match=f"line 2: .*{message}"):
        feed_read(write(tmp_path, {"at_ms": 0, "event": "go_live"}, line))


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, action):
        return lambda payload: self.calls.append((action, payload)) or Outcome(action != "event", "done")


def test_play_waits_for_each_offset_at_speed_and_scales_poll_durations(tmp_path):
    _, lines = feed_read(write(tmp_path, {"at_ms": 0, "stats": {}}, {"at_ms": 4000, "poll": {"duration_s": 60}},
                               {"at_ms": 10000, "event": "end"}))
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(round(seconds, 3))
        now[0] += seconds

    target = Recorder()
    assert feed_play(lines, target, speed=2, sleep=sleep, clock=lambda: now[0]) == (3, 1)
    assert sleeps == [2.0, 3.0]
    assert target.calls[1] == ("poll", {"duration_s": 30})


def test_play_can_start_part_way(tmp_path):
    _, lines = feed_read(write(tmp_path, {"at_ms": 0, "stats": {}}, {"at_ms": 5000, "stats": {"x": 1}}))
    target = Recorder()
    feed_play(lines, target, start_at_ms=5000, sleep=lambda s: None)
    assert target.calls == [("stats", {"x": 1})]


@pytest.mark.django_db
def test_the_shipped_feed_plays_cleanly_through_the_services(live_event, producer):
    """Every line of the downhill final is valid: the podium, two records, a skier out and two polls on cue."""
    meta, lines = feed_read(FEED)
    assert meta["racers"] == 30 and len(lines) > 150
    failures = []
    played, failed = feed_play(lines, ServiceTarget(event=live_event, user=producer), speed=1000, sleep=lambda s: None,
                               report=lambda line, outcome: outcome.ok or failures.append((line.number, outcome.summary)))
    assert (failed, failures) == (0, [])
    final = StatsSnapshot.objects.filter(event=live_event).order_by("-id").first().document
    assert [row["name"] for row in final["standings"][:3]] == ["Eirik Haugland", "Fabian Aebersold", "Giacomo Bertolini"]
    assert final["standings"][-1]["result"] == "DNF"
    kinds = list(KeyMoment.objects.filter(event=live_event).values_list("kind", flat=True))
    assert kinds.count("record") == 2 and kinds.count("medal") == 3 and "crash" in kinds
    polls = Poll.objects.filter(event=live_event).order_by("pk")
    assert [(p.question, p.results_visibility) for p in polls] == [
        ("Who takes gold?", "live"), ("Will anyone still beat Aebersold's 1:51.62?", "after_close")]
    # Played a thousand times faster, the first poll was still open at the second's cue, and gave way.
    assert [p.status for p in polls] == ["closed", "open"]


@pytest.mark.django_db
def test_the_api_target_posts_each_action_with_the_token(monkeypatch):
    calls = []

    def call(self, method, path, body=None):
        calls.append((method, path, body))
        if path.endswith("/launch/") and len(calls) == 2:
            return 409, {"code": "poll_already_open", "poll": 3}
        return 201, {"id": 9, "status": "live", "media_ms": 5}

    monkeypatch.setattr(ApiTarget, "call", call)
    target = ApiTarget(base_url="http://x/", slug="demo", token="k")
    assert target.poll({"question": "Q?", "options": ["a", "b"]}).ok
    assert [c[:2] for c in calls] == [
        ("POST", "/api/events/demo/polls/"), ("POST", "/api/polls/9/launch/"), ("POST", "/api/polls/3/close/"), ("POST", "/api/polls/9/launch/")]
    assert target.event("go_live").summary == "event live"
    assert calls[-1][1] == "/api/events/demo/go-live/"


@pytest.mark.django_db
def test_play_feed_command_plays_into_the_event_as_a_producer(tmp_path, live_event, producer, capsys):
    path = write(tmp_path, {"at_ms": 0, "moment": {"kind": "goal", "title": "1-0"}}, {"at_ms": 10, "stats": {"scoreboard": {"clock": "1'"}}})
    call_command("play_feed", str(path), slug="final", user="paula", speed=100)
    out = capsys.readouterr().out
    assert "2 lines, 0 failed" in out
    assert KeyMoment.objects.get(event=live_event).title == "1-0"


@pytest.mark.django_db
def test_play_feed_refuses_a_user_who_is_not_a_producer(tmp_path, live_event, viewer):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a producer"):
        call_command("play_feed", str(write(tmp_path, {"at_ms": 0, "event": "end"})), slug="final", user="ana")
