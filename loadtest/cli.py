"""
Command line of the load tool. ``python -m loadtest --help``.

Typical runs (see docs/benchmarks.md and scripts/bench.sh):

    # spawn Companion (and the stock baseline) on a fresh SQLite DB, in-memory layer
    python -m loadtest --spawn --compare-stock --viewers 1000 --rate 50 --duration 20

    # the same on a private Redis (channels-redis pub/sub layer), two workers
    python -m loadtest --spawn --layer redis --workers 2 --viewers 1000 --rate 50

    # against a server you started yourself (same DATABASE_URL in this shell)
    python -m loadtest --target 127.0.0.1:8000 --viewers 500 --rate 20

    # past capacity, with 50 viewers on slow links and stats pushed twice a second
    python -m loadtest --spawn --viewers 1000 --rate 500 --slow-viewers 50 --slow-read-kbps 4 --stats-rate 2

    # 2,000 viewers and 1,000 voters in a poll launched at the window's start, votes over 5 s
    python -m loadtest --spawn --viewers 2000 --rate 50 --voters 1000 --vote-spread 5

The JSON report goes to stdout (or --out FILE); a human summary to stderr.
Exit status: 0; 3 when an acknowledged comment is missing from storage; 4 when
no viewer connection was held; 5 when the poll's final tally differs from the
acknowledged votes (or, with --voters, the poll could not be launched or
closed); 1 on errors (the server did not start...).
"""
import argparse
import asyncio
import dataclasses
import json
import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import psutil

