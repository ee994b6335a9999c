#!/usr/bin/env bash
# The contract check: Schemathesis (an independent OpenAPI fuzzer, from PyPI) runs
# every check and all four phases against a live `guestlist serve --dev` on
# 127.0.0.1, seeded with data, using the served /api/openapi.json. Any failure fails
# the run; the summary goes to the log. Bounded: GUESTLIST_ST_EXAMPLES cases per
# operation and phase (default 30), GUESTLIST_ST_MAX_TIME seconds in all (default
# 240), a fixed seed (GUESTLIST_ST_SEED) so a run can be replayed. Then a second,
# short run (GUESTLIST_ST_LIMITED_EXAMPLES cases, default 8; at most 120 s) against a
# server limited to one request a minute checks that every 429 is declared.
# Called by scripts/test.sh, after the binary is built and target/pyenv made.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${GUESTLIST_BIN:-$root/target/debug/guestlist}
st=$root/target/pyenv/bin/st
[ -n "${GUESTLIST_BIN:-}" ] || cargo build --locked -q -p guestlist
[ -x "$st" ] || { echo "contract.sh: $st is missing (scripts/test.sh installs it)" >&2; exit 1; }

# shellcheck source=scripts/dev-server.sh
. scripts/dev-server.sh
# A seeded `serve --dev` in DIR whose rate limits allow PER_MINUTE requests a minute
# each; sets GL_BASE, GUESTLIST_ST_KEY and what seed.py prints.
serve_seeded() {
  local dir=$1 n=$2
  start_dev_server "$bin" "$dir" "[rate_limits]
preview_per_minute_per_ip = $n
join_per_minute_per_ip = $n
per_minute_per_user = $n
signup_per_minute_per_ip = $n

[events]
lifetime_secs = 1"
  GUESTLIST_ST_KEY=$GL_KEY
  export GUESTLIST_ST_KEY
  while IFS='=' read -r name value; do export "$name=$value"; done \
    < <(cd "$dir" && "$root/target/pyenv/bin/python" "$root/scripts/contract/seed.py" "$GL_BASE" "$GUESTLIST_ST_KEY" "$bin")
}

dir=$(mktemp -d)
limited=$(mktemp -d)
trap 'stop_dev_server; rm -rf "$dir" "$limited"' EXIT
# One client address sends everything: limits high enough that the fuzzer meets the
# API rather than 429s (which are declared and allowed all the same).
serve_seeded "$dir" 100000
base=$GL_BASE

cd "$dir"
"$st" --config-file "$root/scripts/contract/schemathesis.toml" run "$base/api/openapi.json" \
  --max-examples "${GUESTLIST_ST_EXAMPLES:-30}" --max-time "${GUESTLIST_ST_MAX_TIME:-240}" \
  --seed "${GUESTLIST_ST_SEED:-20261202}" --no-color

# Every event the run recorded, against its kind's schema in the served document.
"$root/target/pyenv/bin/python" "$root/scripts/contract/events.py" "$base" "$GUESTLIST_ST_KEY"
stop_dev_server

# Every answer a rate limit gives is declared: a second, short run against a server
# whose limits are one request a minute, checking only that each status is one the
# operation documents (the first run lifts the limits to reach the API behind them).
serve_seeded "$limited" 1
cd "$limited"
"$st" --config-file "$root/scripts/contract/schemathesis.toml" run "$GL_BASE/api/openapi.json" \
  --checks status_code_conformance --phases examples,fuzzing \
  --max-examples "${GUESTLIST_ST_LIMITED_EXAMPLES:-8}" --max-time 120 \
  --seed "${GUESTLIST_ST_SEED:-20261202}" --no-color
