#!/usr/bin/env bash
# The TypeScript client (clients/typescript): its generated types must match
# openapi.json (openapi-typescript, regenerated here and compared), it compiles
# (tsc, strict), and its tests run with Node against a live `serve --dev`: create a
# link, preview it, join as another user, read `already_member`, and read a typed
# `exhausted` error. npm packages go under target/ts-client, from the committed
# lockfile. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${GUESTLIST_BIN:-$root/target/debug/guestlist}
[ -n "${GUESTLIST_BIN:-}" ] || cargo build --locked -q -p guestlist
command -v npm >/dev/null || { echo "typescript.sh: Node.js and npm are required" >&2; exit 1; }

work=$root/target/ts-client
mkdir -p "$work"
cp clients/typescript/package.json clients/typescript/package-lock.json clients/typescript/.npmrc "$work/"
if ! (cd "$work" && npm ls --depth=0 >/dev/null 2>&1); then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The generated types are what openapi.json says today.
fresh=$(mktemp --suffix=.d.ts)
"$work/node_modules/.bin/openapi-typescript" openapi.json -o "$fresh" --silent
if ! diff -q "$fresh" clients/typescript/src/schema.d.ts >/dev/null; then
  diff -u clients/typescript/src/schema.d.ts "$fresh" | head -40 >&2 || true
  echo "clients/typescript/src/schema.d.ts is stale: (cd clients/typescript && npm run generate)," \
       "or run this script with GUESTLIST_TS_REGENERATE=1" >&2
  if [ "${GUESTLIST_TS_REGENERATE:-}" = 1 ]; then cp "$fresh" clients/typescript/src/schema.d.ts; else exit 1; fi
fi
rm -f "$fresh"

rm -rf "$work/src" "$work/test" "$work/dist"
cp -r clients/typescript/src clients/typescript/test clients/typescript/tsconfig.json "$work/"
(cd "$work" && node_modules/.bin/tsc -p tsconfig.json)

# shellcheck source=scripts/dev-server.sh
. scripts/dev-server.sh
dir=$(mktemp -d)
trap 'stop_dev_server; rm -rf "$dir"' EXIT
start_dev_server "$bin" "$dir"
token() { (cd "$dir" && "$bin" token --sub "$1" --email "$1@example.com" --email-verified); }
GUESTLIST_URL=$GL_BASE GUESTLIST_KEY=$GL_KEY GUESTLIST_ALICE=$(token alice) \
  GUESTLIST_BOB=$(token bob) GUESTLIST_CAROL=$(token carol) \
  node --test "$work/dist/test/"