from . import server as srv
from .profile import PySpy
from .runner import Phase, Plan
from .stats import ratio


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("server")
    g.add_argument("--spawn", action="store_true", help="start the server(s) (daphne) and measure them")
    g.add_argument("--target", action="append", default=[], metavar="127.0.0.1:PORT",
                   help="a running server (repeat for several processes); loopback only")
    g.add_argument("--server-pid", action="append", type=int, default=[],
                   help="pid(s) of a running server to measure (default: whoever listens on --target)")
    g.add_argument("--workers", type=int, default=1, help="with --spawn: daphne processes on consecutive ports")
    g.add_argument("--layer", choices=("memory", "redis"), default="memory",
                   help="with --spawn: channel layer (redis: --redis-url, or a private redis-server is started)")
    g.add_argument("--redis-url", default=None, help="with --layer redis: use this Redis instead of starting one")
    g.add_argument("--database-url", default=None,
                   help="DATABASE_URL for the server and the account helper (with --spawn default: a fresh "
                        "SQLite file under var/loadtest/)")
    g.add_argument("--sqlite-dir", default=None,
                   help="with --spawn and no --database-url: directory of the fresh SQLite file (e.g. /dev/shm "
                        "to take disk fsyncs out of the post path); default var/loadtest/<run>/")
    g.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="extra environment for spawned servers (e.g. ROOM_TICK_MS=200)")
    g.add_argument("--keep-rate-limit", action="store_true",
                   help="with --spawn: keep the server's per-account rate limit (default: DANMAKU_RATE_COUNT=1000000)")
    g.add_argument("--server-rate-limit", default="5/10", metavar="COUNT/WINDOW",
                   help="the server's per-account limit, to size the number of posting accounts (default 5/10)")
    g.add_argument("--compare-stock", action="store_true",
                   help="with --spawn: run the same load against the stock Channels baseline too (same run)")
    g.add_argument("--stock-only", action="store_true", help="with --spawn: only the stock baseline")
    g.add_argument("--compare-tuned", action="append", default=[], metavar="PATCHES",
                   help="with --spawn: also run Companion with server-side patches (loadtest.daphne_tuned: autobahn, "
                        "unbatched, secondcap, splitsends, tick, nogc, switch, none; comma-separated), same run; repeat for "
                        "several variants")
    g.add_argument("--daphne-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for spawned daphne (repeat; e.g. --daphne-arg=--ping-interval=60)")
    g.add_argument("--profile", choices=("window", "ramp"), nargs="?", const="window", default=None,
                   help="py-spy record the first server process during the window (or the viewer ramp)")

    g = p.add_argument_group("load")
    g.add_argument("--slug", default="demo", help="event slug (default demo, seeded when spawning)")
    g.add_argument("--seed", action="store_true",
                   help="create the event if missing (seed_demo for 'demo'); implied by --spawn")
    g.add_argument("--viewers", type=int, default=100, help="viewers (counting + tracked)")
    g.add_argument("--tracked", type=int, default=10, help="viewers that decode frames to measure latency")
    g.add_argument("--ramp", type=float, default=200.0, help="connections per second")
    g.add_argument("--rate", type=float, default=10.0, help="comments per second, all posters together")
    g.add_argument("--posters", type=int, default=None,
                   help="posting accounts/sockets (default: enough for the rate and the server's limits)")
    g.add_argument("--duration", type=float, default=10.0, help="measurement window, seconds")
    g.add_argument("--slow-viewers", type=int, default=0,
                   help="extra viewers (beside --viewers) on slow links: small receive buffer, reading at most "
                        "--slow-read-kbps; their figures are the report's slow block")
    g.add_argument("--slow-read-kbps", type=float, default=4.0,
                   help="KB/s each slow viewer reads (0: stalled, reads nothing until the window and drain are over)")
    g.add_argument("--stats-rate", type=float, default=0.0,
                   help="stats pushes per second during the window, through the producer API as the tool's staff "
                        "account (each carries its sequence number)")
    g.add_argument("--voters", type=int, default=0,
                   help="extra sockets, each with its own account (loadtest-voter-N), that vote once each in a poll "
                        "the tool launches at the window's start through the producer API; the tally is checked "
                        "against the acks (none against the stock baseline: it has no polls)")
    g.add_argument("--vote-spread", type=float, default=None, metavar="S",
                   help="send the votes evenly over S seconds from the launch (0: all at once; default: --duration)")
    g.add_argument("--settle", type=float, default=2.0, help="seconds after the ramp before the window")
    g.add_argument("--drain", type=float, default=5.0, help="at most this long after the window for acks/frames")
    g.add_argument("--connect-timeout", type=float, default=10.0)
    g.add_argument("--hello-timeout", type=float, default=15.0)
    g.add_argument("--source-addrs", type=int, default=1,
                   help="bind clients to this many source addresses 127.0.0.2.. (past ~25k sockets)")
    g.add_argument("--nice", type=int, default=None,
                   help="set this niceness on the tool and the processes it spawns (e.g. -5 on a shared, busy "
                        "machine, needs root); the report still says how busy the rest of the machine was")
    g.add_argument("--max-time", type=float, default=None,
                   help="hard limit for the whole run, seconds (default: generous, from the plan)")

    g = p.add_argument_group("output")
    g.add_argument("--out", default=None, help="write the JSON report here instead of stdout")
    g.add_argument("--keep-ids", action="store_true", help="keep the acked comment ids in the report")
    g.add_argument("--quiet", action="store_true", help="no human summary on stderr")
    args = p.parse_args(argv)

    if not args.spawn and not args.target:
        p.error("give --spawn or at least one --target 127.0.0.1:PORT")
    if args.spawn and args.target:
        p.error("--spawn and --target are exclusive")
    for target in args.target:
        host, _, port = target.rpartition(":")
        if not host.startswith("127.") or not port.isdigit():
            p.error(f"--target must be a loopback address with a port (127.x.x.x:PORT): {target}")
    if (args.compare_stock or args.stock_only or args.compare_tuned) and not args.spawn:
        p.error("--compare-stock needs --spawn (the tool starts the stock server itself)")
    if args.spawn and args.workers > 1 and args.layer == "memory":
        p.error("--workers > 1 needs --layer redis (the in-memory layer does not cross processes)")
    if args.viewers < 0 or args.rate < 0 or args.duration <= 0 or args.ramp <= 0:
        p.error("--viewers/--rate must be >= 0, --duration and --ramp > 0")
    if args.slow_viewers < 0 or args.slow_read_kbps < 0 or args.stats_rate < 0:
        p.error("--slow-viewers, --slow-read-kbps and --stats-rate must be >= 0")
    if args.voters < 0 or args.voters > 200_000:
        p.error("--voters is 0..200000")
    if args.vote_spread is not None and not 0 <= args.vote_spread <= args.duration:
        p.error("--vote-spread is 0..--duration seconds (the votes are sent within the window)")
    if args.stats_rate > 50:
        p.error("--stats-rate is capped at 50 pushes/s")
    if args.viewers > 200_000:
        p.error("--viewers is capped at 200000")
    if args.source_addrs < 1 or args.source_addrs > 250:
        p.error("--source-addrs is 1..250")
    return args


