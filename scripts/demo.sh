#!/usr/bin/env bash
# The demo command: one process, no services. SQLite (db.sqlite3), the in-memory channel
# layer, Celery tasks in-process, DEBUG on. Ctrl-C stops everything it started.
#
#   scripts/demo.sh                  http://127.0.0.1:8000/events/demo/
#   PORT=8001 HOST=0.0.0.0 scripts/demo.sh
#   DEMO_CROWD=0 scripts/demo.sh     without the background crowd (manage.py demo_crowd)
#   DEMO_REDIS=1 scripts/demo.sh     a private Redis as channel layer and cache (the crowd posts
#                                    through the API, so its comments fly live either way)
#
# It creates (once) a superuser `admin` (password `admin`, or DEMO_ADMIN_PASSWORD) for the
# admin, moderation and producer pages; viewers join as guests or sign up.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
URL="http://127.0.0.1:$PORT"
[ "$HOST" = 127.0.0.1 ] || [ "$HOST" = 0.0.0.0 ] || URL="http://$HOST:$PORT"

# The embedded default, whatever the calling shell exports.
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL
export DEBUG=1
# No Celery services: the server runs the periodic jobs (polls closing, summaries) itself.
export EMBEDDED_BEAT=1

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "demo: port $PORT is in use; stop what runs there or pick another: PORT=8001 scripts/demo.sh" >&2
    exit 1
fi

bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py seed_demo
$PY manage.py shell -v 0 -c "
import os
from accounts.models import User
if not User.objects.filter(username='admin').exists():
    User.objects.create_superuser('admin', 'admin@example.com', os.environ.get('DEMO_ADMIN_PASSWORD') or 'admin')
    print('demo: created superuser admin')
"

crowd=0
if [ "${DEMO_CROWD:-1}" != 0 ] && $PY manage.py help demo_crowd >/dev/null 2>&1; then
    crowd=1
fi

pids=()
redis_dir=""
cleanup() {
    trap - EXIT INT TERM
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "$redis_dir" ]; then
        # shellcheck source=services.sh
        source scripts/services.sh
        svc_stop_redis "$redis_dir" || true
        rm -rf "$redis_dir"
    fi
    echo "demo: stopped" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${DEMO_REDIS:-0}" = 1 ]; then
    # shellcheck source=services.sh
    source scripts/services.sh
    redis_dir="var/demo-redis-$$"
    rport=$(svc_start_redis "$redis_dir") || { echo "demo: could not start redis-server" >&2; exit 1; }
    export REDIS_URL="redis://127.0.0.1:$rport/0" CELERY_TASK_ALWAYS_EAGER=1
    echo "demo: channel layer on Redis $REDIS_URL" >&2
fi

.venv/bin/daphne -b "$HOST" -p "$PORT" --websocket-max-message-size 65536 \
    companion.asgi:application &
daphne_pid=$!
pids+=("$daphne_pid")

for _ in $(seq 1 120); do
    kill -0 "$daphne_pid" 2>/dev/null || { echo "demo: daphne exited" >&2; wait "$daphne_pid"; exit 1; }
    if $PY -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$URL/healthz" 2>/dev/null; then
        break
    fi
    sleep 0.5
done

if [ "$crowd" = 1 ]; then
    export COMPANION_URL="$URL"
    $PY manage.py demo_crowd >var/demo_crowd.log 2>&1 &
    pids+=("$!")
    crowd_note="The demo crowd is commenting (log: var/demo_crowd.log)."
    # The producer's data feed: a downhill final's splits, standings, key moments and polls,
    # played through the REST API as the demo producer, again and again.
    $PY manage.py play_feed feeds/alpine-downhill-final.jsonl --slug demo --url "$URL" --user demo-producer \
        --loop >var/play_feed.log 2>&1 &
    pids+=("$!")
    crowd_note="$crowd_note
  The producer feed plays stats, key moments and polls (log: var/play_feed.log)."
else
    crowd_note="No demo crowd, no producer feed."
fi

cat <<EOF

  Companion demo is running: open $URL/events/demo/

  To comment: "Join as guest" on the page, or sign up at $URL/accounts/signup/ (log in: $URL/accounts/login/).
  Admin, moderation, producer: $URL/admin/ as admin / ${DEMO_ADMIN_PASSWORD:-admin} (superuser created by this script if missing).
  API docs: $URL/api/docs/    Health: $URL/healthz
  $crowd_note
  Ctrl-C stops it all.

EOF

set +e
wait "$daphne_pid"
rc=$?
exit $rc
