#!/usr/bin/env bash
# The pages and the admin console in a real browser: Debian's Chromium, headless, driven by playwright-core
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
rm -rf "$work/screenshots" "$work/secrets.txt"

# shellcheck source=scripts/dev-server.sh
. scripts/dev-server.sh
dir=$(mktemp -d)
trap 'stop_dev_server; rm -rf "$dir"' EXIT
# Every request is logged (debug), so that the check below has lines to look at.
# "boss" is a platform administrator, for the console's platform page.
RUST_LOG=debug,sqlx=warn,hyper=info,h2=info start_dev_server "$bin" "$dir" 'platform_admins = ["boss"]'
GUESTLIST_URL=$GL_BASE GUESTLIST_KEY=$GL_KEY GUESTLIST_MAIL_DIR=$dir/guestlist-mail \
  GUESTLIST_SCREENSHOTS=$work/screenshots GUESTLIST_SECRETS_FILE=$work/secrets.txt \
  node --test --test-concurrency=1 "$work/pages.test.mjs" "$work/console.test.mjs"
echo "browser.sh: screenshots in $work/screenshots"

# No code or token the visitors used is in a log line.
grep -q 'route=/i/{code}' "$dir/serve.log" || { echo "browser.sh: the log has no request lines" >&2; exit 1; }
leaked=0
while read -r secret; do
  [ -n "$secret" ] || continue
  if grep -qF "$secret" "$dir/serve.log"; then
    echo "browser.sh: a code or token is in the log: $(grep -F "$secret" "$dir/serve.log" | head -1)" >&2
    leaked=1
  fi
done < "$work/secrets.txt"
[ "$leaked" = 0 ] || exit 1
echo "browser.sh: $(wc -l < "$work/secrets.txt") codes and tokens, none in $(wc -l < "$dir/serve.log") log lines"
