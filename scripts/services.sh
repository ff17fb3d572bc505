#!/usr/bin/env bash
# Private Redis and PostgreSQL servers for tests and local work.
#
# As a command:
#   scripts/services.sh install         apt-get install what is missing (redis, postgresql, chromium)
#   scripts/services.sh start [NAME]    start both on free loopback ports, print the env to use
#   scripts/services.sh env [NAME]      print `export ...` lines for a started set
#   scripts/services.sh stop [NAME]     stop a started set and delete its data
#   scripts/services.sh status          list started sets
#   e.g.  scripts/services.sh start && eval "$(scripts/services.sh env)" && .venv/bin/python -m pytest -k poll
#
# As a library (scripts/test.sh):  source scripts/services.sh; svc_start NAME; trap 'svc_stop NAME' EXIT
#
# Every set is private and throwaway: Redis without persistence (state in var/services/NAME/),
# a fresh PostgreSQL cluster (trust auth, loopback only, fsync off) in a temporary directory
# under /tmp (the postgres user cannot reach a checkout under /root). Sets whose owner
# process died (a killed test run) are cleaned up by the next start.
# Exported after a start: DATABASE_URL (role `companion` with CREATEDB, database `companion`),
# TEST_REDIS_URL (redis://127.0.0.1:PORT/0), SVC_REDIS_PORT, SVC_PG_PORT.

SVC_ROOT="${SVC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
SVC_STATE="$SVC_ROOT/var/services"

svc_log() { echo "services: $*" >&2; }

svc_pg_bin() {
    # Newest PostgreSQL installed by Debian's packages, or initdb on PATH.
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        echo "$d"
    elif command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
    fi
}

