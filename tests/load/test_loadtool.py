"""
Smoke test of the load tool (loadtest/): a few viewers for two seconds against
a Daphne it spawns on a throwaway SQLite file and the in-memory layer. It checks
the report's shape and the one number that must always hold: no acknowledged
comment is missing from storage. Takes about 10-15 s; with the admission,
slow-viewer and voter runs, about 50 s.
"""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(90)


def test_load_tool_smoke(tmp_path):
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--spawn", "--viewers", "12", "--tracked", "3", "--posters", "2",
         "--rate", "10", "--duration", "2", "--settle", "0.5", "--drain", "3", "--ramp", "100",
         "--database-url", f"sqlite:///{tmp_path / 'load.sqlite3'}", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert {"machine", "config", "code", "variants"} <= report.keys()
    (run,) = report["variants"]
    assert run["label"] == "companion"
    for key in ("connections", "delivery", "server", "posts", "post_to_screen_ms", "screen", "storage",
                "errors_by_code", "client", "machine_load", "window_s"):
        assert key in run, key
    conn = run["connections"]
    assert {"attempted", "held", "failed", "failed_by_reason", "dropped_by_reason"} <= conn.keys()
    assert conn["attempted"] == 14 and conn["held"] == 14, conn
    assert {"frames_per_s", "comments_delivered_per_s"} <= run["delivery"].keys()
    assert {"frames_per_cpu_s", "rss_per_connection_kb", "cpu_s"} <= run["server"].keys()
    assert {"p50", "p95", "p99"} <= run["post_to_screen_ms"].keys()
    assert {"p50", "p99"} <= run["posts"]["ack_latency_ms"].keys()
    assert "refused_by_code" in run["posts"]
    posts = run["posts"]
    assert posts["sent"] == 20 and posts["acked"] == 20, posts
    assert run["delivery"]["comments_delivered_per_s"] > 0
    assert run["post_to_screen_ms"]["n"] > 0
    # The number that must hold: every acknowledged comment is in the database.
    assert run["storage"]["checked"] == 20
    assert run["storage"]["missing"] == 0
    # The server's own counters, read from /api/metrics/ around the window.
    hub = run["hub"]
    assert "error" not in hub, hub
    assert hub["window"]["frames_sent"] > 0 and hub["window"]["batches"]["danmaku-posts"] >= 1, hub
    assert hub["totals"]["refused"] == 0 and hub["totals"]["connections"] == 14, hub
    (process,) = hub["processes"]
    assert process["after"]["max_connections"] > 0 and process["pid"] in run["server_pids"]


def test_a_full_daphne_refuses_with_try_again_later(tmp_path):
    """Admission control through real Daphne: past ROOM_MAX_CONNECTIONS sockets close with 4013, no traceback."""
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--spawn", "--viewers", "12", "--tracked", "3", "--posters", "2",
         "--rate", "10", "--duration", "1", "--settle", "0.5", "--drain", "2", "--ramp", "100",
         "--env", "ROOM_MAX_CONNECTIONS=10",
         "--database-url", f"sqlite:///{tmp_path / 'load.sqlite3'}", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = json.loads(out.read_text())["variants"]
    conn = run["connections"]
    # Posters and tracked viewers connect first (5), then 9 counting viewers: 5 fit.
    assert conn["held"] == 10 and conn["failed_by_reason"] == {"viewer:closed_4013": 4}, conn
    assert run["posts"]["acked"] == 10 and run["storage"]["missing"] == 0
    # The hub counted the same refusals (during the ramp, before the window).
    assert run["hub"]["totals"]["refused"] == 4, run["hub"]
    assert run["hub"]["totals"]["connections"] == 10, run["hub"]
    assert not (run["server"].get("log_errors") or {}).get("tracebacks"), run["server"].get("log_errors")


