#!/usr/bin/env bash
# The SCIM check: scim2-tester (an independent checker of SCIM 2.0 compliance, from
# PyPI) runs every check it has against a live `guestlist serve --dev` on 127.0.0.1,
# through a SCIM key bound to a space: discovery, then create, read, list (with
# attributes / excludedAttributes), replace, delete and PATCH add/replace/remove of
# every attribute of Users and Groups. Each result goes to the log (the report); any
# error fails the run. Its own run is bounded by the number of attributes.
# Called by scripts/test.sh, after the binary is built and target/pyenv made.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${GUESTLIST_BIN:-$root/target/debug/guestlist}
py=$root/target/pyenv/bin/python
[ -n "${GUESTLIST_BIN:-}" ] || cargo build --locked -q -p guestlist
"$py" -c 'import scim2_tester, httpx2' 2>/dev/null || { echo "scim.sh: scim2-tester is missing from target/pyenv (scripts/test.sh installs it)" >&2; exit 1; }

# shellcheck source=scripts/dev-server.sh
. scripts/dev-server.sh
dir=$(mktemp -d)
trap 'stop_dev_server; rm -rf "$dir"' EXIT
start_dev_server "$bin" "$dir"
curl -fsS -X POST "$GL_BASE/api/v1/spaces" -H "Authorization: Bearer $GL_KEY" \
  -H 'content-type: application/json' -d '{"path":"acme/","name":"Acme"}' >/dev/null
scim_key=$(cd "$dir" && "$bin" api-key create --name idp --scim acme/)
"$py" "$root/scripts/scim_check.py" "$GL_BASE/scim/v2" "$scim_key"
