"""
The load tool, plus what the rest of a production stack spends: a wrapper for
scale-out runs through nginx (``scripts/bench-scale.sh``).

    python -m loadtest.scale [--group NAME=PID[,PID...]]... [--redis-url URL] [--pg-url URL] \\
        -- --target 127.0.0.1:8080 --server-pid P1 --server-pid P2 ... --out report.json

Everything after ``--`` goes to ``python -m loadtest`` unchanged (``--out`` is
required). Over exactly the tool's window (its posting loop) this measures:

- per ``--group`` (nginx, redis, postgres, celery...): CPU seconds of the
  process trees rooted at the given pids (children's CPU included, also of
  children that exited during the window, such as PostgreSQL backends: a
  process's reaped children are in its ``children_*`` times), and RSS at the
  start of the phase and of the window (``KB per held connection`` for nginx);
- per Daphne process (each ``--server-pid``): cores busy, RSS, and the
  established client connections on its listening port (``ss``), so the
  balance nginx made is visible;
- with ``--redis-url``: Redis INFO deltas (commands, PUBLISHes, bytes in and out,
  pub/sub channels); with ``--pg-url``: pg_stat_database deltas (commits,
  rows inserted and updated).

The tool's own ``hub`` block (each Daphne's /api/metrics/) is read from every
``--server-pid``'s own port, not through nginx, which would hand each request to
one process or another (``cli.metrics_ports``): give every Daphne's pid.

The figures go into the report as ``scale`` (per variant) with a stack total:
``frames_per_stack_cpu_s`` counts Daphne, nginx, Redis, PostgreSQL and the
groups together. Nothing in the tool's own measurement changes: the wrapper
hooks ``runner.Phase.run`` and ``runner.Phase.post_loop`` to take snapshots
around them (a few milliseconds of the tool's own CPU).
"""
import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from . import cli, runner

_hooks: dict = {}


def _proc(pid: int):
    try:
        return psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class Trees:
    """CPU and RSS of process trees (roots and all their descendants)."""

    def __init__(self, pids: list[int]):
        self.roots = [p for p in (_proc(pid) for pid in pids) if p is not None]

    def members(self):
        seen = set()
        for root in self.roots:
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                if proc.pid not in seen:
                    seen.add(proc.pid)
                    yield proc

    def cpu_s(self) -> float:
        total = 0.0
        for proc in self.members():
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def rss(self) -> int:
        total = 0
        for proc in self.members():
            try:
                total += proc.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def count(self) -> int:
        return sum(1 for _ in self.members())


def established_on(port: int) -> int | None:
    """Established TCP connections whose local port is ``port`` (accepted by the listener)."""
    ss = shutil.which("ss")
    if ss is None:
        return None
    try:
        out = subprocess.run([ss, "-Htn", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sum(1 for line in out.splitlines() if line.strip())


class RedisStats:
    FIELDS = ("total_commands_processed", "total_net_input_bytes", "total_net_output_bytes",
              "total_connections_received")

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5)

    def snapshot(self) -> dict:
        try:
            info = self.client.info("all")
        except Exception as exc:  # reported, never fatal
            return {"error": str(exc)[:200]}
        snap = {name: info.get(name) for name in self.FIELDS}
        snap["publish_calls"] = (info.get("cmdstat_publish") or {}).get("calls", 0)
        snap["pubsub_channels"] = info.get("pubsub_channels")
        snap["connected_clients"] = info.get("connected_clients")
        snap["used_memory"] = info.get("used_memory")
        return snap


class PgStats:
    QUERY = ("SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched "
             "FROM pg_stat_database WHERE datname = current_database()")

    def __init__(self, url: str):
        self.url = url

    def snapshot(self) -> dict:
        try:
            import psycopg

            with psycopg.connect(self.url, connect_timeout=5, autocommit=True) as conn:
                # Statistics are flushed by backends about once a second; ask for a fresh view.
                conn.execute("SELECT pg_stat_clear_snapshot()")
                row = conn.execute(self.QUERY).fetchone()
                conns = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                     ).fetchone()[0]
        except Exception as exc:  # reported, never fatal
            return {"error": str(exc)[:200]}
        names = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched")
        return {**dict(zip(names, row)), "connections": conns}


