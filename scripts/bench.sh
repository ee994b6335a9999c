#!/usr/bin/env bash
# Every figure of docs/PERFORMANCE.md, measured on this machine: the benchmark suite on
# SQLite (the embedded default), then its scenarios on a throwaway PostgreSQL server
# with PostgreSQL's default durability (fsync and synchronous_commit on), installed
# like the tests' (scripts/postgres.sh). Writes bench-results.json and
# bench-results-postgres.json. Options after the script's name go to both runs, e.g.
#   scripts/bench.sh --seconds 5
# except that the PostgreSQL run keeps its own --scenarios and --out (`list` measures
# SQLite files only, so that run leaves it out).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/postgres.sh
. scripts/postgres.sh

# Both binaries at once, in view: the bench would otherwise build the server quietly.
cargo build --release --locked -p guestlist -p guestlist-bench
bench() { cargo run --release --locked -p guestlist-bench -- "$@"; }

printf '\n== SQLite\n'
bench --out bench-results.json "$@"

start_postgres
printf '\n== PostgreSQL\n'
bench "$@" --database-url "$PG_URL" \
  --scenarios floor,preview,create,join,race --out bench-results-postgres.json
