# A throwaway PostgreSQL server on 127.0.0.1, for scripts/test.sh and scripts/bench.sh
# (sourced, not run). Debian's `postgresql` package is installed with apt-get when it
# is missing and we are root.
#
#   start_postgres [server options…]   starts one in a temporary folder, sets PG_URL
#                                      (postgres://postgres@127.0.0.1:PORT/postgres)
#                                      and stops and deletes it when the script exits.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# As root, from / : the postgres user may not enter the current folder (a private
# temporary clone, say), and its tools complain when they cannot.
as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

start_postgres() {
  if [ -z "$(pg_bin)" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      printf '\n== installing PostgreSQL (Debian package)\n'
      mkdir -p /etc/postgresql-common/createcluster.d
      echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/guestlist-tests.conf
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    else
      echo "PostgreSQL is missing: install Debian's postgresql package, or run this as root" >&2
      exit 1
    fi
  fi
  local bin; bin=$(pg_bin)
  PG_DIR=$(mktemp -d /tmp/guestlist-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  as_pg "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
  as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR $*" \
    start
  PG_CTL="$bin/pg_ctl"
  trap stop_postgres EXIT
  PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  printf '\n== PostgreSQL %s on 127.0.0.1:%s\n' "$("$bin/postgres" --version | awk '{print $3}')" "$port"
}

# On a failed exit, first what PostgreSQL logged about crashes, then disk and memory.
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
