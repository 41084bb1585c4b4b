#!/usr/bin/env bash
# Fuzzes every parser that takes untrusted bytes: builds the cargo-fuzz targets in tests/fuzz
# and runs each for a bounded time, one at a time, niced (the machines are shared). Prints a
# line per target and exits non-zero if any target crashed, panicked, hung or ran out of
# memory; the input that did it is in tests/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#   FUZZ_TARGETS="sse response" scripts/fuzz.sh 300
#
# Needs cargo-fuzz (installed from crates.io when missing) and nightly features, taken from
# the stable toolchain with RUSTC_BOOTSTRAP=1. New corpus entries go to tests/fuzz/work/
# (not committed); the committed seeds in tests/fuzz/corpus/ are read only.
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1)); then
  echo "usage: $0 [SECONDS_PER_TARGET]" >&2
  exit 2
fi
export RUSTC_BOOTSTRAP=1
dir=tests/fuzz

if ! cargo fuzz --version >/dev/null 2>&1; then
  nice -n 10 cargo install cargo-fuzz --locked || exit 1
fi
targets=${FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir "$dir")}
nice -n 10 cargo fuzz build --fuzz-dir "$dir" || exit 1

failed=0
for t in $targets; do
  work=$dir/work/$t
  log=$dir/work/$t.log
  mkdir -p "$work"
  start=$SECONDS
  # -timeout: a single input taking 10 s is a hang; -rss_limit_mb: 2 GiB is out of memory.
  nice -n 10 cargo fuzz run --fuzz-dir "$dir" "$t" "$work" "$dir/corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work" -type f | wc -l)
  crash=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
  crashes=0
  if ((rc != 0)); then
    failed=1
    crashes=1
  fi
  printf '%-12s runs %-10s cov %-6s ft %-6s corpus %-6s %5ss  crashes %s%s\n' \
    "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$corpus" $((SECONDS - start)) "$crashes" \
    "$( ((rc != 0)) && echo " (exit $rc): ${crash:-no input saved, see $log}")"
done
exit $failed