def test_stalled_viewers_lose_danmaku_never_stats(tmp_path):
    """
    Three stalled viewers (reading nothing during the window) beside 20 fast
    ones: once their kernel buffers are full, the hub keeps their frames back,
    every stats push and only the newest danmaku (the older are dropped), and
    sends them when they read again; the fast viewers see the last push. The
    display cap is lifted so that enough bytes flow to fill the kernel's
    buffers within the window; ROOM_STALLED_CLIENT_BYTES stays at its default
    (1 MiB), which the stats frames alone never reach, so none is closed.
    """
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--spawn", "--viewers", "20", "--tracked", "3", "--rate", "300",
         "--duration", "5", "--settle", "0.5", "--drain", "3", "--ramp", "200",
         "--slow-viewers", "3", "--slow-read-kbps", "0", "--stats-rate", "5",
         "--env", "ROOM_DISPLAY_CAP_PER_SEC=100000",
         "--database-url", f"sqlite:///{tmp_path / 'load.sqlite3'}", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = json.loads(out.read_text())["variants"]
    assert run["posts"]["acked"] == run["posts"]["sent"] == 1500 and run["storage"]["missing"] == 0, run["posts"]
    assert run["hub"]["window"]["frames_skipped_slow"] > 0, run["hub"]
    slow = run["slow"]
    assert slow["config"] == {"slow_viewers": 3, "read_kbps": 0.0, "rcvbuf_bytes": 8192, "mss": 1400,
                              "stats_rate": 5.0}
    pushes, fast, stalled = slow["stats_pushes"], slow["fast"], slow["slow"]
    assert pushes["sent"] == pushes["ok"] == pushes["last_seq"] == 25, pushes
    assert fast["saw_last_stats"] == fast["open"] == fast["clients"] > 20, fast
    # Stalled: nothing read while throttled; afterwards every stats frame the others got, fewer comments.
    assert stalled["at_drain_end"]["danmaku_frames_mean"] == 0 and stalled["at_drain_end"]["saw_last_stats"] == 0
    assert stalled["clients"] == stalled["open"] == stalled["saw_last_stats"] == 3 and stalled["closed"] == 0, stalled
    assert stalled["stats_frames_min"] == fast["stats_frames_min"] > 0, (stalled, fast)
    assert stalled["comments_mean"] < fast["comments_mean"] == 1500, (stalled, fast)


def test_voters_vote_once_each_and_the_tally_matches_the_acks(tmp_path):
    """
    30 voters beside 10 viewers, their votes spread over 2 s in a poll the tool
    launches and closes through the producer API: every vote is acknowledged
    once, the final tally per option equals the acks per option, and the
    viewers get coalesced tallies and the closed poll. The stock baseline has
    no polls: its variant runs without voters and says ``"votes": null``.
    """
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--spawn", "--compare-stock", "--viewers", "10", "--tracked", "2",
         "--rate", "0", "--duration", "2", "--settle", "0.5", "--drain", "3", "--ramp", "200",
         "--voters", "30", "--vote-spread", "2",
         "--database-url", f"sqlite:///{tmp_path / 'load.sqlite3'}", "--out", str(out), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run, stock = json.loads(out.read_text())["variants"]
    assert stock["label"] == "stock" and stock["votes"] is None and "voter" not in stock["connections"]["held_by_role"]
    assert run["connections"]["held_by_role"]["voter"] == 30, run["connections"]
    votes = run["votes"]
    assert votes["error"] is None and votes["planned"] == votes["sent"] == votes["acked"] == 30, votes
    assert votes["refused"] == 0 and votes["refused_by_code"] == {} and votes["unresolved"] == 0, votes
    assert {"p50", "p99"} <= votes["ack_latency_ms"].keys() and votes["ack_latency_ms"]["n"] == 30
    check = votes["tally_check"]
    assert check["match"] is True and check["total"] == 30, check
    assert check["tally"] == check["expected"] and sum(check["expected"].values()) == 30, check
    frames = votes["poll_frames"]
    assert frames["viewers"] == frames["saw_closed"] == 10 and frames["mean"] > 0, frames


def test_metrics_are_read_from_each_server_process_own_port():
    """Behind a proxy (--target its port, --server-pid each process), /api/metrics/ is read from each pid's port."""
    import os
    import socket

    from loadtest.cli import metrics_ports

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        own = listener.getsockname()[1]
        assert metrics_ports([8080], [os.getpid()]) == [own]
        assert metrics_ports([8080], []) == [8080]


def test_a_failed_metrics_fetch_is_reported_not_fatal():
    """A server that does not answer /api/metrics/ gives ``"hub": {"error": ...}``, and the run goes on."""
    from loadtest.runner import Phase, Plan
    from loadtest.server import free_ports

    phase = Phase(Plan(), label="companion", ports=free_ports(1), tokens=[], event={}, server_pids=[],
                  metrics_token="not-a-token")
    fetched = asyncio.run(phase.hub_metrics())
    assert isinstance(fetched, str) and "ConnectionRefusedError" in fetched
    assert phase.hub_report(fetched, fetched) == {"error": fetched}
