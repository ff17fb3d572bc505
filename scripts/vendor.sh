#!/usr/bin/env bash
# Copy the front end's third-party modules from node_modules into static/vendor/.
#
# Idempotent: installs exactly what package-lock.json pins (npm ci; npm install
# only when there is no lock yet), then copies the ES-module builds the pages
# import. static/vendor/ is git-ignored; run this after a checkout and before
# collectstatic. Set VENDOR_SKIP_INSTALL=1 to copy from an existing node_modules.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v npm >/dev/null 2>&1; then
  echo "vendor.sh: npm is required (install Node.js 18+)" >&2
  exit 1
fi

if [[ "${VENDOR_SKIP_INSTALL:-0}" != "1" ]]; then
  if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm install --no-audit --no-fund --loglevel=error
  fi
fi

DEST="static/vendor"
mkdir -p "$DEST/danmaku"

# danmaku (weizhenye/Danmaku): DOM engine, ES module build.
SRC="node_modules/danmaku"
for file in dist/esm/danmaku.dom.js dist/esm/danmaku.dom.min.js LICENSE; do
  install -m 0644 "$SRC/$file" "$DEST/danmaku/$(basename "$file")"
done
node -e 'process.stdout.write(require("./node_modules/danmaku/package.json").version)' > "$DEST/danmaku/VERSION"

echo "vendor.sh: danmaku $(cat "$DEST/danmaku/VERSION") -> $DEST/danmaku/"
