#!/usr/bin/env bash
# The test command: the whole suite on PostgreSQL, with a private Redis for the tests
# that ask for it, and Debian's Chromium for the browser tests.
#
#   scripts/test.sh [pytest args...]      e.g. scripts/test.sh -m e2e, scripts/test.sh -k poll -x
#
# It installs redis-server, postgresql and chromium with apt-get when they are missing,
# prepares .venv (scripts/setup.sh), starts throwaway servers (scripts/services.sh) and
# stops them on exit. The tests see:
#   DATABASE_URL    postgres://companion:companion@127.0.0.1:PORT/companion (role may CREATEDB;
#                   pytest-django creates test_companion)
#   TEST_REDIS_URL  redis://127.0.0.1:PORT/0 (REDIS_URL is left alone: each test picks
#                   the layer it wants)
#   STATIC_MANIFEST 0 unless set (no collectstatic needed; DEBUG is off under pytest)
# Exit status: pytest's; 5 (nothing collected) counts as failure.
set -euo pipefail
cd "$(dirname "$0")/.."

t_start=$SECONDS
# shellcheck source=services.sh
source scripts/services.sh

# (Called with || so that errexit stays off inside the library's functions.)
svc_install || exit 1

bash scripts/setup.sh --no-migrate

name="test-$$"
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    svc_stop "$name" || true
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

svc_start "$name" $$ || exit 1
export STATIC_MANIFEST="${STATIC_MANIFEST:-0}"
# Throwaway test databases: no persistent connections left open at teardown.
export DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-0}"
if [ -x /usr/bin/chromium ]; then
    export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
fi

echo "test: services up after $((SECONDS - t_start))s; running pytest $*" >&2
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
case $rc in
    0) ;;
    5) echo "test: pytest collected no tests (exit 5): treating as failure" >&2 ;;
    *) echo "test: pytest failed (exit $rc)" >&2 ;;
esac
echo "test: finished in $((SECONDS - t_start))s" >&2
exit $rc
