"""
One measured phase against one server (Companion or the stock baseline):

1. connect the posters and the tracked viewers (few), let the server settle,
   read its RSS;
2. with ``voters``: prepare a poll through the producer API (closing an open
   one left by an earlier run) and connect the voters; ramp the slow viewers
   (``slow_viewers``, reading at most ``slow_read_kbps``), then the counting
   viewers, at ``ramp`` connections/s, settle, read RSS again (the difference
   per connection is the memory per connection);
3. the window: post ``rate`` comments/s for ``duration`` s, round-robin over the
   posters, push a stats update ``stats_rate`` times a second through the
   producer API, and launch the poll, whose voters then vote once each, spread
   evenly over ``vote_spread`` s; frames, comments and server CPU are counted
   over exactly this window, and each server process's hub counters
   (``/api/metrics/``) are read just before and just after it;
4. drain: wait (bounded) for outstanding acks and for the tracked viewers to
   stop receiving; close the poll (its answer is the final tally, checked
   against the acknowledged votes) and wait (bounded) for the viewers to see
   it closed; let the slow viewers read freely until they fall quiet
   (catch-up: what the server kept for them arrives, and a connection it closed
   shows as closed), then close every socket.

The slow viewers' frames are counted apart from the others' (``delivery``
counts the fast clients: viewers, tracked viewers, posters and voters); the
report's ``slow`` block compares the two, its ``votes`` block checks the tally.

Every loop is bounded in count and in time; all traffic goes to 127.0.0.x.
"""
import asyncio
import gc
import http.client
import json
import random
import socket
import time
from collections import Counter
from dataclasses import dataclass

import psutil

from .server import ProcGroup, describe_oserror
from .stats import counter_dict, summary_ms
from .wsclient import OPEN, Counters, CountingClient, PosterClient, SlowClient, TrackedClient, VoterClient

FILLER = ("what a run", "go go go", "888888", "unbelievable", "that line", "so close", "clean", "wow")
COLORS = ("#ffffff", "#ffffff", "#ffffff", "#ffd166", "#06d6a0", "#ef476f")
# The hub's counters (chat/hub.py, RoomHub.metrics) the report sums over processes.
HUB_COUNTERS = ("frames_sent", "frames_skipped_slow", "slow_closed", "items_dropped_by_cap", "refused")
# A slow viewer's socket looks like one on a real network path: a small
# receive buffer (Linux doubles it), and an Ethernet-sized MSS. On loopback the
# MSS is about 64 KB, and the server's kernel sizes its send buffer from it: a
# reader that stalls then has about 4 MB absorbed by the server's kernel before
# anything queues in Daphne, where the hub looks. With these, about 170 KB.
SLOW_RCVBUF = 8 * 1024
SLOW_MSS = 1400
# The voters' poll. Its timer outlasts the window and the drain (polls.services
# bounds: 5 s to an hour); the tool closes it itself.
POLL_OPTIONS = ("Red", "Green", "Blue", "Yellow")
POLL_SLACK_S = 60
POLL_MAX_DURATION_S = 3600
# How long the viewers get to see the closed poll after the close.
POLL_CLOSED_WAIT_S = 3.0


def _busy(times) -> float:
    """CPU seconds the whole machine was busy (guest time is already in user)."""
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))


class APIError(RuntimeError):
    """A non-2xx answer from the server's API."""

    def __init__(self, method: str, path: str, status: int, code):
        super().__init__(f"{method} {path}: HTTP {status} {code}")
        self.status = status


def api_call(port: int, method: str, path: str, token: str, body: dict | None = None,
             timeout: float = 10.0) -> dict:
    """One API request as ``token`` (blocking: run it in a thread): its JSON answer; raises unless a 2xx."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if not 200 <= response.status < 300 or not isinstance(answer, dict):
        code = answer.get("code") if isinstance(answer, dict) else raw[:200]
        raise APIError(method, path, response.status, code)
    return answer


def fetch_metrics(port: int, token: str, timeout: float = 10.0) -> dict:
    """One server process's ``GET /api/metrics/`` (blocking: run it in a thread)."""
    return api_call(port, "GET", "/api/metrics/", token, timeout=timeout)


def stats_document(seq: int) -> dict:
    """The stats push number ``seq``: one metric whose value carries the sequence number."""
    return {"metrics": [{"label": "Load test push", "value": f"lt-seq-{seq}"}]}


def push_stats(port: int, slug: str, token: str, seq: int, timeout: float = 10.0) -> None:
    """``POST /api/events/<slug>/stats/`` as a producer (blocking: run it in a thread); raises unless a 2xx."""
    api_call(port, "POST", f"/api/events/{slug}/stats/", token, stats_document(seq), timeout=timeout)


def _mean(values) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 1) if values else None


def _add(into: dict, name: str, value: int) -> None:
    into[name] = into.get(name, 0) + value


