# A throwaway `guestlist serve --dev` on a free port of 127.0.0.1, for the scripts
# that check the service from outside (contract.sh, typescript.sh). Sourced:
#   start_dev_server BIN DIR [TOML]   # extra config lines in TOML
# sets GL_BASE (http://127.0.0.1:PORT), GL_KEY (the platform key it printed) and
# GL_PID; stop_dev_server kills it.

start_dev_server() {
  local bin=$1 dir=$2 extra=${3:-} port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  GL_BASE=http://127.0.0.1:$port
  printf 'bind = "127.0.0.1:%s"\npublic_url = "%s"\n%s\n' "$port" "$GL_BASE" "$extra" > "$dir/guestlist.toml"
  (cd "$dir" && exec "$bin" serve --dev > serve.log 2>&1) &
  GL_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "$GL_BASE/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fs "$GL_BASE/readyz" >/dev/null || { cat "$dir/serve.log"; return 1; }
  GL_KEY=$(grep -o 'gl_[A-Za-z0-9]*' "$dir/serve.log" | head -1)
  export GL_BASE GL_KEY GL_PID
}

stop_dev_server() {
  [ -n "${GL_PID:-}" ] && kill "$GL_PID" 2>/dev/null
  wait "$GL_PID" 2>/dev/null || true
}
