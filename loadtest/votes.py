"""
The vote benchmark: N accounts vote once each over the room socket within about
a second, against spawned Daphne processes on PostgreSQL and Redis; then the
final tally is checked against the database and against the acknowledgements.

    eval "$(scripts/services.sh env NAME)"      # after `scripts/services.sh start NAME`
    .venv/bin/python -m loadtest.votes --count 5000 --workers 2 --spread-ms 1000

It needs DATABASE_URL (PostgreSQL) and REDIS_URL or TEST_REDIS_URL. Accounts
``votebench-0..N-1`` and their tokens are made by loadtest.accounts (idempotent);
each run launches a fresh poll on the event ``votebench``. A watcher socket counts
the poll frames a viewer receives meanwhile (coalesced: a few a second).

Django-side helpers, run with the server's environment:
    python -m loadtest.votes poll --slug votebench --options 4 --duration 600
    python -m loadtest.votes tally --poll ID [--close]
"""
import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .profile import PySpy
from .server import ROOT, COMPANION_APP, ProcGroup, Workers, describe_oserror, machine, raise_nofile_limit, run_helper
from .wsclient import K_ACK, K_ERROR, WSClient, frame_kind

POLL_TYPE = b'{"type":"poll"'


# --- Django side -------------------------------------------------------------------------


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "companion.settings")
    import django

    django.setup()


def helper_poll(slug: str, options: int, duration: int) -> dict:
    """Close the event's open poll (an earlier run's), then launch a fresh one."""
    from accounts.models import User
    from events.models import Event
    from polls import services
    from polls.models import Poll

    event = Event.objects.get(slug=slug)
    producer = User.objects.filter(is_superuser=True).order_by("pk").first()
    if producer is None:
        producer = User.objects.create_superuser("votebench-producer", None, None)
    for poll in Poll.objects.filter(event=event, status=Poll.Status.OPEN):
        services.poll_close(poll=poll, by=producer)
    poll = services.poll_create(
        event=event, by=producer,
        data={"question": "Benchmark: pick one", "options": [f"Option {i + 1}" for i in range(options)], "duration_s": duration},
    )
    poll = services.poll_launch(poll=poll, by=producer)
    return {"poll": poll.pk, "options": [o.pk for o in poll.options.all()]}


def helper_tally(poll_id: int, close: bool) -> dict:
    from accounts.models import User
    from polls import services
    from polls.models import Vote

    poll = services.poll_get(poll_id=poll_id, producer=True)
    if close:
        producer = User.objects.filter(is_superuser=True).order_by("pk").first()
        poll = services.poll_close(poll=poll, by=producer)
    counts = services.poll_counts(poll_ids=[poll.pk])[poll.pk]
    return {
        "status": poll.status,
        "rows": Vote.objects.filter(poll=poll).count(),
        "distinct_voters": Vote.objects.filter(poll=poll).values("user").distinct().count(),
        "counts": {str(k): v for k, v in counts.items()},
        "results_total": services.poll_results(poll=poll, producer=True)["total"],
    }


