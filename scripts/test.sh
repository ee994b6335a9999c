#!/usr/bin/env bash
# Runs every test of the workspace, on both engines. The README's test command; .ci/run
# calls it too. It installs and starts what the tests need:
#   - SQLite is compiled into the binary: nothing to install.
#   - curl and jq, which the README's walkthrough (run as a test) uses.
#   - npm packages of the TypeScript client (openapi-typescript, openapi-fetch,
#     typescript), under target/ts-client from clients/typescript's lockfile, and
#     playwright-core for the browser suite, under target/browser from
#     tests/browser's lockfile; Node.js (with npm) is installed with apt-get when
#     missing.
#   - Chromium (Debian's `chromium`), which the browser suite drives headless;
#     installed with apt-get when missing (scripts/browser.sh).
#   - PostgreSQL: a throwaway server on 127.0.0.1 (Debian's `postgresql` package is
#     installed with apt-get when missing), stopped and deleted at the end. To use a
#     server of your own instead, set GUESTLIST_TEST_POSTGRES_URL to a URL whose role
#     may CREATE DATABASE (each test makes a database of its own, gl_test_*).
#   - Python packages the tests run as independent implementations (PyJWT,
#     standardwebhooks, Schemathesis for the OpenAPI contract, scim2-tester for SCIM),
#     in a virtual environment under target/pyenv.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

command -v cargo >/dev/null || { echo "test.sh: cargo is required" >&2; exit 1; }

# shellcheck source=scripts/postgres.sh
. scripts/postgres.sh

# The README's walkthrough runs as a test (tests/e2e/readme.rs) with curl and jq, as a
# reader runs it.
if ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
  say "installing curl and jq"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq >/dev/null
fi

if ! command -v npm >/dev/null; then
  say "installing Node.js and npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

# Independent implementations the tests check our side of a standard with (PyPI, in
# a virtual environment under target/): PyJWT signs the identity tests' tokens;
# standardwebhooks verifies every webhook delivery (tests/api/tools/receiver.py, and
# the README's receiver); Schemathesis fuzzes the served OpenAPI document
# (scripts/contract.sh); scim2-tester checks the SCIM service provider (scripts/scim.sh).
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  say "installing python3-venv"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
if ! target/pyenv/bin/python -c 'import jwt, cryptography, schemathesis, standardwebhooks, scim2_tester, httpx2' 2>/dev/null; then
  say "installing the Python checkers into target/pyenv"
  python3 -m venv target/pyenv
  target/pyenv/bin/pip install --quiet --disable-pip-version-check 'PyJWT>=2.10' 'cryptography>=44' \
    'schemathesis==4.32.5' 'standardwebhooks==1.1.0' 'scim2-tester[httpx2]==0.5.2'
fi
export GUESTLIST_TEST_PYTHON="$PWD/target/pyenv/bin/python"

if [ -z "${GUESTLIST_TEST_POSTGRES_URL:-}" ]; then
  # Durability is off: this server holds nothing worth keeping. Every test makes a
  # database of its own (each CREATE DATABASE logs its ~8 MB copy), so a small
  # max_wal_size keeps the WAL from growing to a gigabyte between checkpoints.
  start_postgres -c max_connections=400 -c fsync=off -c synchronous_commit=off \
    -c full_page_writes=off -c max_wal_size=128MB -c min_wal_size=32MB
  export GUESTLIST_TEST_POSTGRES_URL="$PG_URL"
fi

say "unit tests, and the integration suite on SQLite"
env -u GUESTLIST_TEST_POSTGRES_URL cargo test --workspace --locked

say "the integration suite and the storage stories on PostgreSQL"
cargo test --locked -p guestlist-server --test api
cargo test --locked -p guestlist-store-tests --test stories

say "replicas on one PostgreSQL, and moving from SQLite"
cargo test --locked -p guestlist --test e2e -- --ignored

say "the OpenAPI contract: Schemathesis against a live server"
scripts/contract.sh

say "SCIM 2.0: scim2-tester against a live server"
scripts/scim.sh

say "the TypeScript client: generated types fresh, compiled, run against a live server"
scripts/typescript.sh

say "the pages in Chromium: sign in, join, accept, refuse cross-site posts"
scripts/browser.sh
