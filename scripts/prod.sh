#!/usr/bin/env bash
# The production topology on one machine: nginx in front of N Daphne processes
# (one per core by default), sharing a private Redis (channel layer, cache, broker)
# and PostgreSQL, plus a Celery worker and beat when the Celery app is present.
# DEBUG off, hashed static files, the same settings as production (over plain
# HTTP on loopback: no TLS redirect, cookies not marked Secure).
#
#   scripts/prod.sh                      http://127.0.0.1:8080/events/demo/
#   WORKERS=4 PORT=8080 scripts/prod.sh
#   scripts/prod.sh --check              start, probe HTTP and WebSocket through nginx, stop
#
# Ctrl-C stops everything it started. Logs: var/prod/.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-$(nproc)}
PORT=${PORT:-8080}
BASE=${DAPHNE_BASE_PORT:-9100}
CHECK=0
[ "${1:-}" = --check ] && CHECK=1
PY=.venv/bin/python
VAR=var/prod
mkdir -p "$VAR"

if ! command -v nginx >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null \
        || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light; } \
        || { echo "prod: could not install nginx (apt-get install -y nginx-light)" >&2; exit 1; }
fi
bash scripts/setup.sh --no-migrate

# shellcheck source=services.sh
source scripts/services.sh
svc_start prod
export REDIS_URL=$TEST_REDIS_URL
export DEBUG=0 STATIC_MANIFEST=1 SECRET_KEY=${SECRET_KEY:-$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')}
export ALLOWED_HOSTS=127.0.0.1,localhost CSRF_TRUSTED_ORIGINS=http://127.0.0.1:$PORT,http://localhost:$PORT
export CELERY_TASK_ALWAYS_EAGER=0

pids=()
cleanup() {
    trap - EXIT INT TERM
    [ -f "$VAR/nginx.pid" ] && kill "$(cat "$VAR/nginx.pid")" 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    svc_stop prod
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

$PY manage.py migrate -v0
$PY manage.py collectstatic --noinput -v0
$PY manage.py seed_demo

upstreams=""
for i in $(seq 0 $((WORKERS - 1))); do
    port=$((BASE + i))
    # A listen backlog above Twisted's default 50, which a connection surge overflows.
    # nginx reaches Daphne over a Unix socket: a Unix stream socket buffers only
    # what the sender's (bounded) send buffer allows, where a TCP hop adds the
    # proxy's autotuned receive buffer and hides a slow client's backlog from
    # the hub; and it uses no ephemeral ports. The TCP port serves health
    # checks and /api/metrics/.
    sock="$(pwd)/$VAR/daphne-$port.sock"
    rm -f "$sock"
    .venv/bin/daphne -e "tcp:port=$port:interface=127.0.0.1:backlog=1024" \
        -e "unix:$sock:backlog=1024:mode=666" --proxy-headers \
        --websocket-max-message-size 65536 \
        companion.asgi:application >"$VAR/daphne-$port.log" 2>&1 &
    pids+=("$!")
    upstreams="$upstreams        server unix:$sock max_fails=0;
"
done

if $PY -c "import companion.celery" 2>/dev/null; then
    .venv/bin/celery -A companion worker -l warning -c 2 >"$VAR/celery-worker.log" 2>&1 &
    pids+=("$!")
    .venv/bin/celery -A companion beat -l warning -s "$VAR/celerybeat-schedule" >"$VAR/celery-beat.log" 2>&1 &
    pids+=("$!")
fi

prefix=$(pwd)/$VAR
# Each viewer holds two descriptors in nginx (client and upstream): ask for what
# the hard limit allows (65,536 where it allows it).
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
cat >"$VAR/nginx.conf" <<CONF
worker_processes auto;
pid $prefix/nginx.pid;
error_log $prefix/nginx-error.log warn;
worker_rlimit_nofile $nofile;
events { worker_connections $((nofile / 2)); }
http {
    access_log off;
    client_body_temp_path $prefix/nginx-tmp;
    proxy_temp_path $prefix/nginx-tmp;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    upstream companion {
        least_conn;
$upstreams        keepalive 64;
    }
    server {
        # A bounded send buffer per client, as Daphne bounds its own
        # (ROOM_SOCKET_SEND_BUFFER): otherwise the kernel queues megabytes for
        # a slow reader before nginx stops reading from Daphne, and the hub
        # cannot see that the client is behind.
        listen 127.0.0.1:$PORT sndbuf=64k;
        location / {
            proxy_pass http://companion;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_buffering off;
        }
    }
}
CONF
mkdir -p "$VAR/nginx-tmp"
nginx -c "$prefix/nginx.conf" -p "$prefix"

URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
    curl -sf "$URL/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done

if [ "$CHECK" = 1 ]; then
    curl -sf "$URL/healthz"; echo
    curl -sf -o /dev/null -w "room page: %{http_code}\n" "$URL/events/demo/"
    $PY - "$URL" <<'PYCHECK'
import asyncio, json, sys
import websockets

async def main(url):
    ws_url = url.replace("http", "ws") + "/ws/events/demo/"
    async with websockets.connect(ws_url, origin=url) as ws:
        hello = json.loads(await ws.recv())
        print("socket through nginx:", hello["type"], hello["event"]["slug"])

asyncio.run(main(sys.argv[1]))
PYCHECK
    exit 0
fi

cat <<MSG

  Companion (production topology) is running: open $URL/events/demo/
  nginx :$PORT -> $WORKERS Daphne processes on :$BASE.. sharing Redis ($REDIS_URL) and PostgreSQL.
  Logs in $VAR/. Ctrl-C stops it all.

MSG
wait "${pids[0]}"
