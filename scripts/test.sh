#!/usr/bin/env bash
# Runs every test of the workspace, on both engines. The README's test command; .ci/run
# calls it too. It installs and starts what the tests need:
#   - SQLite is compiled into the binary: nothing to install.
#   - PostgreSQL: a throwaway server on 127.0.0.1 (Debian's `postgresql` package is
#     installed with apt-get when missing), stopped and deleted at the end. To use a
#     server of your own instead, set GUESTLIST_TEST_POSTGRES_URL to a URL whose role
#     may CREATE DATABASE (each test makes a database of its own, gl_test_*).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

command -v cargo >/dev/null || { echo "test.sh: cargo is required" >&2; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if [ -z "$(pg_bin)" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing PostgreSQL (Debian package)"
      mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/guestlist-tests.conf
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    else
      echo "test.sh: PostgreSQL is missing: install it, or set GUESTLIST_TEST_POSTGRES_URL" >&2
      exit 1
    fi
  fi
  local bin; bin=$(pg_bin)
  PG_DIR=$(mktemp -d /tmp/guestlist-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  # Durability settings are off: this server holds nothing worth keeping. Every test
  # makes a database of its own (each CREATE DATABASE logs its ~8 MB copy), so a small
  # max_wal_size keeps the WAL from growing to a gigabyte between checkpoints.
  as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_wal_size=128MB -c min_wal_size=32MB" \
    start
  PG_CTL="$bin/pg_ctl"
  trap stop_postgres EXIT
  export GUESTLIST_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  say "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_postgres() {
  local status=$?
  if [ "$status" != 0 ] && [ -f "$PG_DIR/log" ]; then
    echo "-- what PostgreSQL logged about crashes and restarts:" >&2
    grep -E "PANIC|terminated by signal|was terminated|crash|No space left|out of memory|recovery" "$PG_DIR/log" | head -n 40 >&2 || true
    echo "-- the last lines PostgreSQL logged:" >&2
    tail -n 40 "$PG_DIR/log" >&2
    echo "-- disk and memory at the end:" >&2
    df -h "$PG_DIR" >&2 || true
    free -m >&2 || true
  fi
  as_pg "$PG_CTL" -D "$PG_DIR/data" -m immediate -s stop || true
  rm -rf "$PG_DIR"
}

if [ -z "${GUESTLIST_TEST_POSTGRES_URL:-}" ]; then
  start_postgres
fi

say "unit tests, and the integration suite on SQLite"
env -u GUESTLIST_TEST_POSTGRES_URL cargo test --workspace --locked

say "the integration suite on PostgreSQL"
cargo test --locked -p guestlist-server --test api

say "replicas on one PostgreSQL, and moving from SQLite"
cargo test --locked -p guestlist --test e2e -- --ignored
