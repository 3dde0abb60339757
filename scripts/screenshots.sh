#!/usr/bin/env bash
# Screenshot check of the documentation site (not part of `make test`):
# builds the site, serves it on 127.0.0.1, and renders pages to PNG with headless Chromium
# from Debian's packages. Look at the PNGs; the committed ones are in docs/screenshots/.
#
#   scripts/screenshots.sh [OUT_DIR]        (default docs/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/screenshots}
PORT=${PORT:-8765}
VENV=.venv

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet
mkdir -p "$OUT"

"$VENV/bin/python" -m http.server "$PORT" --bind 127.0.0.1 --directory site >/dev/null 2>&1 &
SERVER=$!
PROFILE=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$PROFILE"' EXIT
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break
  sleep 0.1
done

shoot() {  # shoot PAGE FILE [HEIGHT]
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$PROFILE" --hide-scrollbars --virtual-time-budget=8000 \
    --window-size="1280,${3:-1600}" --screenshot="$OUT/$2" \
    "http://127.0.0.1:$PORT/$1" 2>/dev/null
  echo "$OUT/$2"
}

shoot "" landing.png
shoot "tutorial/" tutorial.png
shoot "exercises/" exercises.png
shoot "reference/" api.png
