#!/usr/bin/env bash
# The standard load benchmarks (docs/benchmarks.md): spawns Daphne (and a private
# redis-server where needed) on loopback, drives it with `python -m loadtest`, and
# writes one JSON report and one text summary per run.
#
#   scripts/bench.sh [OUTDIR]          all runs (about 10 minutes on 2 cores)
#   scripts/bench.sh OUTDIR a b        only the named runs (a b c c2 d e r s o)
#   QUICK=1 scripts/bench.sh           a tenth of the viewers and shorter windows (a sanity check)
#   NICE=-5 scripts/bench.sh           run tool and servers at that niceness (root; for a busy shared box)
#
# Runs:
#   a   1,000 viewers, 50 comments/s, in-memory layer, one process; Companion vs stock, and
#       Companion with its frames written through autobahn (loadtest.daphne_tuned: autobahn)
#   b   the same on the Redis pub/sub layer (private redis-server), Companion vs stock
#   c   5,000 viewers, 200 comments/s, one room, in-memory layer, one process (the issue-3
#       target); the same server with the display cap's old per-second budget (secondcap)
#       and with 200 ms ticks (tick)
#   c2  5,000 viewers, 200 comments/s, Redis layer, two processes
#   d   2,000 idle viewers: memory per connection; Companion vs stock
#   e   as a, Companion only, SQLite file on disk (the post path's storage cost)
#   r   the connect surge: 5,000 viewers ramped at 1,000/s, nothing posted
#   s   a bigger surge: 10,000 viewers asked for at 2,000/s (past what one tool and one
#       process on 2 cores can do: shows queueing, not failure)
#   o   overload: 6,000 viewers against a process admitting 5,000 (ROOM_MAX_CONNECTIONS),
#       1,000 comments/s (5x the target), plus 200 slow viewers reading 4 KB/s and a stats
#       push twice a second: slow clients lose danmaku, never stats (the report's slow block)
#   p1  8,000 viewers, 200 comments/s, Redis layer, one process (past one core: ticks stretch)
#   p2  the same on two processes (throughput grows with processes)
#   v   4,000 viewers and 2,000 voters over half the window beside 200 comments/s and 2 stats pushes/s;
#       and the same server sending each of a tick's frames in a send of its own (splitsends)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-var/bench/$(date +%Y%m%d-%H%M%S)}
shift || true
RUNS=("$@")
[ ${#RUNS[@]} -eq 0 ] && RUNS=(a b c c2 d e r s o p1 p2 v)
mkdir -p "$OUT"
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
command -v redis-server >/dev/null || { echo "bench: redis-server is not installed (scripts/services.sh install)" >&2; exit 1; }

scale() {  # scale N: N, or N/10 with QUICK=1
    if [ "${QUICK:-0}" = 1 ]; then echo $(( $1 / 10 > 0 ? $1 / 10 : 1 )); else echo "$1"; fi
}
DUR=$([ "${QUICK:-0}" = 1 ] && echo 5 || echo 20)
SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=""

run() {  # run NAME ARGS...: one loadtest run, report in $OUT/NAME.json, summary in $OUT/NAME.txt
    local name=$1; shift
    echo "bench: $name: python -m loadtest $*" >&2
    echo "python -m loadtest $*" >"$OUT/$name.cmd"
    local rc=0
    [ -n "${NICE:-}" ] && set -- "$@" --nice "$NICE"
    "$PY" -m loadtest "$@" --out "$OUT/$name.json" 2> >(tee "$OUT/$name.txt" >&2) || rc=$?
    [ $rc -eq 0 ] || echo "bench: $name exited $rc (3: acked comment missing, 4: no viewer held)" >&2
    sleep 2
    return 0
}

shm=()
[ -n "$SHM" ] && shm=(--sqlite-dir "$SHM")

for r in "${RUNS[@]}"; do
    case "$r" in
        a) run a --spawn --compare-stock --compare-tuned autobahn --viewers "$(scale 1000)" --tracked 20 --rate "$(scale 50)" \
               --ramp 100 --duration "$DUR" "${shm[@]}" ;;
        b) run b --spawn --compare-stock --layer redis --viewers "$(scale 1000)" --tracked 20 --rate "$(scale 50)" \
               --ramp 50 --duration "$DUR" "${shm[@]}" ;;
        c) run c --spawn --compare-tuned secondcap --compare-tuned tick --viewers "$(scale 5000)" --tracked 20 \
               --rate "$(scale 200)" --ramp 500 --duration "$DUR" --drain 10 "${shm[@]}" ;;
        c2) run c2 --spawn --layer redis --workers 2 --viewers "$(scale 5000)" --tracked 20 --rate "$(scale 200)" \
               --ramp 250 --duration "$DUR" --drain 10 "${shm[@]}" ;;
        d) run d --spawn --compare-stock --viewers "$(scale 2000)" --tracked 0 --rate 0 --ramp 50 \
               --settle 5 --duration 5 "${shm[@]}" ;;
        e) run e --spawn --viewers "$(scale 1000)" --tracked 20 --rate "$(scale 50)" --ramp 100 --duration "$DUR" ;;
        r) run r --spawn --viewers "$(scale 5000)" --tracked 0 --rate 0 --ramp 1000 --duration 2 "${shm[@]}" ;;
        s) run s --spawn --viewers "$(scale 10000)" --tracked 0 --rate 0 --ramp 2000 --duration 2 \
               --env ROOM_MAX_CONNECTIONS=20000 "${shm[@]}" ;;
        o) run o --spawn --viewers "$(scale 6000)" --tracked 20 --rate "$(scale 1000)" --ramp 500 --duration "$DUR" \
               --drain 10 --env ROOM_MAX_CONNECTIONS="$(scale 5000)" \
               --slow-viewers "$(scale 200)" --slow-read-kbps 4 --stats-rate 2 "${shm[@]}" ;;
        p1|p2) run "$r" --spawn --layer redis --workers "${r#p}" --viewers "$(scale 8000)" --tracked 20 \
               --rate "$(scale 200)" --ramp 500 --duration "$DUR" --drain 10 --env ROOM_MAX_CONNECTIONS=20000 "${shm[@]}" ;;
        v) run v --spawn --compare-tuned splitsends --viewers "$(scale 4000)" --voters "$(scale 2000)" --vote-spread $((DUR / 2)) \
               --tracked 20 --rate "$(scale 200)" --ramp 500 --duration "$DUR" --drain 10 --stats-rate 2 "${shm[@]}" ;;
        *) echo "bench: unknown run $r (a b c c2 d e r s o p1 p2 v)" >&2; exit 2 ;;
    esac