def hub_block(ports: list[int], before: list[dict], after: list[dict]) -> dict:
    """
    The report's ``hub``: each counter's change over the window and its total
    at the end (since the process started: refusals happen mostly during the
    ramp), summed over processes, and each process's raw figures. A process
    that had no hub yet (``"hub": null``) counts as zeros.
    """
    window = {name: 0 for name in HUB_COUNTERS} | {"batches": {}}
    totals = {name: 0 for name in HUB_COUNTERS} | {"batches": {}, "connections": 0}
    processes = []
    for port, b, a in zip(ports, before, after, strict=True):
        hb, ha = b["hub"] or {}, a["hub"] or {}
        for name in HUB_COUNTERS:
            window[name] += ha.get(name, 0) - hb.get(name, 0)
            totals[name] += ha.get(name, 0)
        totals["connections"] += ha.get("connections", 0)
        for name, count in (ha.get("batches") or {}).items():
            _add(window["batches"], name, count - (hb.get("batches") or {}).get(name, 0))
            _add(totals["batches"], name, count)
        processes.append({"port": port, "pid": a["pid"], "process": a["process"],
                          "before": b["hub"], "after": a["hub"]})
    return {"window": window, "totals": totals, "processes": processes}


@dataclass
class Plan:
    slug: str = "demo"
    viewers: int = 100          # counting + tracked viewers
    tracked: int = 10
    posters: int = 4
    ramp: float = 200.0         # connections per second
    rate: float = 10.0          # comments per second (all posters together)
    duration: float = 10.0      # measurement window, seconds
    settle: float = 2.0         # after the ramp, before RSS and the window
    drain: float = 5.0          # at most this long after the window
    connect_timeout: float = 10.0
    hello_timeout: float = 15.0
    ramp_limit: float = 600.0   # the ramp gives up (rest "not_attempted") after this long
    source_addrs: int = 1       # >1: bind clients to 127.0.0.2.. for more client ports
    profile_ramp: bool = False  # profile the viewer ramp instead of the window
    slow_viewers: int = 0       # extra viewers that read at most slow_read_kbps
    slow_read_kbps: float = 4.0  # KB/s per slow viewer; 0: stalled, reads nothing until the catch-up
    stats_rate: float = 0.0     # stats pushes per second during the window
    voters: int = 0             # extra sockets (own accounts), one vote each in a poll launched with the window
    vote_spread: float | None = None  # seconds over which the votes are sent (None: the window's duration)


