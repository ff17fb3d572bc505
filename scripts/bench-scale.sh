#!/usr/bin/env bash
# Scale-out benchmark in the production topology (docs/benchmarks.md, "Scale-out
# through nginx"): for each N, scripts/prod.sh starts nginx in front of N Daphne
# processes sharing a private Redis and PostgreSQL (plus Celery worker and beat),
# then the load tool drives nginx (`--target`) and measures every Daphne process
# (`--server-pid`, CPU summed), and, through loadtest.scale, nginx, Redis,
# PostgreSQL and Celery over the same window. One JSON report per run.
#
#   scripts/bench-scale.sh [OUTDIR]                    N = 1 2, once each
#   NS="1 2 3" REPEAT=2 scripts/bench-scale.sh         N = 1 2 3, the list twice (1 2 3 1 2 3)
#   VIEWERS=2000 RATE=100 RAMP=100 DURATION=20 DRAIN=10 TRACKED=20   (the defaults)
#   EXTRA="--slow-viewers 100 --slow-read-kbps 4 --stats-rate 2"   more load-tool options
#   NICE=-10 (default; dropped silently where not allowed), NICE= to run unniced
#   PORT=18080 DAPHNE_BASE_PORT=19100 (nginx and the first Daphne; must be free)
#
# Reports: OUTDIR (default var/bench-scale/<stamp>/) gets nN-rR.json (the tool's report
# with a `scale` block), nN-rR.txt (its summary), nN-rR/ (prod.sh's output, Daphne,
# nginx and Celery logs) and table.md. Everything started is stopped at the end, on
# failure and on Ctrl-C. The server keeps its production settings (per-account rate
# limit 5 per 10 s: the tool posts from enough accounts to stay under it).
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-var/bench-scale/$(date +%Y%m%d-%H%M%S)}
NS=${NS:-"1 2"}
REPEAT=${REPEAT:-1}
VIEWERS=${VIEWERS:-2000}
TRACKED=${TRACKED:-20}
RATE=${RATE:-100}
RAMP=${RAMP:-100}
DURATION=${DURATION:-20}
DRAIN=${DRAIN:-10}
SETTLE=${SETTLE:-3}
PORT=${PORT:-18080}
BASE=${DAPHNE_BASE_PORT:-19100}
NICE=${NICE--10}
PY=.venv/bin/python
SVC=var/services/prod   # scripts/prod.sh's service set
mkdir -p "$OUT"

log() { echo "bench-scale: $*" >&2; }

nice_cmd=()
if [ -n "$NICE" ] && nice -n "$NICE" true 2>/dev/null && [ "$(nice -n "$NICE" nice)" = "$NICE" ]; then
    nice_cmd=(nice -n "$NICE")
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

prod_pid=""
tool_pid=""
started_pids=()   # daphne, celery, nginx master: stopped by pid if prod.sh left them

stop_tool() {
    [ -n "$tool_pid" ] || return 0
    if kill -0 "$tool_pid" 2>/dev/null; then
        log "stopping the load tool ($tool_pid)"
        kill -TERM "$tool_pid" 2>/dev/null
        for _ in $(seq 1 20); do kill -0 "$tool_pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$tool_pid" 2>/dev/null && kill -KILL "$tool_pid" 2>/dev/null
    fi
    tool_pid=""
}

stop_prod() {
    [ -n "$prod_pid" ] || return 0
    log "stopping scripts/prod.sh ($prod_pid) at ${SECONDS}s"
    if kill -0 "$prod_pid" 2>/dev/null; then
        kill -TERM "$prod_pid" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$prod_pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$prod_pid" 2>/dev/null && kill -KILL "$prod_pid" 2>/dev/null
    fi
    wait "$prod_pid" 2>/dev/null
    local pid
    for pid in "${started_pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${started_pids[@]}"; do
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    done
    # prod.sh's own cleanup may stop half-way (a failing `kill` under `set -e`); finish it.
    if [ -d "$SVC" ] && [ "$(cat "$SVC/owner" 2>/dev/null)" = "$prod_pid" ]; then
        bash scripts/services.sh stop prod
    fi
    prod_pid=""
    started_pids=()
}

