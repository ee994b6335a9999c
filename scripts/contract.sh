#!/usr/bin/env bash
# The contract check: Schemathesis (an independent OpenAPI fuzzer, from PyPI) runs
# every check and all four phases against a live `guestlist serve --dev` on
# 127.0.0.1, seeded with data, using the served /api/openapi.json. Any failure fails
# the run; the summary goes to the log. Bounded: GUESTLIST_ST_EXAMPLES cases per
# operation and phase (default 30), GUESTLIST_ST_MAX_TIME seconds in all (default
# 240), a fixed seed (GUESTLIST_ST_SEED) so a run can be replayed.
# Called by scripts/test.sh, after the binary is built and target/pyenv made.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${GUESTLIST_BIN:-$root/target/debug/guestlist}
st=$root/target/pyenv/bin/st
[ -n "${GUESTLIST_BIN:-}" ] || cargo build --locked -q -p guestlist
[ -x "$st" ] || { echo "contract.sh: $st is missing (scripts/test.sh installs it)" >&2; exit 1; }

dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
port=$("$root/target/pyenv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
cat > "$dir/guestlist.toml" <<TOML
bind = "127.0.0.1:$port"
public_url = "$base"
# One client address sends everything: limits high enough that the fuzzer meets
# the API rather than 429s (which are declared and allowed all the same).
[rate_limits]
preview_per_minute_per_ip = 100000
join_per_minute_per_ip = 100000
per_minute_per_user = 100000
signup_per_minute_per_ip = 100000
TOML
(cd "$dir" && exec "$bin" serve --dev > serve.log 2>&1) &
pid=$!
for _ in $(seq 1 100); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$base/readyz" >/dev/null || { cat "$dir/serve.log"; exit 1; }
GUESTLIST_ST_KEY=$(grep -o 'gl_[A-Za-z0-9]*' "$dir/serve.log" | head -1)
export GUESTLIST_ST_KEY
while IFS='=' read -r name value; do export "$name=$value"; done \
  < <(cd "$dir" && "$root/target/pyenv/bin/python" "$root/scripts/contract/seed.py" "$base" "$GUESTLIST_ST_KEY" "$bin")

cd "$dir"
"$st" --config-file "$root/scripts/contract/schemathesis.toml" run "$base/api/openapi.json" \
  --max-examples "${GUESTLIST_ST_EXAMPLES:-30}" --max-time "${GUESTLIST_ST_MAX_TIME:-240}" \
  --seed "${GUESTLIST_ST_SEED:-20261202}" --no-color