svc_missing_packages() {
    local pkgs=()
    command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || pkgs+=(redis-server)
    [ -n "$(svc_pg_bin)" ] || pkgs+=(postgresql)
    [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
    echo "${pkgs[*]}"
}

svc_install() {
    local missing
    missing=$(svc_missing_packages)
    [ -z "$missing" ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            svc_log "missing packages: $missing; install them as root: apt-get install -y $missing"
            return 1
        fi
    fi
    svc_log "installing: $missing"
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
        -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    # shellcheck disable=SC2086
    if ! "${apt[@]}" install --no-install-recommends $missing; then
        # Package lists absent or stale (fresh images ship without them).
        "${apt[@]}" update
        # shellcheck disable=SC2086
        "${apt[@]}" install --no-install-recommends $missing
    fi
    missing=$(svc_missing_packages)
    if [ -n "$missing" ]; then
        svc_log "still missing after apt-get install: $missing"
        return 1
    fi
}

svc_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

svc_free_port() {
    # A port below Linux's ephemeral range (32768+) that nothing listens on.
    local p i
    for i in $(seq 1 50); do
        p=$((20000 + RANDOM % 12000))
        svc_port_busy "$p" || { echo "$p"; return 0; }
    done
    return 1
}

# Run a PostgreSQL binary as the postgres user when we are root (it refuses to run as root).
svc_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

svc_start_redis() {
    local dir port i
    mkdir -p "$1" && dir=$(cd "$1" && pwd) || return 1  # redis chdirs to --dir before opening files
    for i in 1 2 3 4 5; do
        port=$(svc_free_port) || return 1
        rm -f "$dir/redis.pid"
        if redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" \
            --save '' --appendonly no --maxclients 10000 >/dev/null; then
            local t
            for t in $(seq 1 100); do
                if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
                    echo "$port" >"$dir/redis.port"
                    echo "$port"
                    return 0
                fi
                sleep 0.05
            done
        fi
        svc_log "redis did not start on port $port (try $i):"
        tail -n 5 "$dir/redis.log" >&2 2>/dev/null
        svc_stop_redis "$dir"
    done
    return 1
}

svc_stop_redis() {
    local dir=$1 pid t
    [ -f "$dir/redis.pid" ] || return 0
    pid=$(cat "$dir/redis.pid" 2>/dev/null)
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        for t in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -9 "$pid" 2>/dev/null || true  # gone already: fine (callers run under set -e)
    fi
    rm -f "$dir/redis.pid"
}

svc_start_postgres() {
    local dir=$1 bin data port i
    bin=$(svc_pg_bin)
    [ -n "$bin" ] || { svc_log "PostgreSQL is not installed"; return 1; }
    data=$(mktemp -d "${TMPDIR:-/tmp}/companion-pg.XXXXXX") || return 1
    echo "$data" >"$dir/pg.data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    if ! svc_as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 -N \
        >"$dir/initdb.log" 2>&1; then
        svc_log "initdb failed:"; tail -n 20 "$dir/initdb.log" >&2
        return 1
    fi
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
EOF
    for i in 1 2 3 4 5; do
        port=$(svc_free_port) || return 1
        if svc_as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $port" -w -t 60 start >/dev/null; then
            echo "$port" >"$dir/pg.port"
            echo "$port"
            return 0
        fi
        svc_log "postgres did not start on port $port (try $i):"
        tail -n 5 "$data/server.log" >&2 2>/dev/null
    done
    return 1
}

svc_stop_postgres() {
    local dir=$1 bin data
    [ -f "$dir/pg.data" ] || return 0
    data=$(cat "$dir/pg.data")
    bin=$(svc_pg_bin)
    if [ -n "$data" ] && [ -d "$data" ]; then
        if [ -f "$data/postmaster.pid" ] && [ -n "$bin" ]; then
            svc_as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 \
                || svc_as_pg "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
                || true  # a dead cluster's stale postmaster.pid: nothing to stop
        fi
        case "$data" in */companion-pg.*) rm -rf "$data" ;; esac
    fi
    rm -f "$dir/pg.data"
}

svc_env_lines() {
    local dir="$SVC_STATE/${1:-dev}"
    [ -f "$dir/pg.port" ] && [ -f "$dir/redis.port" ] || { svc_log "no services named ${1:-dev}"; return 1; }
    echo "export DATABASE_URL=postgres://companion:companion@127.0.0.1:$(cat "$dir/pg.port")/companion"
    echo "export TEST_REDIS_URL=redis://127.0.0.1:$(cat "$dir/redis.port")/0"
    echo "export SVC_PG_PORT=$(cat "$dir/pg.port")"
    echo "export SVC_REDIS_PORT=$(cat "$dir/redis.port")"
}

svc_stop() {
    local name=${1:-dev}
    local dir="$SVC_STATE/$name"
    [ -d "$dir" ] || return 0
    svc_stop_redis "$dir"
    svc_stop_postgres "$dir"
    rm -rf "$dir"
}

svc_reap_orphans() {
    # Sets left behind by runs that were killed before their trap could stop them.
    local dir owner
    for dir in "$SVC_STATE"/*/; do
        [ -f "$dir/owner" ] || continue
        owner=$(cat "$dir/owner")
        [ "$owner" = "-" ] && continue
        if ! kill -0 "$owner" 2>/dev/null; then
            svc_log "cleaning up services left by dead process $owner ($(basename "$dir"))"
            svc_stop "$(basename "$dir")"
        fi
    done
}

# svc_start NAME [OWNER_PID]: start Redis and PostgreSQL, export the env (see top).
# OWNER_PID "-" means the set lives until `svc_stop NAME`.
svc_start() {
    local name=${1:-dev} owner=${2:-$$}
    local dir="$SVC_STATE/$name" rport pport bin
    mkdir -p "$SVC_STATE"
    svc_reap_orphans
    if [ -d "$dir" ]; then
        svc_log "services '$name' already exist; stopping them first"
        svc_stop "$name"
    fi
    mkdir -p "$dir"
    echo "$owner" >"$dir/owner"
    svc_missing_packages | grep -q . && { svc_install || return 1; }
    rport=$(svc_start_redis "$dir") || { svc_log "could not start redis"; return 1; }
    pport=$(svc_start_postgres "$dir") || { svc_log "could not start postgres"; return 1; }
    bin=$(svc_pg_bin)
    if ! svc_as_pg "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pport" -U postgres -d postgres \
        -c "CREATE ROLE companion LOGIN CREATEDB PASSWORD 'companion'" \
        -c "CREATE DATABASE companion OWNER companion" >/dev/null; then
        svc_log "could not create the companion role and database"
        return 1
    fi
    eval "$(svc_env_lines "$name")"
    svc_log "redis on 127.0.0.1:$rport, postgres on 127.0.0.1:$pport (set '$name')"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    cmd=${1:-}
    case "$cmd" in
        install) svc_install ;;
        start)
            svc_start "${2:-dev}" - || { svc_stop "${2:-dev}"; exit 1; }
            echo "# eval \"\$(scripts/services.sh env ${2:-dev})\" to use them:" >&2
            svc_env_lines "${2:-dev}"
            ;;
        env) svc_env_lines "${2:-dev}" ;;
        stop) svc_stop "${2:-dev}" ;;
        status)
            for d in "$SVC_STATE"/*/; do
                [ -d "$d" ] || continue
                n=$(basename "$d")
                echo "$n: redis $(cat "$d/redis.port" 2>/dev/null || echo -) postgres $(cat "$d/pg.port" 2>/dev/null || echo -) owner $(cat "$d/owner" 2>/dev/null)"
            done
            ;;
        *)
            sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
            exit 2
            ;;
    esac
fi
