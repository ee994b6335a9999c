#!/usr/bin/env bash
# The TypeScript client (clients/typescript), checked as a user installs it:
#   1. its generated types match openapi.json (openapi-typescript, regenerated here
#      and compared; GUESTLIST_TS_REGENERATE=1 writes them instead);
#   2. `npm pack` builds it (the `prepare` script) into a tarball;
#   3. the tarball is installed into a fresh scratch project, where
#      test/client.test.ts imports "@guestlist/client", compiles with `tsc --strict`
#      and no skipLibCheck (so the shipped .d.ts files must resolve and type-check),
#      and runs with Node against a live `serve --dev`: create a link, preview it,
#      join as another user, read `already_member`, and read a typed `exhausted`.
# npm packages go under target/ts-client, from the committed lockfile; the scratch
# project takes typescript and @types/node at the lockfile's versions. Called by
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${GUESTLIST_BIN:-$root/target/debug/guestlist}
[ -n "${GUESTLIST_BIN:-}" ] || cargo build --locked -q -p guestlist
command -v npm >/dev/null || { echo "typescript.sh: Node.js and npm are required" >&2; exit 1; }

pkg=clients/typescript
work=$root/target/ts-client
mkdir -p "$work"
cp $pkg/package.json $pkg/package-lock.json $pkg/.npmrc "$work/"
if ! (cd "$work" && npm ls --depth=0 >/dev/null 2>&1); then
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

# 1. The generated types are what openapi.json says today.
fresh=$(mktemp --suffix=.ts)
"$work/node_modules/.bin/openapi-typescript" openapi.json -o "$fresh" --silent
if ! diff -q "$fresh" $pkg/src/schema.ts >/dev/null; then
  diff -u $pkg/src/schema.ts "$fresh" | head -40 >&2 || true
  echo "$pkg/src/schema.ts is stale: (cd $pkg && npm run generate)," \
       "or run this script with GUESTLIST_TS_REGENERATE=1" >&2
  if [ "${GUESTLIST_TS_REGENERATE:-}" = 1 ]; then cp "$fresh" $pkg/src/schema.ts; else exit 1; fi
fi
rm -f "$fresh"

# 2. The tarball, built by its own `prepare` script.
rm -rf "$work/src" "$work/dist" "$work"/*.tgz
cp -r $pkg/src $pkg/tsconfig.json $pkg/README.md "$work/"
tarball=$(cd "$work" && npm pack --silent --pack-destination "$work" | tail -1)
tarball=$work/$tarball
listing=$(tar -tzf "$tarball")
for shipped in package/dist/index.js package/dist/index.d.ts package/dist/schema.d.ts package/README.md; do
  grep -qx "$shipped" <<<"$listing" || { echo "typescript.sh: $shipped is not in the tarball" >&2; exit 1; }
done

# 3. A scratch project installs it, compiles strictly, and runs against the server.
dir=$(mktemp -d)
scratch=$dir/consumer
mkdir -p "$scratch"
version() { node -p "require('$work/node_modules/$1/package.json').version"; }
printf '{ "name": "guestlist-consumer", "private": true, "type": "module" }\n' > "$scratch/package.json"
cp $pkg/test/client.test.ts $pkg/test/tsconfig.json "$scratch/"
(cd "$scratch" && npm install --prefer-offline --no-audit --no-fund --loglevel=error \
  "$tarball" "typescript@$(version typescript)" "@types/node@$(version @types/node)")
(cd "$scratch" && node_modules/.bin/tsc -p tsconfig.json)

# shellcheck source=scripts/dev-server.sh
. scripts/dev-server.sh
trap 'stop_dev_server; rm -rf "$dir"' EXIT
start_dev_server "$bin" "$dir"
token() { (cd "$dir" && "$bin" token --sub "$1" --email "$1@example.com" --email-verified); }
GUESTLIST_URL=$GL_BASE GUESTLIST_KEY=$GL_KEY GUESTLIST_ALICE=$(token alice) \
  GUESTLIST_BOB=$(token bob) GUESTLIST_CAROL=$(token carol) \
  node --test "$scratch/dist/"
