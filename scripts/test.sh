#!/usr/bin/env bash
# Sets up and runs every test: formatting, lints, unit tests, end-to-end tests against the
# real binaries and mock providers on loopback. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# The benchmarks are not run here (timing goals live in BENCHMARKS.md), but they must build.
cargo check --locked -p switchyard-benches --benches
# The end-to-end tests start these binaries as processes.
cargo build --locked --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --workspace --no-fail-fast
else
  cargo test --locked --workspace --no-fail-fast
fi