class Phase:
    def __init__(self, plan: Plan, *, label: str, ports: list[int], tokens: list[str], event: dict,
                 server_pids: list[int], redis_pid: int | None = None, profiler=None,
                 metrics_token: str | None = None, metrics_ports: list[int] | None = None,
                 producer_token: str | None = None, voter_tokens: list[str] | None = None):
        self.plan = plan
        # A staff token for every worker's /api/metrics/; None: no hub figures (the stock baseline).
        self.metrics_token = metrics_token
        # Where each server process answers /api/metrics/ (one port per process;
        # default the ports the clients use, which is wrong behind a proxy).
        self.metrics_ports = metrics_ports or ports
        # A producer's token for the stats pushes (plan.stats_rate) and the voters' poll.
        self.producer_token = producer_token
        # One account per voter (plan.voters).
        self.voter_tokens = voter_tokens or []
        self.label = label
        self.ports = ports
        self.tokens = tokens
        self.event = event
        self.server = ProcGroup(server_pids)
        self.redis = ProcGroup([redis_pid]) if redis_pid else None
        self.me = psutil.Process()
        self.profiler = profiler
        self.counters = Counters()
        self.clients: list = []
        self.posters: list[PosterClient] = []
        self.tracked: list[TrackedClient] = []
        self.viewers: list[CountingClient] = []
        self.slow: list[SlowClient] = []
        self.voters: list[VoterClient] = []
        self.last_slow_bytes = 0.0
        # The voters' poll (its payload from the API) and its votes, by ``ref`` (the voter's index).
        self.poll: dict | None = None
        self.poll_error: str | None = None
        self.poll_launch_s: float | None = None
        self.vote_sent_at: dict[int, float] = {}
        self.vote_option: dict[int, int] = {}
        self.votes_acked: dict[int, int] = {}   # ref -> vote id
        self.votes_refused: dict[int, str] = {}  # ref -> error code
        self.vote_refusals = Counter()
        self.vote_failures = Counter()
        self.vote_latency: list[float] = []
        # Stats pushes, by sequence number (1, 2, ...).
        self.stats_sent = 0
        self.stats_ok: list[int] = []
        self.stats_failures = Counter()
        self.stats_latency: list[float] = []
        self.last_stats_push = 0.0
        self.attempted = Counter()
        self.established = Counter()
        self.failed = Counter()
        self.dropped = Counter()
        self.error_frames = Counter()
        # Posts, by sequence number (also the ``ref`` sent).
        self.sent_at: dict[int, float] = {}
        self.acked: dict[int, int] = {}   # seq -> comment id
        self.refused: dict[int, str] = {}  # seq -> error code
        self.refusals = Counter()
        self.post_failures = Counter()
        self.text_seq: dict[str, int] = {}
        self.ack_latency: list[float] = []
        self.screen_latency: list[float] = []
        self.last_tracked_item = 0.0
        self.loop_lag: list[float] = []
        self.connect_latency: list[float] = []
        self.in_window = False
        self._n = 0

    # --- callbacks from the clients ------------------------------------------------

    def on_dropped(self, client, reason: str):
        self.dropped[f"{client.role}:{reason}"] += 1

    def on_error_frame(self, client, frame: dict):
        code = frame.get("code") or "?"
        self.error_frames[code] += 1
        ref = frame.get("ref")
        if client.role == "poster" and isinstance(ref, int) and ref in self.sent_at and ref not in self.refused:
            self.refused[ref] = code
            self.refusals[code] += 1
        elif (client.role == "voter" and isinstance(ref, int) and ref in self.vote_sent_at
              and ref not in self.votes_refused and ref not in self.votes_acked):
            self.votes_refused[ref] = code
            self.vote_refusals[code] += 1

    def on_ack(self, client, frame: dict, now: float):
        ref = frame.get("ref")
        if client.role == "voter":
            sent = self.vote_sent_at.get(ref) if isinstance(ref, int) else None
            if sent is not None and ref not in self.votes_acked and ref not in self.votes_refused:
                self.votes_acked[ref] = frame.get("id")
                self.vote_latency.append(now - sent)
            return
        sent = self.sent_at.get(ref) if isinstance(ref, int) else None
        if sent is None or ref in self.acked:
            return
        self.acked[ref] = frame.get("id")
        self.ack_latency.append(now - sent)

    def on_slow_bytes(self):
        self.last_slow_bytes = time.monotonic()

    def on_tracked_items(self, client, items, now: float):
        self.last_tracked_item = now
        for item in items:
            seq = self.text_seq.get(item.get("text"))
            if seq is None or seq in client.seen:
                continue
            client.seen.add(seq)
            self.screen_latency.append(now - self.sent_at[seq])

    # --- connections ------------------------------------------------------------------

    def _target(self, index: int):
        port = self.ports[index % len(self.ports)]
        local = None
        if self.plan.source_addrs > 1:
            local = (f"127.0.0.{2 + index % self.plan.source_addrs}", 0)
        return port, local

    async def _connect(self, factory, port: int, local, slow_link: bool):
        loop = asyncio.get_running_loop()
        if not slow_link:
            return await loop.create_connection(factory, "127.0.0.1", port, local_addr=local)
        # Both must be set before connecting: the handshake announces the window
        # (SO_RCVBUF also turns off the kernel's autotuning) and the MSS.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, SLOW_MSS)
            if local:
                sock.bind(local)
            await loop.sock_connect(sock, ("127.0.0.1", port))
            return await loop.create_connection(factory, sock=sock)
        except BaseException:
            sock.close()
            raise

    async def open_client(self, cls, index: int, token: str | None = None, *, slow_link: bool = False,
                          **client_kwargs):
        port, local = self._target(index)
        role = cls.role
        self.attempted[role] += 1
        t0 = time.monotonic()
        path = f"/ws/events/{self.plan.slug}/"
        if token:
            path += f"?token={token}"
        origin = None if token else f"http://127.0.0.1:{port}"
        host = f"127.0.0.1:{port}"
        try:
            _, client = await asyncio.wait_for(
                self._connect(lambda: cls(self, path=path, host=host, origin=origin, **client_kwargs),
                              port, local, slow_link),
                self.plan.connect_timeout,
            )
        except (asyncio.TimeoutError, TimeoutError):
            self.failed[f"{role}:connect_timeout"] += 1
            return None
        except OSError as exc:
            self.failed[f"{role}:{describe_oserror(exc)}"] += 1
            return None
        self.clients.append(client)
        try:
            reason = await asyncio.wait_for(asyncio.shield(client.ready), self.plan.hello_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            reason = "hello_timeout"
            client.fail(reason)
        if reason is not None:
            self.failed[f"{role}:{reason}"] += 1
            return None
        self.established[role] += 1
        self.connect_latency.append(client.established_at - t0)
        return client

    async def ramp(self, cls, count: int, rate: float, *, offset: int = 0, tokens=None,
                   **client_kwargs) -> tuple[list, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        tasks = []
        for i in range(count):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if loop.time() - t0 > self.plan.ramp_limit:
                self.failed[f"{cls.role}:not_attempted"] += count - i
                break
            token = tokens[i % len(tokens)] if tokens else None
            tasks.append(asyncio.ensure_future(self.open_client(cls, offset + i, token, **client_kwargs)))
        results = await asyncio.gather(*tasks)
        return [c for c in results if c is not None], loop.time() - t0

    # --- posting --------------------------------------------------------------------

    def media_ms(self) -> int:
        started = self.event.get("started_at_ms")
        if not started:
            return 1000
        return max(0, int(time.time() * 1000) - started - 2000)

    async def post_loop(self):
        plan = self.plan
        loop = asyncio.get_running_loop()
        total = int(plan.rate * plan.duration)
        if total <= 0 or not self.posters:
            await asyncio.sleep(plan.duration)
            return
        rng = random.Random(7)
        t0 = loop.time()
        who = 0
        for seq in range(total):
            delay = t0 + seq / plan.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            poster = None
            for _ in range(len(self.posters)):
                candidate = self.posters[who % len(self.posters)]
                who += 1
                if candidate.state == OPEN:
                    poster = candidate
                    break
            if poster is None:
                self.post_failures["no_open_poster"] += total - seq
                break
            text = f"lt{seq} {rng.choice(FILLER)}"
            message = json.dumps({"type": "danmaku.post", "ref": seq, "text": text,
                                  "color": rng.choice(COLORS), "media_ms": self.media_ms()})
            if poster.send_text(message):
                self.sent_at[seq] = time.monotonic()
                self.text_seq[text] = seq
            else:
                self.post_failures["poster_closed"] += 1
        rest = t0 + plan.duration - loop.time()
        if rest > 0:
            await asyncio.sleep(rest)

    async def stats_loop(self):
        """
        Push ``stats_rate`` stats updates a second for the window, one at a
        time (a push that takes long delays the next: they never pile up), on
        a thread each so the loop keeps reading.
        """
        plan = self.plan
        total = int(plan.stats_rate * plan.duration)
        if total <= 0 or not self.producer_token:
            return
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i in range(total):
            delay = t0 + i / plan.stats_rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            seq = i + 1
            port = self.ports[i % len(self.ports)]
            self.stats_sent += 1
            started = time.monotonic()
            try:
                await asyncio.to_thread(push_stats, port, plan.slug, self.producer_token, seq)
            except Exception as exc:  # counted, never fatal
                # "HTTP 403" for an answer, the exception's name for a failed request.
                reason = f"HTTP {exc.status}" if isinstance(exc, APIError) else type(exc).__name__
                self.stats_failures[reason] += 1
                continue
            self.last_stats_push = time.monotonic()
            self.stats_latency.append(self.last_stats_push - started)
            self.stats_ok.append(seq)

    # --- votes ----------------------------------------------------------------------

    async def _api(self, method: str, path: str, body: dict | None = None) -> dict:
        return await asyncio.to_thread(api_call, self.ports[0], method, path, self.producer_token, body)

    async def poll_prepare(self) -> None:
        """Close the event's open poll (an earlier run's: one open poll per event), then prepare a fresh one."""
        plan = self.plan
        try:
            listed = await self._api("GET", f"/api/events/{plan.slug}/polls/?status=open")
            for stale in listed.get("results", []):
                await self._api("POST", f"/api/polls/{stale['id']}/close/")
            duration = min(POLL_MAX_DURATION_S, int(plan.duration + plan.drain + POLL_SLACK_S))
            self.poll = await self._api("POST", f"/api/events/{plan.slug}/polls/", {
                "question": f"Load test {self.label}: pick one", "options": list(POLL_OPTIONS),
                "duration_s": duration, "results_visibility": "live",
            })
        except Exception as exc:  # reported in the votes block, never fatal
            self.poll = None
            self.poll_error = f"prepare: {type(exc).__name__}: {exc}"[:500]

    async def vote_loop(self):
        """
        Launch the poll, then have each voter vote once, the votes spread evenly
        over ``vote_spread`` s, each option drawn from a fixed-seed generator.
        """
        plan = self.plan
        if self.poll is None or not self.voters:
            return
        started = time.monotonic()
        try:
            self.poll = await self._api("POST", f"/api/polls/{self.poll['id']}/launch/")
        except Exception as exc:
            self.poll_error = f"launch: {type(exc).__name__}: {exc}"[:500]
            return
        self.poll_launch_s = time.monotonic() - started
        poll_id = self.poll["id"]
        options = [o["id"] for o in self.poll["options"]]
        spread = plan.duration if plan.vote_spread is None else plan.vote_spread
        rng = random.Random(11)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for ref, voter in enumerate(self.voters):
            delay = t0 + ref * spread / len(self.voters) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            option = rng.choice(options)
            message = json.dumps({"type": "poll.vote", "ref": ref, "poll": poll_id, "option": option},
                                 separators=(",", ":"))
            if voter.send_text(message):
                self.vote_sent_at[ref] = time.monotonic()
                self.vote_option[ref] = option
            else:
                self.vote_failures["voter_closed"] += 1

    async def poll_finish(self, viewers: list, base: dict) -> dict | None:
        """Close the poll (its answer carries the final counts) and wait, bounded, for ``viewers`` to see it closed."""
        if self.poll is None or self.poll.get("status") != "open":
            return None
        try:
            closed = await self._api("POST", f"/api/polls/{self.poll['id']}/close/")
        except Exception as exc:
            self.poll_error = f"close: {type(exc).__name__}: {exc}"[:500]
            return None
        deadline = time.monotonic() + POLL_CLOSED_WAIT_S
        while time.monotonic() < deadline:
            if all(c.poll_closed_frames > base[id(c)][1] for c in viewers if c.state == OPEN):
                break
            await asyncio.sleep(0.05)
        return closed

    def votes_report(self, closed: dict | None, viewers: list, base: dict) -> dict:
        """The report's ``votes`` block (see docs/benchmarks.md, "The load tool")."""
        plan = self.plan
        sent = len(self.vote_sent_at)
        expected = Counter(self.vote_option[ref] for ref in self.votes_acked)
        options = [o["id"] for o in (self.poll or {}).get("options", [])]
        tally = {str(o["id"]): o["votes"] for o in closed["options"]} if closed else None
        check = {
            "expected": {str(o): expected.get(o, 0) for o in options},
            "tally": tally,
            "total": closed["total"] if closed else None,
            "match": bool(closed) and tally == {str(o): expected.get(o, 0) for o in options}
            and closed["total"] == len(self.votes_acked),
        }
        open_ = [c for c in viewers if c.state == OPEN]
        frames = [c.poll_frames - base[id(c)][0] for c in open_]
        return {
            "planned": plan.voters,
            "voters_connected": len(self.voters),
            "poll": self.poll["id"] if self.poll else None,
            "error": self.poll_error,
            "launch_ms": round(self.poll_launch_s * 1000, 1) if self.poll_launch_s is not None else None,
            "spread_s": plan.duration if plan.vote_spread is None else plan.vote_spread,
            "sent": sent,
            "acked": len(self.votes_acked),
            "refused": len(self.votes_refused),
            "refused_by_code": counter_dict(self.vote_refusals),
            "unresolved": sent - len(self.votes_acked) - len(self.votes_refused),
            "not_sent": plan.voters - sent,
            "failures": counter_dict(self.vote_failures),
            "ack_latency_ms": summary_ms(self.vote_latency),
            "tally_check": check,
            "poll_frames": {
                "note": "per viewer (counting and tracked, open at the end) from the window's start to the "
                        "closed poll; tallies are coalesced, a few a second",
                "viewers": len(open_),
                "mean": _mean(frames),
                "min": min(frames) if frames else None,
                "saw_closed": sum(1 for c in open_ if c.poll_closed_frames > base[id(c)][1]),
            },
        }

    async def slow_reader(self, stop: asyncio.Event):
        """Every 0.1 s, give each slow viewer its reading allowance."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        for _ in range(10_000_000):
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
                return
            except (asyncio.TimeoutError, TimeoutError):
                pass
            now = loop.time()
            for client in self.slow:
                client.refill(now - last)
            last = now

    async def catch_up(self) -> float:
        """Let the slow viewers read freely until none has read anything for 0.5 s (bounded); its length."""
        if not self.slow:
            return 0.0
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        self.last_slow_bytes = time.monotonic()
        for client in self.slow:
            client.release()
        deadline = t0 + max(5.0, self.plan.drain)
        while loop.time() < deadline and time.monotonic() - self.last_slow_bytes < 0.5:
            await asyncio.sleep(0.1)
        return loop.time() - t0

    async def lag_probe(self, stop: asyncio.Event):
        """How late the tool's own event loop wakes up: if high, the client is the bottleneck."""
        loop = asyncio.get_running_loop()
        for _ in range(100_000):
            if stop.is_set():
                return
            t = loop.time()
            await asyncio.sleep(0.05)
            self.loop_lag.append(max(0.0, loop.time() - t - 0.05))

    async def drain(self):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.plan.drain
        while loop.time() < deadline:
            outstanding = [s for s in self.sent_at if s not in self.acked and s not in self.refused]
            posters_open = any(p.state == OPEN for p in self.posters)
            votes_out = [r for r in self.vote_sent_at if r not in self.votes_acked and r not in self.votes_refused]
            voters_open = any(v.state == OPEN for v in self.voters)
            # 1 s after the last comment a tracked viewer saw, and after the last stats push.
            now = time.monotonic()
            quiet = now - self.last_tracked_item > 1.0 and now - self.last_stats_push > 1.0
            if (not outstanding or not posters_open) and (not votes_out or not voters_open) and quiet:
                return
            await asyncio.sleep(0.1)

    # --- the server's own counters ---------------------------------------------------

    async def hub_metrics(self) -> list[dict] | str:
        """Every worker's /api/metrics/, fetched side by side; or what went wrong."""
        results = await asyncio.gather(
            *(asyncio.to_thread(fetch_metrics, port, self.metrics_token) for port in self.metrics_ports),
            return_exceptions=True,
        )
        for port, result in zip(self.metrics_ports, results):
            if isinstance(result, Exception):
                return f"port {port}: {type(result).__name__}: {result}"[:500]
        return results

    def hub_report(self, before, after) -> dict | None:
        if self.metrics_token is None:
            return None
        for fetched in (before, after):
            if isinstance(fetched, str):
                return {"error": fetched}
        try:
            block = hub_block(self.metrics_ports, before, after)
        except Exception as exc:  # an unexpected body: reported, never fatal
            return {"error": f"{type(exc).__name__}: {exc}"[:500]}
        measured = {p.pid for p in self.server.procs}
        strangers = [p["pid"] for p in block["processes"] if measured and p["pid"] not in measured]
        if strangers or len({p["pid"] for p in block["processes"]}) < len(block["processes"]):
            block["warning"] = (f"metrics came from pids {[p['pid'] for p in block['processes']]}, measured "
                                f"servers are {sorted(measured)}: a proxy in front? (give every --server-pid)")
        return block

    # --- slow viewers and stats pushes -------------------------------------------------

    def _stats_figures(self, clients, last_seq: int | None) -> dict:
        """Stats frames and whether the last push arrived, over the clients still open."""
        open_ = [c for c in clients if c.state == OPEN]
        frames = [c.stats_frames for c in open_]
        return {
            "stats_frames_mean": _mean(frames) if self.stats_sent else None,
            "stats_frames_min": min(frames) if frames and self.stats_sent else None,
            "saw_last_stats": sum(1 for c in open_ if c.stats_seq is not None and c.stats_seq >= last_seq)
            if last_seq is not None else None,
        }

    def slow_report(self, *, fast_counts: tuple[int, int], slow_base: dict, at_drain_end: dict,
                    catch_up_s: float) -> dict:
        """The report's ``slow`` block (see docs/benchmarks.md, "The load tool")."""
        plan = self.plan
        last_seq = max(self.stats_ok) if self.stats_ok else None
        # Every client counted on the shared counters: viewers, tracked viewers, posters and voters.
        fast = self.viewers + self.tracked + self.posters + self.voters
        fast_danmaku, fast_items = fast_counts
        closed = Counter(c.close_reason or "?" for c in self.slow if c.state != OPEN)
        slow_danmaku = [c.counters.danmaku_frames - slow_base[id(c)][0] for c in self.slow]
        slow_items = [c.counters.items - slow_base[id(c)][1] for c in self.slow]
        return {
            "config": {"slow_viewers": plan.slow_viewers, "read_kbps": plan.slow_read_kbps,
                       "rcvbuf_bytes": SLOW_RCVBUF, "mss": SLOW_MSS, "stats_rate": plan.stats_rate},
            "note": "fast: viewers, tracked viewers, posters and voters; per client, from the window's start to the "
                    "end of the catch-up (the slow viewers then read freely); stats figures over clients still "
                    "open; saw_last_stats: clients that saw the highest acknowledged push or a later one",
            "stats_pushes": {
                "sent": self.stats_sent,
                "ok": len(self.stats_ok),
                "last_seq": last_seq,
                "failed_by_reason": counter_dict(self.stats_failures),
                "latency_ms": summary_ms(self.stats_latency),
            } if self.stats_sent else None,
            "fast": {
                "clients": len(fast),
                "open": self.open_count(fast),
                **self._stats_figures(fast, last_seq),
                "danmaku_frames_mean": round(fast_danmaku / len(fast), 1) if fast else None,
                "comments_mean": round(fast_items / len(fast), 1) if fast else None,
            },
            "slow": {
                "clients": len(self.slow),
                "open": self.open_count(self.slow),
                "closed": sum(closed.values()),
                "closed_by_reason": counter_dict(closed),
                **self._stats_figures(self.slow, last_seq),
                "danmaku_frames_mean": _mean(slow_danmaku),
                "comments_mean": _mean(slow_items),
                "bytes_read_mean": _mean(c.bytes_read for c in self.slow),
                "at_drain_end": at_drain_end,
            },
            "catch_up_s": round(catch_up_s, 2),
        }

    def _slow_snapshot(self, slow_base: dict, last_seq: int | None) -> dict:
        """The slow viewers at the end of the drain, still throttled."""
        return {
            "open": self.open_count(self.slow),
            **self._stats_figures(self.slow, last_seq),
            "danmaku_frames_mean": _mean(c.counters.danmaku_frames - slow_base[id(c)][0] for c in self.slow),
            "comments_mean": _mean(c.counters.items - slow_base[id(c)][1] for c in self.slow),
        }

    # --- the phase ------------------------------------------------------------------

    def open_count(self, clients) -> int:
        return sum(1 for c in clients if c.state == OPEN)

    async def run(self) -> dict:
        plan = self.plan
        tracked_n = min(plan.tracked, plan.viewers)
        counting_n = plan.viewers - tracked_n
        posters_n = min(plan.posters, len(self.tokens)) if plan.rate > 0 else 0
        t_start = time.monotonic()

        # 1. posters and tracked viewers, then the baseline RSS.
        self.posters, _ = await self.ramp(PosterClient, posters_n, plan.ramp, tokens=self.tokens)
        self.tracked, _ = await self.ramp(TrackedClient, tracked_n, plan.ramp, offset=posters_n)
        await asyncio.sleep(min(1.0, plan.settle))
        rss_before = self.server.rss()

        # 2. the voters' poll and the voters, the slow viewers, the counting viewers.
        if self.profiler and plan.profile_ramp:
            self.profiler.start(counting_n / plan.ramp + 2)
        if plan.voters > 0:
            if not self.producer_token or len(self.voter_tokens) < plan.voters:
                self.poll_error = "no producer token or too few voter accounts"
            else:
                await self.poll_prepare()
            if self.poll is not None:
                self.voters, _ = await self.ramp(VoterClient, plan.voters, plan.ramp,
                                                 offset=posters_n + tracked_n + counting_n + plan.slow_viewers,
                                                 tokens=self.voter_tokens)
        # The slow viewers first: in a run past admission control they are
        # among the admitted, not all refused with the last arrivals.
        slow_stop = asyncio.Event()
        slow_task = None
        if plan.slow_viewers > 0:
            slow_task = asyncio.ensure_future(self.slow_reader(slow_stop))
            self.slow, _ = await self.ramp(SlowClient, plan.slow_viewers, plan.ramp,
                                           offset=posters_n + tracked_n + counting_n, slow_link=True,
                                           read_bps=plan.slow_read_kbps * 1024)
        self.viewers, ramp_s = await self.ramp(CountingClient, counting_n, plan.ramp, offset=posters_n + tracked_n)
        await asyncio.sleep(plan.settle)
        rss_idle = self.server.rss()
        idle_open = self.open_count(self.viewers) + self.open_count(self.slow) + self.open_count(self.voters)
        hub0 = await self.hub_metrics() if self.metrics_token else None

        # 3. the window. The tool's own collector would otherwise re-walk every
        # client it holds during the window (in the first variant of a run
        # more than in later ones, which biased same-run comparisons).
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        lag_task = asyncio.ensure_future(self.lag_probe(stop))
        c0 = self.counters.snapshot()
        cpu0, me0, sys0 = self.server.cpu_s(), self.me.cpu_times(), psutil.cpu_times()
        load0 = psutil.getloadavg()
        redis0 = self.redis.cpu_s() if self.redis else None
        if self.profiler and not plan.profile_ramp:
            self.profiler.start(plan.duration)
        slow_base = {id(c): (c.counters.danmaku_frames, c.counters.items) for c in self.slow}
        room_viewers = self.viewers + self.tracked
        poll_base = {id(c): (c.poll_frames, c.poll_closed_frames) for c in room_viewers}
        w0 = time.monotonic()
        stats_task = asyncio.ensure_future(self.stats_loop())
        vote_task = asyncio.ensure_future(self.vote_loop()) if plan.voters > 0 else None
        await self.post_loop()
        w1 = time.monotonic()
        c1 = self.counters.snapshot()
        cpu1, me1, sys1 = self.server.cpu_s(), self.me.cpu_times(), psutil.cpu_times()
        load1 = psutil.getloadavg()
        redis1 = self.redis.cpu_s() if self.redis else None
        rss_end = self.server.rss()
        held = {"viewer": self.open_count(self.viewers), "tracked": self.open_count(self.tracked),
                "poster": self.open_count(self.posters)}
        if self.slow:
            held["slow"] = self.open_count(self.slow)
        if plan.voters > 0:
            held["voter"] = self.open_count(self.voters)
        stop.set()
        await lag_task
        await stats_task  # the last push, if it was still on its way (bounded by its timeout)
        if vote_task is not None:
            await vote_task  # the last votes, when the launch took a moment
        hub1 = await self.hub_metrics() if self.metrics_token else None

        # 4. drain, the slow viewers' catch-up, and close.
        await self.drain()
        at_drain_end = self._slow_snapshot(slow_base, max(self.stats_ok) if self.stats_ok else None)
        votes = None
        if plan.voters > 0:
            closed = await self.poll_finish(room_viewers, poll_base)
            votes = self.votes_report(closed, room_viewers, poll_base)
        slow_stop.set()
        if slow_task is not None:
            await slow_task
        catch_up_s = await self.catch_up()
        c2 = self.counters.snapshot()
        slow = self.slow_report(
            fast_counts=(c2["danmaku_frames"] - c0["danmaku_frames"], c2["items"] - c0["items"]),
            slow_base=slow_base, at_drain_end=at_drain_end, catch_up_s=catch_up_s)
        gc.unfreeze()
        profile = self.profiler.finish() if self.profiler else None
        for client in self.clients:
            client.close()
        await asyncio.sleep(0.2)

        hub = self.hub_report(hub0, hub1)
        # A stalled client never reads the 4408 close frame (it is queued behind
        # what it did not read; the server drops the connection a second later),
        # so it sees a reset: the hub's count says how many were closed as stalled.
        slow["slow"]["hub_slow_closed"] = hub["window"]["slow_closed"] if hub and "window" in hub else None
        window = w1 - w0
        cpu = cpu1 - cpu0
        frames = c1["frames"] - c0["frames"]
        items = c1["items"] - c0["items"]
        posted = len(self.sent_at)
        acked_set = set(self.acked)
        # Post-to-screen: every acked comment on every tracked viewer that stayed open.
        survivors = [t for t in self.tracked if t.close_reason is None or t.closing]
        not_shown = sum(len(acked_set - t.seen) for t in survivors)
        shown = sum(len(acked_set & t.seen) for t in survivors)
        me_cpu = (me1.user + me1.system) - (me0.user + me0.system)
        viewers_total = counting_n + tracked_n
        sys_busy = _busy(sys1) - _busy(sys0)
        steal = getattr(sys1, "steal", 0.0) - getattr(sys0, "steal", 0.0)
        redis_cpu = (redis1 - redis0) if self.redis else 0.0
        report = {
            "label": self.label,
            "ports": self.ports,
            "server_pids": [p.pid for p in self.server.procs],
            "connections": {
                "attempted": sum(self.attempted.values()),
                "attempted_by_role": dict(self.attempted),
                "established": sum(self.established.values()),
                "established_by_role": dict(self.established),
                "held": sum(held.values()),
                "held_by_role": held,
                "viewers_target": viewers_total,
                "viewers_held": held["viewer"] + held["tracked"],
                "failed": sum(self.failed.values()),
                "failed_by_reason": counter_dict(self.failed),
                "dropped": sum(self.dropped.values()),
                "dropped_by_reason": counter_dict(self.dropped),
                "ramp_s": round(ramp_s, 2),
                "connect_to_hello_ms": summary_ms(self.connect_latency),
                "ramp_rate_achieved": round(counting_n / ramp_s, 1) if ramp_s > 0 and counting_n else None,
            },
            "window_s": round(window, 3),
            "delivery": {
                "frames": frames,
                "frames_per_s": round(frames / window, 1) if window else None,
                "danmaku_frames": c1["danmaku_frames"] - c0["danmaku_frames"],
                "presence_frames": c1["presence_frames"] - c0["presence_frames"],
                "comments_delivered": items,
                "comments_delivered_per_s": round(items / window, 1) if window else None,
                "bytes_per_s": round((c1["bytes"] - c0["bytes"]) / window) if window else None,
                "comments_per_frame": round(items / (c1["danmaku_frames"] - c0["danmaku_frames"]), 2)
                if c1["danmaku_frames"] > c0["danmaku_frames"] else None,
            },
            "server": {
                "processes": len(self.server.procs),
                "cpu_s": round(cpu, 3),
                "cpu_util_cores": round(cpu / window, 3) if window else None,
                "frames_per_cpu_s": round(frames / cpu) if cpu > 0 else None,
                "comments_delivered_per_cpu_s": round(items / cpu) if cpu > 0 else None,
                "redis_cpu_s": round(redis1 - redis0, 3) if self.redis else None,
                "rss_before_mb": round(rss_before / 2**20, 1),
                "rss_idle_mb": round(rss_idle / 2**20, 1),
                "rss_end_mb": round(rss_end / 2**20, 1),
                "idle_viewers": idle_open,
                "rss_per_connection_kb": round((rss_idle - rss_before) / idle_open / 1024, 1) if idle_open else None,
                "threads": self.server.threads(),
            },
            "posts": {
                "planned": int(plan.rate * plan.duration) if posters_n else 0,
                "sent": posted,
                "sent_per_s": round(posted / window, 1) if window else None,
                "acked": len(self.acked),
                "refused": len(self.refused),
                "refused_by_code": counter_dict(self.refusals),
                "unresolved": posted - len(self.acked) - len(self.refused),
                "failures": counter_dict(self.post_failures),
                "ack_latency_ms": summary_ms(self.ack_latency),
            },
            "post_to_screen_ms": summary_ms(self.screen_latency),
            "screen": {
                "tracked_viewers": len(survivors),
                "shown": shown,
                "not_shown": not_shown,
                "shown_fraction": round(shown / (shown + not_shown), 4) if shown + not_shown else None,
            },
            "errors_by_code": counter_dict(self.error_frames),
            "hub": hub,
            "slow": slow,
            "votes": votes,
            "client": {
                "cpu_s": round(me_cpu, 3),
                "cpu_util_cores": round(me_cpu / window, 3) if window else None,
                "loop_lag_ms": summary_ms(self.loop_lag),
            },
            "machine_load": {
                "note": "other = whole machine busy minus server, redis and this tool: noise from other work",
                "busy_cores": round(sys_busy / window, 2) if window else None,
                "other_cores": round((sys_busy - cpu - me_cpu - redis_cpu) / window, 2) if window else None,
                "steal_cores": round(steal / window, 2) if window else None,
                "loadavg_1m": [round(load0[0], 2), round(load1[0], 2)],
            },
            "acked_ids": [i for i in self.acked.values() if isinstance(i, int)],
            "elapsed_s": round(time.monotonic() - t_start, 2),
        }
        if profile is not None:
            report["profile"] = profile
        return report