def posters_needed(args) -> int:
    if args.posters is not None:
        return max(0, args.posters)
    if args.rate <= 0:
        return 0
    # Each socket may send about 10 messages/s (server-side allowance); stay well under.
    n = math.ceil(args.rate / 4)
    if not (args.spawn and not args.keep_rate_limit):
        count, _, window = args.server_rate_limit.partition("/")
        per_account = float(count) / float(window or 1)
        n = max(n, math.ceil(args.rate / per_account * 1.25))
    return max(2, n)


def server_env(args, workdir: Path, redis_url: str | None) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "companion.settings"
    env.setdefault("PYTHONUNBUFFERED", "1")
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    elif args.spawn:
        folder = Path(args.sqlite_dir) if args.sqlite_dir else workdir
        env["DATABASE_URL"] = f"sqlite:///{folder / (workdir.name + '.sqlite3')}"
    if args.spawn:
        env["DEBUG"] = "0"
        env["STATIC_MANIFEST"] = "0"
        env.setdefault("LOG_LEVEL", "WARNING")
        if redis_url:
            env["REDIS_URL"] = redis_url
        else:
            env.pop("REDIS_URL", None)
            env.pop("CELERY_BROKER_URL", None)
        if not args.keep_rate_limit:
            env["DANMAKU_RATE_COUNT"] = "1000000"
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env wants NAME=VALUE, got {item!r}")
        env[name] = value
    return env


