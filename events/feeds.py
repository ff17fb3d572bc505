"""
Recorded feeds: JSON lines that a producer's data feed would have sent, with
offsets, played back into an event (``manage.py play_feed``).

The first line may be a header, ``{"feed": {"title": ..., ...}}``. Every other
line is ``{"at_ms": <offset from the start>, "<action>": <payload>}`` with one
action:

- ``stats``: a stats push (events/stats.py), as ``POST /api/events/<slug>/stats/``;
- ``moment``: a key moment (pinned to the live edge when it plays);
- ``poll``: a poll created and launched at once (question, options, duration_s,
  results_visibility); its duration is divided by the playback speed;
- ``event``: ``"go_live"`` or ``"end"``.

Two targets play it: the REST API (``ApiTarget``: any server, any channel
layer, from a separate process) and the services directly (``ServiceTarget``).
"""
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ACTIONS = ("stats", "moment", "poll", "event")
EVENT_ACTIONS = ("go_live", "end")


@dataclass(frozen=True)
class FeedLine:
    number: int
    at_ms: int
    action: str
    payload: object


@dataclass(frozen=True)
class Outcome:
    ok: bool
    summary: str


class FeedError(ValueError):
    pass


def feed_read(path: str | Path) -> tuple[dict, list[FeedLine]]:
    """The header (or {}) and the lines in offset order; FeedError names the first bad line."""
    meta: dict = {}
    lines: list[FeedLine] = []
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            raw = raw.strip()
            if not raw or raw.startswith("#"):
                continue
            try:
                data = json.loads(raw)
            except ValueError as error:
                raise FeedError(f"line {number}: not JSON ({error})") from None
            if not isinstance(data, dict):
                raise FeedError(f"line {number}: not a JSON object")
            if "feed" in data and not lines and not meta:
                meta = data["feed"] if isinstance(data["feed"], dict) else {}
                continue
            at_ms = data.get("at_ms")
            if isinstance(at_ms, bool) or not isinstance(at_ms, int) or at_ms < 0:
                raise FeedError(f"line {number}: at_ms must be a whole number of milliseconds >= 0")
            actions = [key for key in data if key != "at_ms"]
            if len(actions) != 1 or actions[0] not in ACTIONS:
                raise FeedError(f"line {number}: one action of {', '.join(ACTIONS)} per line (found {actions})")
            action = actions[0]
            if action == "event" and data[action] not in EVENT_ACTIONS:
                raise FeedError(f"line {number}: event is one of {', '.join(EVENT_ACTIONS)}")
            lines.append(FeedLine(number, at_ms, action, data[action]))
    lines.sort(key=lambda line: (line.at_ms, line.number))
    return meta, lines


def scaled_duration(poll: dict, speed: float) -> dict:
    """A poll's duration at playback speed (at least the 5 seconds a poll may last)."""
    if isinstance(poll, dict) and isinstance(poll.get("duration_s"), int) and speed != 1:
        return {**poll, "duration_s": max(5, round(poll["duration_s"] / speed))}
    return poll


def feed_play(
    lines: list[FeedLine],
    target,
    *,
    speed: float = 1.0,
    start_at_ms: int = 0,
    report: Callable[[FeedLine, Outcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[int, int]:
    """
    Play the lines at ``speed`` times real time from ``start_at_ms``; a failed
    line is reported and skipped. Returns (played, failed).
    """
    started = clock()
    played = failed = 0
    for line in lines:
        if line.at_ms < start_at_ms:
            continue
        wait = started + (line.at_ms - start_at_ms) / 1000 / speed - clock()
        if wait > 0:
            sleep(wait)
        payload = scaled_duration(line.payload, speed) if line.action == "poll" else line.payload
        try:
            outcome = getattr(target, line.action)(payload)
        except Exception as error:  # a feed outlives one bad line
            outcome = Outcome(False, f"{type(error).__name__}: {error}")
        played += 1
        failed += not outcome.ok
        if report:
            report(line, outcome)
    return played, failed


# --- targets ------------------------------------------------------------------------


class ApiTarget:
    """Plays into the REST API of a running server with a producer's token."""

    def __init__(self, *, base_url: str, slug: str, token: str, timeout: float = 10.0):
        self.base = base_url.rstrip("/")
        self.slug = slug
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: object | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Token {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"{}")
            except ValueError:
                return error.code, {"code": "http_error", "message": error.reason}

    def answer(self, status: int, body: dict, done: str) -> Outcome:
        if status < 300:
            return Outcome(True, done)
        return Outcome(False, f"{status} {body.get('code')}: {body.get('message')}")

    def stats(self, payload) -> Outcome:
        status, body = self.call("POST", f"/api/events/{self.slug}/stats/", payload)
        return self.answer(status, body, "stats pushed")

    def moment(self, payload) -> Outcome:
        status, body = self.call("POST", f"/api/events/{self.slug}/moments/", payload)
        return self.answer(status, body, f"moment at {body.get('media_ms')} ms")

    def poll(self, payload) -> Outcome:
        status, body = self.call("POST", f"/api/events/{self.slug}/polls/", payload)
        if status >= 300:
            return self.answer(status, body, "")
        poll_id = body["id"]
        status, launched = self.call("POST", f"/api/polls/{poll_id}/launch/")
        if status == 409 and launched.get("code") == "poll_already_open" and launched.get("poll"):
            # The cue has come: the previous poll gives way (playback faster than its timer).
            self.call("POST", f"/api/polls/{launched['poll']}/close/")
            status, launched = self.call("POST", f"/api/polls/{poll_id}/launch/")
        return self.answer(status, launched, f"poll {poll_id} open for {payload.get('duration_s')} s")

    def event(self, action: str) -> Outcome:
        status, body = self.call("POST", f"/api/events/{self.slug}/{action.replace('_', '-')}/")
        return self.answer(status, body, f"event {body.get('status')}")


class ServiceTarget:
    """Plays through the services in this process (needs the server's database)."""

    def __init__(self, *, event, user):
        self.event = event
        self.user = user

    def _run(self, call, done: Callable) -> Outcome:
        from companion.errors import ServiceError

        try:
            return Outcome(True, done(call()))
        except ServiceError as error:
            return Outcome(False, f"{error.code}: {error.message}")

    def _fresh(self):
        self.event.refresh_from_db()
        return self.event

    def stats(self, payload) -> Outcome:
        from . import services

        return self._run(lambda: services.stats_push(event=self._fresh(), by=self.user, data=payload), lambda s: "stats pushed")

    def moment(self, payload) -> Outcome:
        from . import services

        return self._run(
            lambda: services.moment_push(event=self._fresh(), by=self.user, data=payload), lambda m: f"moment at {m.media_ms} ms"
        )

    def poll(self, payload) -> Outcome:
        from companion.errors import ServiceError
        from polls import services as polls

        def launch():
            poll = polls.poll_create(event=self._fresh(), by=self.user, data=payload)
            try:
                return polls.poll_launch(poll=poll, by=self.user)
            except ServiceError as error:
                if error.code != "poll_already_open" or "poll" not in error.details:
                    raise
                polls.poll_close(poll=polls.poll_get(poll_id=error.details["poll"], producer=True), by=self.user)
                return polls.poll_launch(poll=poll, by=self.user)

        return self._run(launch, lambda p: f"poll {p.pk} open for {p.duration_s} s")

    def event(self, action: str) -> Outcome:
        from . import services

        step = {"go_live": services.event_go_live, "end": services.event_end}[action]
        return self._run(lambda: step(event=self._fresh(), by=self.user), lambda e: f"event {e.status}")
