# shellcheck shell=bash
# Shared by the benchmark scripts (sourced; defines functions only).
#
#   bench_setup              WORK (a temp dir, exported), PIDS=(), the pinning prefixes srv and
#                            gen (PIN=1: servers on CPU 0, the load generator on CPU 1), and an
#                            EXIT trap: bench_pre_cleanup if the script defines it, then every
#                            PID in PIDS stopped (TERM, KILL after 5 s), then WORK removed
#   bench_stop_pids          stop every PID in PIDS now and empty it
#   to_us VALUE              wrk's 512.00us / 1.23ms / 2.00s → microseconds
#   rss_kb PID               VmRSS in kB
#   wrk_warm SCRIPT URL CONNS
#                            wrk for $WARMUP, output dropped (1 thread at one connection, else 2;
#                            under the gen prefix; extra flags from the WRK_EXTRA array)
#   wrk_measure KEY SCRIPT URL CONNS
#                            wrk for $DURATION; sets RPS, P50, P99 (µs) and ERR (non-2xx answers
#                            plus socket errors) at KEY in the caller's associative arrays, and
#                            WRK_REQUESTS (requests completed) and WRK_OUT (wrk's report)
#   bench_update_section NAME FILE
#                            replace what lies between <!-- NAME:begin --> and <!-- NAME:end -->
#                            in BENCHMARKS.md with FILE's text

bench_stop_pids() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  PIDS=()
}

_bench_cleanup() {
  if declare -F bench_pre_cleanup >/dev/null; then bench_pre_cleanup || true; fi
  bench_stop_pids
  rm -rf "$WORK"
}

bench_setup() {
  WORK=$(mktemp -d)
  export WORK
  PIDS=()
  srv=(); gen=()
  if [ "${PIN:-0}" = "1" ]; then srv=(taskset -c 0); gen=(taskset -c 1); fi
  trap _bench_cleanup EXIT
}

to_us() {
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n*1000; else if (v ~ /s$/) print n*1000000; else print n }'
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

WRK_EXTRA=()
_wrk_threads() { if [ "$1" -gt 1 ]; then echo 2; else echo 1; fi; }

wrk_warm() {
  "${gen[@]}" wrk -t"$(_wrk_threads "$3")" -c"$3" -d"$WARMUP" "${WRK_EXTRA[@]}" -s "$1" "$2" >/dev/null
}

wrk_measure() {
  local key=$1
  WRK_OUT=$("${gen[@]}" wrk -t"$(_wrk_threads "$4")" -c"$4" -d"$DURATION" "${WRK_EXTRA[@]}" --latency -s "$2" "$3")
  WRK_REQUESTS=$(echo "$WRK_OUT" | awk '/requests in/ {print $1}')
  RPS[$key]=$(echo "$WRK_OUT" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  P50[$key]=$(to_us "$(echo "$WRK_OUT" | awk '$1=="50%" {print $2}')")
  P99[$key]=$(to_us "$(echo "$WRK_OUT" | awk '$1=="99%" {print $2}')")
  ERR[$key]=$(echo "$WRK_OUT" | awk '/Non-2xx/ {e+=$NF} /Socket errors/ {gsub(/,/, ""); e+=$4+$6+$8+$10} END {print e+0}')
}

bench_update_section() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
text = open(path).read().strip()
doc = open("BENCHMARKS.md").read()
pattern = r"<!-- %s:begin -->.*<!-- %s:end -->" % (name, name)
new, n = re.subn(pattern, lambda m: "<!-- %s:begin -->\n%s\n<!-- %s:end -->" % (name, text, name), doc, flags=re.S)
if n == 0:
    sys.exit("BENCHMARKS.md has no <!-- %s:begin --> marker" % name)
open("BENCHMARKS.md", "w").write(new)
PY
  echo "BENCHMARKS.md: section $1 updated" >&2
}