def run_votes_helper(args: list[str], env: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "loadtest.votes", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"loadtest.votes {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


# --- sockets --------------------------------------------------------------------------------


class Run:
    """What the clients report into."""

    def __init__(self):
        self.acks: dict[int, tuple[float, int]] = {}  # ref -> (time, vote id)
        self.errors: Counter = Counter()
        self.error_refs: dict[int, str] = {}
        self.dropped: Counter = Counter()
        self.poll_frames: list[tuple[float, dict]] = []
        self.done = asyncio.Event()
        self.expected = 0
        self.counters = type("C", (), {"frames": 0, "bytes": 0, "other_frames": 0, "hellos": 0,
                                       "danmaku_frames": 0, "items": 0, "presence_frames": 0})()

    def on_dropped(self, client, reason):
        self.dropped[reason] += 1

    def on_error_frame(self, client, frame):
        ref = frame.get("ref")
        self.errors[frame.get("code")] += 1
        if isinstance(ref, int):
            self.error_refs[ref] = frame.get("code")
            self._check()

    def on_ack(self, client, frame, now):
        self.acks[frame["ref"]] = (now, frame["id"])
        self._check()

    def _check(self):
        if self.expected and len(self.acks) + len(self.error_refs) >= self.expected:
            self.done.set()


class Voter(WSClient):
    role = "voter"

    def on_text(self, buf, start, end):
        kind = frame_kind(buf, start)
        if kind == K_ACK:
            self.ctx.on_ack(self, json.loads(bytes(buf[start:end])), time.monotonic())
            return kind
        if kind == K_ERROR:
            self.ctx.on_error_frame(self, json.loads(bytes(buf[start:end])))
            return kind
        return super().on_text(buf, start, end)


class Watcher(WSClient):
    """An anonymous viewer that records every poll frame."""

    role = "watcher"

    def on_text(self, buf, start, end):
        if buf.startswith(POLL_TYPE, start):
            self.ctx.poll_frames.append((time.monotonic(), json.loads(bytes(buf[start:end]))["poll"]))
            return None
        return super().on_text(buf, start, end)


async def open_client(run: Run, cls, *, port: int, slug: str, token: str | None, local: str | None):
    loop = asyncio.get_running_loop()
    path = f"/ws/events/{slug}/" + (f"?token={token}" if token else "")
    origin = None if token else f"http://127.0.0.1:{port}"
    try:
        _, client = await asyncio.wait_for(
            loop.create_connection(lambda: cls(run, path=path, host=f"127.0.0.1:{port}", origin=origin), "127.0.0.1", port,
                                   local_addr=(local, 0) if local else None),
            30,
        )
    except (asyncio.TimeoutError, TimeoutError):
        return None, "connect_timeout"
    except OSError as exc:
        return None, describe_oserror(exc)
    try:
        reason = await asyncio.wait_for(asyncio.shield(client.ready), 60)
    except (asyncio.TimeoutError, TimeoutError):
        reason = "hello_timeout"
    return (client, None) if reason is None else (None, reason)


async def open_voters(run: Run, tokens: list[str], *, ports: list[int], slug: str, rate: float, parallel: int):
    """Open one socket per token at ``rate`` a second, at most ``parallel`` handshakes at once."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(parallel)
    failures: Counter = Counter()
    t0 = loop.time()

    async def one(i, token):
        async with gate:
            client, reason = await open_client(run, Voter, port=ports[i % len(ports)], slug=slug, token=token,
                                               local=f"127.0.0.{2 + i % 8}")
            if reason:
                failures[reason] += 1
            return client

    tasks = []
    for i, token in enumerate(tokens):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(i, token)))
    clients = await asyncio.gather(*tasks)
    return clients, failures, loop.time() - t0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def vote_phase(run: Run, clients: list, *, poll: int, options: list[int], spread_s: float, wait_s: float) -> dict:
    """Each client votes once, sends spread evenly over ``spread_s``; then wait for every answer."""
    loop = asyncio.get_running_loop()
    live = [(i, c) for i, c in enumerate(clients) if c is not None]
    run.expected = len(live)
    chosen: dict[int, int] = {}
    sent_at: dict[int, float] = {}
    t0 = time.monotonic()
    start = loop.time()
    for n, (i, client) in enumerate(live):
        delay = start + n * spread_s / max(1, len(live)) - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)
        option = options[i % len(options)]
        chosen[i] = option
        sent_at[i] = time.monotonic()
        client.send_text(json.dumps({"type": "poll.vote", "ref": i, "poll": poll, "option": option}, separators=(",", ":")))
    send_s = time.monotonic() - t0
    try:
        await asyncio.wait_for(run.done.wait(), wait_s)
    except (asyncio.TimeoutError, TimeoutError):
        pass
    acked_times = [at for at, _ in run.acks.values()]
    last = max(acked_times) if acked_times else t0
    latencies = [(run.acks[i][0] - sent_at[i]) * 1000 for i in run.acks if i in sent_at]
    per_option = Counter(chosen[i] for i in run.acks)
    return {
        "votes_sent": len(live),
        "send_window_s": round(send_s, 3),
        "acked": len(run.acks),
        "acked_within_1s_of_first_send": sum(1 for at in acked_times if at - t0 <= 1.0),
        "errors": dict(run.errors),
        "unanswered": len(live) - len(run.acks) - len(run.error_refs),
        "first_send_to_last_ack_s": round(last - t0, 3),
        "accepted_per_s": round(len(run.acks) / (last - t0), 1) if run.acks and last > t0 else 0.0,
        "ack_latency_ms": {
            "p50": round(pct(latencies, 0.50), 1), "p95": round(pct(latencies, 0.95), 1),
            "p99": round(pct(latencies, 0.99), 1), "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "acked_per_option": {str(k): v for k, v in sorted(per_option.items())},
        "vote_ids": sorted(vid for _, vid in run.acks.values()),
        "t0": t0,
        "t_last_ack": last,
    }


# --- the run ----------------------------------------------------------------------------------


def server_env(args) -> dict:
    env = dict(os.environ)
    redis_url = args.redis_url or env.get("REDIS_URL") or env.get("TEST_REDIS_URL")
    if not env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) or not redis_url:
        raise SystemExit(
            "loadtest.votes needs DATABASE_URL (PostgreSQL) and REDIS_URL or TEST_REDIS_URL:\n"
            "  scripts/services.sh start votes && eval \"$(scripts/services.sh env votes)\""
        )
    env.update({
        "DJANGO_SETTINGS_MODULE": "companion.settings",
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_MANIFEST": "0",
        # No Celery worker here: the launch's timer task runs eagerly (a no-op until due).
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DB_CONN_MAX_AGE": "600",
        "POLL_TALLY_MS": str(args.tally_ms),
        "ROOM_MAX_CONNECTIONS": "50000",
        "PYTHONUNBUFFERED": "1",
    })
    return env


async def bench(args, env: dict, tokens: list[str], poll: dict, ports: list[int], server: ProcGroup, pids: list[int]) -> dict:
    run = Run()
    watcher, reason = await open_client(run, Watcher, port=ports[0], slug=args.slug, token=None, local=None)
    if watcher is None:
        raise RuntimeError(f"watcher could not connect: {reason}")
    clients, failures, connect_s = await open_voters(run, tokens, ports=ports, slug=args.slug, rate=args.connect_rate,
                                                     parallel=args.parallel)
    await asyncio.sleep(args.settle_s)
    frames_before = len(run.poll_frames)
    spy = PySpy(pids[0], ROOT / "var" / "votes" / "profile.txt") if args.profile else None
    if spy:
        spy.start(args.spread_ms / 1000 + args.profile_extra_s)
    load_before = os.getloadavg()[0]
    cpu0, wall0 = server.cpu_s(), time.monotonic()
    result = await vote_phase(run, clients, poll=poll["poll"], options=poll["options"],
                              spread_s=args.spread_ms / 1000, wait_s=args.wait_s)
    # Tallies keep coming for a moment after the last ack (the pump's trailing publish).
    await asyncio.sleep(max(1.0, 3 * args.tally_ms / 1000))
    cpu1, wall1 = server.cpu_s(), time.monotonic()
    during = [(t, p) for t, p in run.poll_frames[frames_before:] if p["id"] == poll["poll"]]
    in_window = [p for t, p in during if t <= result["t_last_ack"] + 0.5]
    live_total = during[-1][1]["total"] if during else None
    tally = await asyncio.to_thread(run_votes_helper, ["tally", "--poll", str(poll["poll"]), "--close"], env)
    # The close frame reaches the watcher.
    deadline = time.monotonic() + 5
    closed = None
    while time.monotonic() < deadline and closed is None:
        closed = next((p for _, p in reversed(run.poll_frames) if p["id"] == poll["poll"] and p["status"] == "closed"), None)
        await asyncio.sleep(0.05)
    for client in [watcher, *[c for c in clients if c is not None]]:
        client.close()
    vote_s = max(1e-9, result["t_last_ack"] - result["t0"])
    result.update({
        "sockets_opened": sum(1 for c in clients if c is not None),
        "socket_failures": dict(failures),
        "connect_s": round(connect_s, 1),
        "dropped_during_run": dict(run.dropped),
        "watcher_poll_frames_during_votes": len(in_window),
        "watcher_poll_frames_per_s": round(len(in_window) / max(vote_s, 0.001), 1),
        "watcher_last_live_total": live_total,
        "watcher_closed_frame_total": closed["total"] if closed else None,
        "server_cpu_s_during_votes": round(cpu1 - cpu0, 2),
        "server_cpu_share": round((cpu1 - cpu0) / (wall1 - wall0), 2),
        # Other work on the machine skews the figures: the 1-minute load average around the votes.
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "db": tally,
    })
    result["exact"] = (
        tally["rows"] == result["acked"] == tally["distinct_voters"] == tally["results_total"]
        and tally["counts"] == result["acked_per_option"]
        and result["watcher_closed_frame_total"] == result["acked"]
        and not result["errors"]
    )
    del result["vote_ids"], result["t0"], result["t_last_ack"]
    if spy:
        result["profile_worker_0"] = await asyncio.to_thread(spy.finish)
    return result


def main_bench(args):
    raise_nofile_limit()
    env = server_env(args)
    logdir = ROOT / "var" / "votes"
    print(f"votes: preparing {args.count} accounts on {env['DATABASE_URL'].split('@')[-1]}", file=sys.stderr)
    prepared = json.loads(run_helper(["prepare", "--slug", args.slug, "--count", str(args.count), "--prefix", "votebench-",
                                      "--migrate", "--seed"], env, timeout=600))
    tokens = prepared["tokens"]
    workers = Workers(app=COMPANION_APP, count=args.workers, env=env, logdir=logdir, label="votes").start()
    try:
        poll = run_votes_helper(["poll", "--slug", args.slug, "--options", str(args.options), "--duration", "600"], env)
        print(f"votes: poll {poll['poll']} open; {len(workers.ports)} Daphne workers on {workers.ports}", file=sys.stderr)
        result = asyncio.run(bench(args, env, tokens, poll, workers.ports, ProcGroup(workers.pids), workers.pids))
        result["server_log_errors"] = workers.log_errors()
    finally:
        workers.stop()
    report = {
        "command": " ".join(["python -m loadtest.votes", *sys.argv[1:]]),
        "machine": machine(),
        "settings": {"count": args.count, "workers": args.workers, "spread_ms": args.spread_ms, "options": args.options,
                     "tally_ms": args.tally_ms, "database": "postgresql", "channel_layer": "redis pub/sub"},
        "result": result,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    r = result
    print(
        f"votes: {r['acked']}/{r['votes_sent']} accepted, first send to last ack {r['first_send_to_last_ack_s']} s "
        f"({r['accepted_per_s']}/s, {r['acked_within_1s_of_first_send']} within 1 s), ack p50 {r['ack_latency_ms']['p50']} ms "
        f"p99 {r['ack_latency_ms']['p99']} ms; watcher got {r['watcher_poll_frames_during_votes']} poll frames; "
        f"database {r['db']['rows']} votes, exact={r['exact']}; report {out}"
    )
    return 0 if r["exact"] else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m loadtest.votes", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("poll")
    p.add_argument("--slug", default="votebench")
    p.add_argument("--options", type=int, default=4)
    p.add_argument("--duration", type=int, default=600)
    t = sub.add_parser("tally")
    t.add_argument("--poll", type=int, required=True)
    t.add_argument("--close", action="store_true")
    parser.add_argument("--count", type=int, default=5000, help="accounts, sockets and votes (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="Daphne processes (default 2)")
    parser.add_argument("--spread-ms", type=float, default=1000, help="send the votes evenly over this long (default 1000)")
    parser.add_argument("--options", type=int, default=4)
    parser.add_argument("--slug", default="votebench")
    parser.add_argument("--tally-ms", type=int, default=250, help="POLL_TALLY_MS for the server")
    parser.add_argument("--connect-rate", type=float, default=800, help="sockets opened per second before voting")
    parser.add_argument("--parallel", type=int, default=200, help="handshakes in flight at once")
    parser.add_argument("--settle-s", type=float, default=2.0, help="quiet time between connecting and voting")
    parser.add_argument("--wait-s", type=float, default=60.0, help="how long to wait for the last answer")
    parser.add_argument("--redis-url")
    parser.add_argument("--profile", action="store_true", help="py-spy one worker during the votes (if installed)")
    parser.add_argument("--profile-extra-s", type=float, default=4.0, help="profile this long past the send window")
    parser.add_argument("--out", default=str(ROOT / "var" / "votes" / "report.json"))
    args = parser.parse_args(argv)
    if args.command in ("poll", "tally"):
        setup_django()
        answer = helper_poll(args.slug, args.options, args.duration) if args.command == "poll" else helper_tally(args.poll, args.close)
        json.dump(answer, sys.stdout)
        return 0
    return main_bench(args)


if __name__ == "__main__":
    sys.exit(main())
