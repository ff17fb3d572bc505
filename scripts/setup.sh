#!/usr/bin/env bash
# Prepare a checkout to run: .venv on Python 3.12+, requirements, front-end vendor files,
# database migrations. Idempotent and quick when nothing changed.
#
#   scripts/setup.sh [--no-migrate] [--collectstatic]
#
# Environment: PYTHON=/path/to/python3.12 picks the interpreter; DATABASE_URL (if set)
# is the database that gets migrated (SQLite db.sqlite3 otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

migrate=1
collectstatic=0
for arg in "$@"; do
    case "$arg" in
        --no-migrate) migrate=0 ;;
        --collectstatic) collectstatic=1 ;;
        *) echo "usage: scripts/setup.sh [--no-migrate] [--collectstatic]" >&2; exit 2 ;;
    esac
done

log() { echo "setup: $*" >&2; }

mkdir -p var
# Two setups at once (parallel test runs) must not pip install into one venv together.
exec 9>var/setup.lock
flock 9

py_ok() {  # usable interpreter: Python 3.12 or newer with venv support
    [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null
}

find_python() {
    local c roots=() r
    if [ -n "${PYTHON:-}" ]; then
        py_ok "$PYTHON" && { echo "$PYTHON"; return; }
        log "PYTHON=$PYTHON is not a Python 3.12+ interpreter"; return 1
    fi
    command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root 2>/dev/null || true)")
    roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv")
    # 3.12 first (what the project is tested on), then newer ones.
    for r in "${roots[@]}"; do
        [ -n "$r" ] && [ -d "$r/versions" ] || continue
        for c in $(ls -d "$r"/versions/3.12.* 2>/dev/null | sort -V -r) \
                 $(ls -d "$r"/versions/3.1[3-9].* 2>/dev/null | sort -V); do
            py_ok "$c/bin/python3" && { echo "$c/bin/python3"; return; }
        done
    done
    for c in python3.12 python3.13 python3.14 python3; do
        c=$(command -v "$c" 2>/dev/null) || continue
        # A pyenv shim for a version pyenv does not hold fails py_ok and is skipped.
        py_ok "$c" && { echo "$c"; return; }
    done
    log "no Python 3.12+ found (tried pyenv versions, python3.12/3.13 on PATH); set PYTHON=/path/to/python3.12"
    return 1
}

# --- virtual environment ----------------------------------------------------------
if ! py_ok .venv/bin/python; then
    PY=$(find_python)
    log "creating .venv with $PY ($("$PY" -V 2>&1))"
    rm -rf .venv
    "$PY" -m venv .venv
fi

stamp=.venv/.requirements.sha256
want=$( { cat requirements.txt; .venv/bin/python -VV; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing requirements.txt"
    t0=$SECONDS
    .venv/bin/python -m pip install --no-input --disable-pip-version-check -q \
        --timeout 60 --retries 5 -r requirements.txt
    echo "$want" >"$stamp"
    log "requirements installed in $((SECONDS - t0))s"
fi

# --- front-end vendor files (static/vendor/, not in git) ------------------------------
if [ -f scripts/vendor.sh ]; then
    vstamp=var/vendor.sha256
    vwant=$( { cat scripts/vendor.sh package.json package-lock.json 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$vstamp" 2>/dev/null)" != "$vwant" ] || [ -z "$(ls -A static/vendor 2>/dev/null)" ]; then
        log "running scripts/vendor.sh"
        t0=$SECONDS
        if ! bash scripts/vendor.sh; then
            log "scripts/vendor.sh failed; retrying once"
            sleep 5
            bash scripts/vendor.sh
        fi
        echo "$vwant" >"$vstamp"
        log "vendor files ready in $((SECONDS - t0))s"
    fi
fi

# --- database and static files ----------------------------------------------------------
if [ "$migrate" = 1 ]; then
    .venv/bin/python manage.py migrate --noinput -v 0
fi
if [ "$collectstatic" = 1 ]; then
    .venv/bin/python manage.py collectstatic --noinput -v 0
fi
log "ready ($ROOT/.venv, $(.venv/bin/python -V))"
