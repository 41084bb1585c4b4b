#!/usr/bin/env bash
# Sets up and runs the gateway: `scripts/run.sh` uses the embedded default config
# (conf/switchyard.yaml); extra arguments go to `switchyard run`, e.g. `--config my.yaml`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo build --release --locked -p switchyard
exec target/release/switchyard run "$@"