def _delta(a: dict, b: dict, per_s: float, keys) -> dict:
    out = {}
    for key in keys:
        if isinstance(a.get(key), (int, float)) and isinstance(b.get(key), (int, float)):
            out[key] = b[key] - a[key]
            out[f"{key}_per_s"] = round((b[key] - a[key]) / per_s, 1) if per_s else None
    return out


def install_hooks(groups: dict[str, list[int]], server_pids: list[int], redis_url: str | None, pg_url: str | None):
    """Wrap Phase.run and Phase.post_loop to take the extra snapshots around the window."""
    trees = {name: Trees(pids) for name, pids in groups.items()}
    servers = {pid: Trees([pid]) for pid in server_pids}
    ports = {pid: cli.listening_ports(pid) for pid in server_pids}
    redis = RedisStats(redis_url) if redis_url else None
    pg = PgStats(pg_url) if pg_url else None
    results: list[dict] = []
    _hooks["results"] = results

    original_run = runner.Phase.run
    original_post_loop = runner.Phase.post_loop

    async def run(self):
        self._scale = {"rss_phase_start": {name: t.rss() for name, t in trees.items()},
                       "phase_start": (time.monotonic(), sum(t.cpu_s() for t in servers.values()),
                                       {name: t.cpu_s() for name, t in trees.items()},
                                       redis.snapshot() if redis else None, pg.snapshot() if pg else None)}
        report = await original_run(self)
        scale = getattr(self, "_scale", {})
        scale["label"] = self.label
        results.append(scale)
        return report

    async def post_loop(self):
        scale = getattr(self, "_scale", None)
        if scale is None:
            scale = self._scale = {"rss_phase_start": {}}
        census: dict = {}

        def take_census():
            time.sleep(1.0)  # inside the window, after the first posts
            census.update({pid: {port: established_on(port) for port in ports[pid]} for pid in server_pids})

        census_thread = threading.Thread(target=take_census, daemon=True)
        r0 = redis.snapshot() if redis else None
        p0 = pg.snapshot() if pg else None
        rss0 = {name: t.rss() for name, t in trees.items()}
        srv_rss0 = {pid: t.rss() for pid, t in servers.items()}
        cpu0 = {name: t.cpu_s() for name, t in trees.items()}
        srv0 = {pid: t.cpu_s() for pid, t in servers.items()}
        wall0, t0 = time.time(), time.monotonic()
        census_thread.start()
        try:
            await original_post_loop(self)
        finally:
            t1, wall1 = time.monotonic(), time.time()
            cpu1 = {name: t.cpu_s() for name, t in trees.items()}
            srv1 = {pid: t.cpu_s() for pid, t in servers.items()}
            r1 = redis.snapshot() if redis else None
            p1 = pg.snapshot() if pg else None
            await asyncio.to_thread(census_thread.join, 30)
            window = t1 - t0
            before = {}
            if "phase_start" in scale:
                # The connect phase (posters, tracked and counting viewers, settle): CPU per connection.
                ps_t, ps_srv, ps_groups, ps_redis, ps_pg = scale.pop("phase_start")
                held = sum(1 for c in self.clients if c.state == runner.OPEN)
                srv_cpu = sum(srv0.values()) - ps_srv
                before = {
                    "s": round(t0 - ps_t, 2),
                    "connections_open": held,
                    "daphne_cpu_s": round(srv_cpu, 3),
                    "daphne_cpu_ms_per_connection": round(srv_cpu * 1000 / held, 3) if held else None,
                    "groups_cpu_s": {name: round(cpu0[name] - ps_groups[name], 3) for name in trees},
                }
                if redis:
                    before["redis"] = _delta(ps_redis, r0, t0 - ps_t, ("total_commands_processed",))
                if pg:
                    before["postgres"] = _delta(ps_pg, p0, t0 - ps_t, ("xact_commit", "tup_fetched"))
            scale.update({
                "connect_phase": before,
                "window": {"start_epoch": round(wall0, 3), "end_epoch": round(wall1, 3), "s": round(window, 3)},
                "groups": {
                    name: {
                        "pids": [p.pid for p in trees[name].roots],
                        "processes": trees[name].count(),
                        "cpu_s": round(cpu1[name] - cpu0[name], 3),
                        "cores": round((cpu1[name] - cpu0[name]) / window, 3) if window else None,
                        "rss_phase_start_mb": round(scale["rss_phase_start"].get(name, 0) / 2**20, 1),
                        "rss_window_start_mb": round(rss0[name] / 2**20, 1),
                    }
                    for name in trees
                },
                "servers": [
                    {
                        "pid": pid,
                        "ports": ports[pid],
                        "cpu_s": round(srv1[pid] - srv0[pid], 3),
                        "cores": round((srv1[pid] - srv0[pid]) / window, 3) if window else None,
                        "rss_window_start_mb": round(srv_rss0[pid] / 2**20, 1),
                        "connections": sum(v for v in census.get(pid, {}).values() if v is not None)
                        if census.get(pid) else None,
                    }
                    for pid in server_pids
                ],
            })
            if redis:
                scale["redis"] = {"start": r0, "end": r1, **_delta(r0, r1, window, (
                    "total_commands_processed", "publish_calls", "total_net_input_bytes",
                    "total_net_output_bytes", "total_connections_received"))}
            if pg:
                scale["postgres"] = {"start": p0, "end": p1, **_delta(p0, p1, window, (
                    "xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_fetched"))}

    runner.Phase.run = run
    runner.Phase.post_loop = post_loop


