#!/usr/bin/env bash
# Runs every test of the workspace. The README's test command; .ci/run calls it too.
# It installs what the tests need: today that is nothing beyond the Rust toolchain,
# because SQLite is compiled into the binary (sqlx's bundled build).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "test.sh: cargo is required (https://rustup.rs)" >&2
  exit 1
fi

cargo test --workspace --locked
