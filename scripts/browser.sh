#!/usr/bin/env bash
# The pages in a real browser: Debian's Chromium, headless, driven by playwright-core
# (npm, under target/browser, from tests/browser's lockfile; never `playwright
# install`: the browser is the system's). Against a live `serve --dev`, the visitor's
# flows are clicked through as a person would (tests/browser/pages.test.mjs), with
# JavaScript off where it says so and by keyboard only where it says so. Screenshots
# of every page go to target/browser/screenshots. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${GUESTLIST_BIN:-$root/target/debug/guestlist}
[ -n "${GUESTLIST_BIN:-}" ] || cargo build --locked -q -p guestlist
command -v npm >/dev/null || { echo "browser.sh: Node.js and npm are required" >&2; exit 1; }
if ! command -v chromium >/dev/null; then
  echo "browser.sh: installing chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

work=$root/target/browser
mkdir -p "$work"
cp tests/browser/package.json tests/browser/package-lock.json tests/browser/.npmrc "$work/"
if ! (cd "$work" && npm ls --depth=0 >/dev/null 2>&1); then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
cp tests/browser/*.mjs "$work/"
rm -rf "$work/screenshots"

# shellcheck source=scripts/dev-server.sh
. scripts/dev-server.sh
dir=$(mktemp -d)
trap 'stop_dev_server; rm -rf "$dir"' EXIT
start_dev_server "$bin" "$dir"
GUESTLIST_URL=$GL_BASE GUESTLIST_KEY=$GL_KEY GUESTLIST_MAIL_DIR=$dir/guestlist-mail \
  GUESTLIST_SCREENSHOTS=$work/screenshots \
  node --test --test-concurrency=1 "$work/pages.test.mjs"
echo "browser.sh: screenshots in $work/screenshots"