on_exit() {
    trap - EXIT INT TERM
    stop_tool
    stop_prod
}
trap on_exit EXIT
trap 'log interrupted; exit 130' INT
trap 'exit 143' TERM

# Another prod.sh (someone else's) owns the service set: do not take it over.
if [ -d "$SVC" ]; then
    owner=$(cat "$SVC/owner" 2>/dev/null || echo -)
    if [ "$owner" != "-" ] && kill -0 "$owner" 2>/dev/null; then
        log "scripts/prod.sh is already running (pid $owner, $SVC); stop it first"
        exit 1
    fi
    log "removing the service set left by a dead prod.sh ($SVC)"
    bash scripts/services.sh stop prod
fi

run_one() {  # run_one N REP
    local n=$1 rep=$2 name="n$1-r$2" dir="$OUT/n$1-r$2" pids=() p
    mkdir -p "$dir"
    for p in "$PORT" $(seq "$BASE" $((BASE + n - 1))); do
        if port_busy "$p"; then log "$name: port $p is in use (set PORT / DAPHNE_BASE_PORT)"; return 1; fi
    done
    # prod.sh appends to nginx's error log; keep only what this run adds.
    local nginx_lines
    nginx_lines=$(cat var/prod/nginx-error.log 2>/dev/null | wc -l)
    log "$name: starting scripts/prod.sh with WORKERS=$n (nginx :$PORT, daphne :$BASE..)"
    WORKERS=$n PORT=$PORT DAPHNE_BASE_PORT=$BASE "${nice_cmd[@]}" bash scripts/prod.sh >"$dir/prod.log" 2>&1 &
    prod_pid=$!

    local ok=0
    for _ in $(seq 1 240); do
        kill -0 "$prod_pid" 2>/dev/null || break
        if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            ok=1
            for p in $(seq "$BASE" $((BASE + n - 1))); do
                curl -sf "http://127.0.0.1:$p/healthz" >/dev/null 2>&1 || ok=0
            done
            [ $ok = 1 ] && break
        fi
        sleep 0.5
    done
    if [ $ok != 1 ]; then
        log "$name: the topology did not come up; see $dir/prod.log"
        tail -n 20 "$dir/prod.log" >&2
        return 1
    fi

    # Pids: Daphne and Celery are prod.sh's children; nginx writes its pid file.
    local daphne=() celery=() child cmd
    for child in $(pgrep -P "$prod_pid"); do
        cmd=$(tr '\0' ' ' <"/proc/$child/cmdline" 2>/dev/null)
        case "$cmd" in
            *daphne*) daphne+=("$child") ;;
            *celery*) celery+=("$child") ;;
        esac
    done
    local nginx_pid redis_pid pg_pid pg_data
    nginx_pid=$(cat var/prod/nginx.pid 2>/dev/null)
    redis_pid=$(cat "$SVC/redis.pid" 2>/dev/null)
    pg_data=$(cat "$SVC/pg.data" 2>/dev/null)
    pg_pid=$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null)
    started_pids=("${daphne[@]}" "${celery[@]}")
    [ -n "$nginx_pid" ] && started_pids+=("$nginx_pid")
    if [ ${#daphne[@]} -ne "$n" ]; then
        log "$name: expected $n Daphne processes under prod.sh ($prod_pid), found ${#daphne[@]}"
        return 1
    fi
    log "$name: daphne ${daphne[*]}, nginx $nginx_pid, redis $redis_pid, postgres $pg_pid, celery ${celery[*]:-none}"

    local env_lines
    env_lines=$(bash scripts/services.sh env prod) || return 1
    eval "$env_lines"
    export DATABASE_URL REDIS_URL=$TEST_REDIS_URL DJANGO_SETTINGS_MODULE=companion.settings

    local groups=(--group "nginx=$nginx_pid" --group "redis=$redis_pid" --group "postgres=$pg_pid")
    [ ${#celery[@]} -gt 0 ] && groups+=(--group "celery=$(IFS=,; echo "${celery[*]}")")
    local spids=()
    for p in "${daphne[@]}"; do spids+=(--server-pid "$p"); done
    local args=(--target "127.0.0.1:$PORT" "${spids[@]}" --seed --viewers "$VIEWERS" --tracked "$TRACKED"
                --rate "$RATE" --ramp "$RAMP" --settle "$SETTLE" --duration "$DURATION" --drain "$DRAIN")
    # shellcheck disable=SC2206  # EXTRA is split into words on purpose
    [ -n "${EXTRA:-}" ] && args+=(${EXTRA})
    echo "${nice_cmd[*]} python -m loadtest.scale ${groups[*]} --redis-url \$REDIS_URL --pg-url \$DATABASE_URL -- ${args[*]}" \
        >"$OUT/$name.cmd"
    log "$name: python -m loadtest ${args[*]}"
    local rc=0
    # In the background and waited for, so that INT or TERM reach the traps at once
    # (a foreground child would delay them until the run ends).
    "${nice_cmd[@]}" "$PY" -m loadtest.scale "${groups[@]}" --redis-url "$REDIS_URL" --pg-url "$DATABASE_URL" \
        -- "${args[@]}" --out "$OUT/$name.json" 2> >(tee "$OUT/$name.txt" >&2) &
    tool_pid=$!
    wait "$tool_pid" || rc=$?
    tool_pid=""
    [ $rc -eq 0 ] || log "$name: the load tool exited $rc (3: acked comment missing, 4: no viewer held)"

    stop_prod
    for p in $(seq "$BASE" $((BASE + n - 1))); do cp "var/prod/daphne-$p.log" "$dir/" 2>/dev/null; done
    cp var/prod/celery-*.log "$dir/" 2>/dev/null
    tail -n +"$((nginx_lines + 1))" var/prod/nginx-error.log >"$dir/nginx-error.log" 2>/dev/null
    local tb ng
    tb=$(cat "$dir"/daphne-*.log 2>/dev/null | grep -c '^Traceback')
    # Before the health check passes, nginx logs "connection refused" for Daphne still starting.
    ng=$(grep -v 'GET /healthz' "$dir/nginx-error.log" 2>/dev/null | grep -c .)
    log "$name: stopped; $tb tracebacks in the Daphne logs, $ng nginx error lines (besides start-up health probes)"
    sleep 3
    return 0
}

status=0
for rep in $(seq 1 "$REPEAT"); do
    for n in $NS; do
        run_one "$n" "$rep" || { status=1; stop_prod; }
    done
done

# One row per run: the figures docs/benchmarks.md tabulates.
"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
head = ["run", "daphne", "viewers held", "failed", "frames/s", "comments/s", "daphne cores", "per process",
        "frames/daphne CPU-s", "nginx", "redis", "postgres", "celery", "frames/stack CPU-s", "tool", "rest",
        "p50 / p99 ms", "acked/sent", "missing", "KB/conn daphne", "KB/conn nginx", "B/frame", "conns per process"]
rows = []
for path in sorted(out.glob("n*-r*.json")):
    report = json.loads(path.read_text())
    for v in report["variants"]:
        c, d, s, p, l = v["connections"], v["delivery"], v["server"], v["posts"], v["post_to_screen_ms"]
        sc = v.get("scale", {})
        g = sc.get("groups", {})
        core = lambda name: g.get(name, {}).get("cores")
        servers = sc.get("servers", [])
        rows.append([path.stem, s["processes"], f"{c['viewers_held']}/{c['viewers_target']}", c["failed"],
                     d["frames_per_s"], d["comments_delivered_per_s"], s["cpu_util_cores"],
                     " + ".join(str(x["cores"]) for x in servers), s["frames_per_cpu_s"],
                     core("nginx"), core("redis"), core("postgres"), core("celery"),
                     sc.get("stack", {}).get("frames_per_stack_cpu_s"), v["client"]["cpu_util_cores"],
                     sc.get("stack", {}).get("other_cores_outside_stack_and_tool"),
                     f"{l['p50']} / {l['p99']}", f"{p['acked']}/{p['sent']}", v["storage"].get("missing"),
                     s["rss_per_connection_kb"], g.get("nginx", {}).get("kb_per_held_connection"),
                     sc.get("stack", {}).get("bytes_per_frame"),
                     " / ".join(str(x["connections"]) for x in servers)])
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
lines += ["| " + " | ".join("" if x is None else str(x) for x in row) + " |" for row in rows]
(out / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
log "reports in $OUT"
exit $status