def annotate(report: dict, results: list[dict]) -> dict:
    """Add each phase's ``scale`` block and stack totals to the tool's report."""
    by_label = {r.get("label"): r for r in results}
    for variant in report.get("variants", []):
        scale = by_label.get(variant["label"])
        if not scale or "window" not in scale:
            continue
        server, delivery, conns = variant["server"], variant["delivery"], variant["connections"]
        groups = scale["groups"]
        group_cpu = sum(g["cpu_s"] for g in groups.values())
        stack_cpu = server["cpu_s"] + group_cpu
        window = variant["window_s"]
        held = conns["held"]
        frames = delivery["frames"]
        for name, g in groups.items():
            grown = g["rss_window_start_mb"] - g["rss_phase_start_mb"]
            g["kb_per_held_connection"] = round(grown * 1024 / held, 1) if held else None
        danmaku_frames = delivery.get("danmaku_frames") or 0
        ml = variant["machine_load"]
        rest = None
        if ml.get("busy_cores") is not None:
            rest = round(ml["busy_cores"] - (server["cpu_util_cores"] or 0) - variant["client"]["cpu_util_cores"]
                         - group_cpu / window, 2)
        scale["stack"] = {
            "note": "stack = Daphne processes + the --group trees (nginx, redis, postgres, celery...)",
            "cpu_s": round(stack_cpu, 3),
            "cores": round(stack_cpu / window, 3) if window else None,
            "frames_per_stack_cpu_s": round(frames / stack_cpu) if stack_cpu > 0 else None,
            "frames_per_daphne_cpu_s": server["frames_per_cpu_s"],
            "bytes_per_frame": round(delivery["bytes_per_s"] * window / frames, 1)
            if frames and delivery.get("bytes_per_s") else None,
            "danmaku_frames": danmaku_frames,
            "comments_per_danmaku_frame": delivery.get("comments_per_frame"),
            "other_cores_outside_stack_and_tool": rest,
        }
        variant["scale"] = scale
    return report