def git_state() -> dict:
    import subprocess

    def git(*a):
        try:
            return subprocess.run(["git", *a], cwd=srv.ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    import hashlib

    dirty = git("status", "--porcelain", "--untracked-files=no")
    diff = git("diff", "HEAD") or ""
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified_files": dirty.splitlines() if dirty else [],
            "diff_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12] if diff else None}


def pids_listening(ports: list[int]) -> list[int]:
    pids = set()
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in ports and conn.pid:
                pids.add(conn.pid)
    except psutil.AccessDenied:
        pass
    return sorted(pids)


def listening_ports(pid: int) -> list[int]:
    """The TCP ports process ``pid`` listens on."""
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
    return sorted({c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN and c.laddr})


def metrics_ports(target_ports: list[int], server_pids: list[int]) -> list[int]:
    """
    One port per server process to read its /api/metrics/ from. Behind a
    proxy (nginx on one --target) each request reaches some process, so read
    each --server-pid's own listening port instead; without them (or when one
    cannot be read) the targets are all there is.
    """
    ports = []
    for pid in server_pids:
        own = listening_ports(pid)
        if not own:
            return target_ports
        ports.append(next((port for port in own if port in target_ports), own[0]))
    return ports or target_ports


def run_phase(plan: Plan, label: str, ports, tokens, event, pids, redis_pid, profile_out,
              metrics_token: str | None = None, metrics_ports: list[int] | None = None,
              producer_token: str | None = None, voter_tokens: list[str] | None = None) -> dict:
    profiler = PySpy(pids[0], profile_out) if profile_out and pids else None
    phase = Phase(plan, label=label, ports=ports, tokens=tokens, event=event, server_pids=pids,
                  redis_pid=redis_pid, profiler=profiler, metrics_token=metrics_token,
                  metrics_ports=metrics_ports, producer_token=producer_token, voter_tokens=voter_tokens)
    return asyncio.run(phase.run())


def verify_acked(report: dict, env: dict, workdir: Path) -> dict:
    ids = report["acked_ids"]
    path = workdir / f"acked-{report['label']}.json"
    path.write_text(json.dumps(ids))
    try:
        return json.loads(srv.run_helper(["verify", "--ids", str(path)], env, timeout=120))
    except Exception as exc:  # reported, never hidden
        return {"checked": len(ids), "missing": None, "error": str(exc)[-500:]}


def summary_lines(report: dict) -> list[str]:
    lines = []
    for v in report["variants"]:
        c, d, s, po, l, sc = v["connections"], v["delivery"], v["server"], v["posts"], v["post_to_screen_ms"], v["screen"]
        layer = f"{report['config']['layer']} layer" if report["config"].get("spawn") else "a running server"
        lines.append(f"== {v['label']} ({layer}, {s['processes']} process(es)) ==")
        lines.append(f"  connections: attempted {c['attempted']}, held {c['held']} (viewers {c['viewers_held']}/"
                     f"{c['viewers_target']}), failed {c['failed']} {c['failed_by_reason'] or ''}, "
                     f"dropped {c['dropped']} {c['dropped_by_reason'] or ''}; ramp {c['ramp_s']} s, connect to "
                     f"hello p50 {c['connect_to_hello_ms']['p50']} ms p99 {c['connect_to_hello_ms']['p99']} ms")
        lines.append(f"  delivered: {d['frames_per_s']} frames/s, {d['comments_delivered_per_s']} comments/s "
                     f"({d['comments_per_frame']} per danmaku frame)")
        lines.append(f"  server: {s['cpu_util_cores']} cores busy, {s['frames_per_cpu_s']} frames/CPU-s, "
                     f"{s['comments_delivered_per_cpu_s']} comments/CPU-s; RSS {s['rss_before_mb']} -> "
                     f"{s['rss_idle_mb']} MB idle ({s['rss_per_connection_kb']} KB/conn) -> {s['rss_end_mb']} MB"
                     + (f"; redis {s['redis_cpu_s']} CPU-s" if s["redis_cpu_s"] is not None else ""))
        lines.append(f"  posts: sent {po['sent']} ({po['sent_per_s']}/s), acked {po['acked']}, refused "
                     f"{po['refused']} {po['refused_by_code'] or ''}, unresolved {po['unresolved']}; ack p50 "
                     f"{po['ack_latency_ms']['p50']} ms p99 {po['ack_latency_ms']['p99']} ms")
        lines.append(f"  post-to-screen: p50 {l['p50']} ms, p95 {l['p95']} ms, p99 {l['p99']} ms (n={l['n']}); "
                     f"not shown {sc['not_shown']} of {sc['shown'] + sc['not_shown']}")
        hub = v.get("hub")
        if hub and "error" in hub:
            lines.append(f"  hub: metrics not read ({hub['error']})")
        elif hub:
            w, t = hub["window"], hub["totals"]
            lines.append(f"  hub (window, all processes): {w['frames_sent']} frames sent, skipped for slow clients "
                         f"{w['frames_skipped_slow']}, slow clients closed {w['slow_closed']}, comments dropped by "
                         f"the display cap {w['items_dropped_by_cap']}, database batches "
                         f"{', '.join(f'{k} {n}' for k, n in w['batches'].items()) or 0}; "
                         f"refused {w['refused']} (since start {t['refused']})")
        lines.extend(slow_lines(v.get("slow")))
        lines.extend(vote_lines(v.get("votes")))
        st = v.get("storage", {})
        lines.append(f"  storage: acked comments missing: {st.get('missing')} of {st.get('checked')}")
        errs = s.get("log_errors")
        if errs and errs["tracebacks"]:
            lines.append(f"  server log: {errs['tracebacks']} tracebacks {errs['by_exception']}")
        cl = v["client"]
        ml = v["machine_load"]
        lines.append(f"  tool: {cl['cpu_util_cores']} cores, loop lag p99 {cl['loop_lag_ms']['p99']} ms; machine busy "
                     f"{ml['busy_cores']} cores, of which other work {ml['other_cores']} (load {ml['loadavg_1m']})")
    for label, t in (report.get("comparison_tuned") or {}).items():
        lines.append(f"== {label} vs companion: frames/CPU-s x{t['frames_per_cpu_s_ratio']}, acked {t['acked']}, "
                     f"ack p99 {t['ack_p99_ms']} ms ==")
    comp = report.get("comparison")
    if comp:
        lines.append(f"== companion vs stock: frames/CPU-s x{comp['frames_per_cpu_s_ratio']}, "
                     f"comments/CPU-s x{comp['comments_per_cpu_s_ratio']} ==")
    return lines


def slow_lines(slow: dict | None) -> list[str]:
    """The summary's line on slow viewers and stats pushes (none when the run had neither)."""
    if not slow or not (slow["config"]["slow_viewers"] or slow["stats_pushes"]):
        return []
    f, s, pushes = slow["fast"], slow["slow"], slow["stats_pushes"]
    parts = []
    if s["clients"]:
        parts.append(f"{s['clients']} slow viewers at {slow['config']['read_kbps']} KB/s: closed {s['closed']} "
                     f"{str(s['closed_by_reason']) + ' ' if s['closed_by_reason'] else ''}(hub: {s['hub_slow_closed']} "
                     f"closed as stalled, 4408); "
                     f"danmaku frames per client {s['danmaku_frames_mean']} vs fast {f['danmaku_frames_mean']} "
                     f"(comments {s['comments_mean']} vs {f['comments_mean']})")
    if pushes:
        failed = f", failed {pushes['failed_by_reason']}" if pushes["failed_by_reason"] else ""
        slow_stats = (f"; slow {s['stats_frames_mean']}/{s['stats_frames_min']} frames, saw it "
                      f"{s['saw_last_stats']}/{s['open']} (at the drain's end, still throttled: "
                      f"{s['at_drain_end']['saw_last_stats']})") if s["clients"] else ""
        parts.append(f"stats pushes {pushes['ok']}/{pushes['sent']} ok (p99 {pushes['latency_ms']['p99']} ms{failed}); "
                     f"fast {f['stats_frames_mean']}/{f['stats_frames_min']} stats frames (mean/min), saw the last "
                     f"push {f['saw_last_stats']}/{f['open']}{slow_stats}")
    return ["  slow: " + "; ".join(parts)]


def vote_lines(votes: dict | None) -> list[str]:
    """The summary's line on the voters (none when the run had none)."""
    if not votes:
        return []
    check, frames, ack = votes["tally_check"], votes["poll_frames"], votes["ack_latency_ms"]
    error = f" ({votes['error']})" if votes["error"] else ""
    return [f"  votes: poll {votes['poll']}{error}: sent {votes['sent']}/{votes['planned']} over "
            f"{votes['spread_s']} s, acked {votes['acked']}, refused {votes['refused']} "
            f"{votes['refused_by_code'] or ''}, unresolved {votes['unresolved']}; ack p50 {ack['p50']} ms "
            f"p99 {ack['p99']} ms; tally {'matches' if check['match'] else 'DIFFERS'} (total {check['total']}); "
            f"{frames['mean']} poll frames per viewer, {frames['saw_closed']}/{frames['viewers']} saw it closed"]


def main(argv=None) -> int:
    args = parse_args(argv)
    nofile = srv.raise_nofile_limit()
    if args.nice is not None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)
        except OSError as exc:
            print(f"loadtest: could not set niceness {args.nice}: {exc}", file=sys.stderr)
    needed = args.viewers + args.slow_viewers + args.voters + (args.posters or 0) + 200
    if nofile[0] < needed:
        print(f"loadtest: open-files limit {nofile[0]} < {needed} needed; expect too_many_open_files", file=sys.stderr)
    max_time = args.max_time or (
        120 + 2 * ((args.viewers + args.slow_viewers + args.voters) / args.ramp + args.settle + args.duration
                   + 2 * max(5.0, args.drain) + 30)
        * (2 if args.compare_stock else 1)
    )
    # A hard stop for the whole run: SIGALRM raises in the main thread, and the
    # finally below stops every process this run started.
    def on_alarm(signum, frame):
        raise TimeoutError(f"loadtest: --max-time {max_time:.0f} s exceeded")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(int(max_time))

    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = srv.ROOT / "var" / "loadtest"
    base.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=base))
    redis = None
    workers = None
    t0 = time.monotonic()
    log = (lambda *a: None) if args.quiet else (
        lambda *a: print(f"loadtest [{time.monotonic() - t0:6.1f}s]:", *a, file=sys.stderr, flush=True))
    try:
        redis_url = None
        if args.spawn and args.layer == "redis":
            if args.redis_url:
                redis_url = args.redis_url
            else:
                redis = srv.Redis(workdir / "redis").start()
                redis_url = redis.url
                log(f"private redis-server on {redis_url} (pid {redis.proc.pid})")
        env = server_env(args, workdir, redis_url)
        posters = posters_needed(args)
        accounts = max(posters, 1)
        log(f"preparing {accounts} accounts with tokens on {env.get('DATABASE_URL', 'default sqlite')}")
        prep = ["prepare", "--slug", args.slug, "--count", str(accounts), "--voters", str(args.voters)]
        if args.spawn:
            prep += ["--migrate", "--seed"]
        elif args.seed:
            prep += ["--seed"]
        prepared = json.loads(srv.run_helper(prep, env))
        event, tokens = prepared["event"], prepared["tokens"]
        staff_token = prepared.get("staff_token")
        voter_tokens = prepared.get("voter_tokens") or []

        plan = Plan(slug=args.slug, viewers=args.viewers, tracked=args.tracked, posters=posters, ramp=args.ramp,
                    rate=args.rate, duration=args.duration, settle=args.settle, drain=args.drain,
                    connect_timeout=args.connect_timeout, hello_timeout=args.hello_timeout,
                    source_addrs=args.source_addrs, profile_ramp=args.profile == "ramp",
                    slow_viewers=args.slow_viewers, slow_read_kbps=args.slow_read_kbps, stats_rate=args.stats_rate,
                    voters=args.voters, vote_spread=args.vote_spread)
        variants = []
        if args.spawn:
            if not args.stock_only:
                variants.append(("companion", srv.COMPANION_APP))
            if not args.stock_only:
                for patches in args.compare_tuned:
                    variants.append((f"companion+{patches}", srv.COMPANION_APP))
            if args.compare_stock or args.stock_only:
                variants.append(("stock", srv.STOCK_APP))
        else:
            variants.append(("target", None))

        results = []
        for label, app in variants:
            if args.spawn:
                if redis is not None:
                    redis.command("FLUSHALL")
                wenv, launcher = env, "daphne"
                if label.startswith("companion+"):
                    wenv, launcher = {**env, "LOADTEST_PATCHES": label.split("+", 1)[1]}, "loadtest.daphne_tuned"
                workers = srv.Workers(app=app, count=args.workers, env=wenv, logdir=workdir, label=label,
                                      daphne_args=args.daphne_arg, launcher=launcher).start()
                ports, pids = workers.ports, workers.pids
                log(f"{label}: {args.workers} daphne on ports {ports} (pids {pids})")
            else:
                ports = [int(t.rpartition(":")[2]) for t in args.target]
                pids = args.server_pid or pids_listening(ports)
                if not pids:
                    log("no server pid found (pass --server-pid): server CPU/RSS will read 0")
            hub_ports = metrics_ports(ports, args.server_pid)
            if hub_ports != ports:
                log(f"{label}: reading /api/metrics/ from each server's own port {hub_ports}")
            log(f"{label}: {args.viewers} viewers at {args.ramp}/s, {args.rate} comments/s for {args.duration} s")
            profile_out = workdir / f"profile-{label}.txt" if args.profile else None
            # The stock baseline has no hub and no polls: its report says "hub": null, "votes": null.
            stock = label == "stock"
            result = run_phase(dataclasses.replace(plan, voters=0) if stock else plan, label, ports, tokens, event,
                               pids, redis.proc.pid if redis else None, profile_out,
                               metrics_token=None if stock else staff_token, metrics_ports=hub_ports,
                               producer_token=staff_token, voter_tokens=voter_tokens)
            log(f"{label}: phase done")
            if workers is not None:
                result["server"]["alive_at_end"] = workers.alive()
                if not all(result["server"]["alive_at_end"]):
                    result["server"]["log_tail"] = workers.log_tail()
                workers.stop()
                result["server"]["log_errors"] = workers.log_errors()
                workers = None
            log(f"{label}: stopped; checking {len(result['acked_ids'])} acked ids in storage")
            result["storage"] = verify_acked(result, env, workdir)
            if not args.keep_ids:
                result.pop("acked_ids", None)
            results.append(result)

        config = {k: v for k, v in vars(args).items() if k not in ("out", "quiet")}
        config["posters"] = posters
        report = {
            "tool": "companion loadtest 1",
            "code": git_state(),
            "started": stamp,
            "machine": srv.machine(),
            "config": config,
            "event": event,
            "workdir": str(workdir),
            "variants": results,
        }
        by_label = {r["label"]: r for r in results}
        tuned = {label: r for label, r in by_label.items() if label.startswith("companion+")}
        if "companion" in by_label and tuned:
            cs = by_label["companion"]["server"]
            report["comparison_tuned"] = {
                label: {
                    "frames_per_cpu_s_ratio": ratio(r["server"]["frames_per_cpu_s"], cs["frames_per_cpu_s"]),
                    "comments_per_cpu_s_ratio": ratio(r["server"]["comments_delivered_per_cpu_s"],
                                                      cs["comments_delivered_per_cpu_s"]),
                    "acked": [by_label["companion"]["posts"]["acked"], r["posts"]["acked"]],
                    "ack_p99_ms": [by_label["companion"]["posts"]["ack_latency_ms"]["p99"],
                                   r["posts"]["ack_latency_ms"]["p99"]],
                    "post_to_screen_p99_ms": [by_label["companion"]["post_to_screen_ms"]["p99"],
                                              r["post_to_screen_ms"]["p99"]],
                }
                for label, r in tuned.items()
            }
        if "companion" in by_label and "stock" in by_label:
            cs, ss = by_label["companion"]["server"], by_label["stock"]["server"]
            report["comparison"] = {
                "frames_per_cpu_s_ratio": ratio(cs["frames_per_cpu_s"], ss["frames_per_cpu_s"]),
                "comments_per_cpu_s_ratio": ratio(cs["comments_delivered_per_cpu_s"], ss["comments_delivered_per_cpu_s"]),
                "post_to_screen_p99_ms": [by_label["companion"]["post_to_screen_ms"]["p99"],
                                          by_label["stock"]["post_to_screen_ms"]["p99"]],
            }
        text = json.dumps(report, indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n")
        else:
            print(text)
        if not args.quiet:
            for line in summary_lines(report):
                print(line, file=sys.stderr)
        missing = [r["storage"].get("missing") for r in results]
        if not all(m == 0 for m in missing):
            return 3
        if any(r["connections"]["viewers_held"] == 0 and args.viewers > 0 for r in results):
            return 4
        if any(r["votes"] is not None and not r["votes"]["tally_check"]["match"] for r in results):
            return 5
        return 0
    finally:
        signal.alarm(0)
        if workers is not None:
            workers.stop()
        if redis is not None:
            redis.stop()
        if args.spawn and args.sqlite_dir and not args.database_url:
            # A file outside the run's folder (e.g. on /dev/shm): remove what this run created.
            for suffix in ("", "-wal", "-shm", "-journal"):
                path = Path(args.sqlite_dir) / f"{workdir.name}.sqlite3{suffix}"
                path.unlink(missing_ok=True)