done

# One line per run and variant: the figures docs/benchmarks.md tabulates.
"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = []
for path in sorted(out.glob("*.json")):
    report = json.loads(path.read_text())
    for v in report["variants"]:
        c, d, s, p, l = v["connections"], v["delivery"], v["server"], v["posts"], v["post_to_screen_ms"]
        rows.append([path.stem, v["label"], report["config"]["layer"], s["processes"],
                     f"{c['viewers_held']}/{c['viewers_target']}", c["failed"], c["dropped"],
                     c.get("connect_to_hello_ms", {}).get("p99"),
                     d["frames_per_s"], d["comments_delivered_per_s"], s["cpu_util_cores"], s["frames_per_cpu_s"],
                     s["comments_delivered_per_cpu_s"], l["p50"], l["p95"], l["p99"], v["screen"]["not_shown"],
                     p["ack_latency_ms"]["p50"], p["ack_latency_ms"]["p99"], p["refused"], p["unresolved"],
                     s["rss_per_connection_kb"], v["storage"].get("missing"), v["machine_load"]["other_cores"]])
head = ["run", "variant", "layer", "procs", "viewers held", "failed", "dropped", "connect p99 ms", "frames/s", "comments/s",
        "server cores", "frames/CPU-s", "comments/CPU-s", "p50 ms", "p95 ms", "p99 ms", "not shown",
        "ack p50", "ack p99", "refused", "unresolved", "KB/conn", "missing", "other load"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
lines += ["| " + " | ".join("" if x is None else str(x) for x in row) + " |" for row in rows]
(out / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
echo "bench: reports in $OUT" >&2