def summary_lines(report: dict) -> list[str]:
    lines = []
    for v in report.get("variants", []):
        s = v.get("scale")
        if not s:
            continue
        st = s["stack"]
        lines.append(f"== scale: {v['label']} ==")
        cp = s.get("connect_phase") or {}
        if cp:
            lines.append(f"  connect phase: {cp['connections_open']} connections, Daphne {cp['daphne_cpu_s']} CPU-s "
                         f"({cp['daphne_cpu_ms_per_connection']} ms per connection), others {cp['groups_cpu_s']}, "
                         f"redis commands {cp.get('redis', {}).get('total_commands_processed')}, postgres commits "
                         f"{cp.get('postgres', {}).get('xact_commit')}, rows read {cp.get('postgres', {}).get('tup_fetched')}")
        for sv in s["servers"]:
            lines.append(f"  daphne pid {sv['pid']} {sv['ports']}: {sv['cores']} cores, {sv['connections']} "
                         f"connections, RSS {sv['rss_window_start_mb']} MB")
        for name, g in s["groups"].items():
            lines.append(f"  {name} ({g['processes']} procs): {g['cores']} cores, RSS {g['rss_phase_start_mb']} -> "
                         f"{g['rss_window_start_mb']} MB ({g['kb_per_held_connection']} KB/conn)")
        if "redis" in s:
            r = s["redis"]
            lines.append(f"  redis: {r.get('total_commands_processed_per_s')} commands/s, "
                         f"{r.get('publish_calls_per_s')} PUBLISH/s, out {r.get('total_net_output_bytes_per_s')} B/s, "
                         f"{r.get('total_connections_received_per_s')} new connections/s, clients "
                         f"{(r.get('start') or {}).get('connected_clients')} -> {(r.get('end') or {}).get('connected_clients')}")
        if "postgres" in s:
            p = s["postgres"]
            lines.append(f"  postgres: {p.get('xact_commit_per_s')} commits/s, {p.get('tup_inserted_per_s')} "
                         f"rows inserted/s")
        lines.append(f"  stack: {st['cores']} cores, {st['frames_per_stack_cpu_s']} frames per stack CPU-s "
                     f"(Daphne alone {st['frames_per_daphne_cpu_s']}), {st['bytes_per_frame']} B/frame; "
                     f"rest of the machine {st['other_cores_outside_stack_and_tool']} cores")
    return lines


def parse_args(argv):
    if "--" not in argv:
        raise SystemExit("usage: python -m loadtest.scale [--group NAME=PIDS]... [--redis-url URL] [--pg-url URL] "
                         "-- LOADTEST ARGS (with --out FILE)")
    split = argv.index("--")
    own, rest = argv[:split], argv[split + 1:]
    p = argparse.ArgumentParser(prog="python -m loadtest.scale", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--group", action="append", default=[], metavar="NAME=PID[,PID...]",
                   help="a process tree to measure over the window (repeat)")
    p.add_argument("--redis-url", default=None, help="Redis to read INFO deltas from")
    p.add_argument("--pg-url", default=None, help="PostgreSQL to read pg_stat_database deltas from")
    args = p.parse_args(own)
    groups = {}
    for item in args.group:
        name, sep, pids = item.partition("=")
        if not sep or not name:
            p.error(f"--group wants NAME=PID[,PID...], got {item!r}")
        groups[name] = [int(x) for x in pids.split(",") if x.strip()]
    tool = cli.parse_args(rest)
    if not tool.out:
        p.error("the load tool's --out FILE is required (the wrapper annotates that report)")
    return args, groups, rest, tool


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, groups, rest, tool = parse_args(argv)
    install_hooks(groups, tool.server_pid, args.redis_url, args.pg_url)
    rc = cli.main(rest)
    out = Path(tool.out)
    if out.exists():
        report = annotate(json.loads(out.read_text()), _hooks.get("results", []))
        report["scale_config"] = {"groups": groups, "redis_url": bool(args.redis_url), "pg_url": bool(args.pg_url)}
        out.write_text(json.dumps(report, indent=2) + "\n")
        if not tool.quiet:
            for line in summary_lines(report):
                print(line, file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
