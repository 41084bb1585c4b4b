#!/usr/bin/env bash
# Side-by-side load benchmark, all on loopback, in one run:
#   direct      — wrk → mock provider
#   floor       — wrk → bare Pingora passthrough (benches/floor.rs) → mock
#   switchyard  — wrk → switchyard (OpenAI passthrough route) → mock
# for plain and streamed chat requests at concurrency 1 and 32. Reports req/s, p50, p99,
# added p50 over direct, and RSS. Then, through the same gateway, the cost of routing
# decisions (plain requests, c=1 and 32):
#   single          — one target (the passthrough above)
#   fallback        — a two-target fallback whose first target answers
#   after-503       — the first target answers 503 every time, the second serves
#   after-refused   — the first target refuses the connection, the second serves
# (circuit breaker and active checks off, so every request pays the failed attempt).
# Writes benches/results/load-<date>.md and, with --update, the tables in BENCHMARKS.md.
#
# Usage: benches/load.sh [--update]   (env: DURATION=10s WARMUP=2s PORT_BASE=18000 PIN=1)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh wrk

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PORT_BASE=${PORT_BASE:-18000}
MOCK=127.0.0.1:$((PORT_BASE + 0))
FLOOR=127.0.0.1:$((PORT_BASE + 1))
GW=127.0.0.1:$((PORT_BASE + 2))
GW_ADMIN=127.0.0.1:$((PORT_BASE + 3))
BAD_MOCK=127.0.0.1:$((PORT_BASE + 4))
REFUSED=127.0.0.1:$((PORT_BASE + 5)) # nothing listens here
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1

cargo build --release --locked -p switchyard -p switchyard-mock -p switchyard-benches --bins >&2
BIN=target/release
. benches/lib.sh
bench_setup   # PIN=1: the load generator on CPU 1, the servers on CPU 0

"${srv[@]}" $BIN/switchyard-mock --listen "$MOCK" --threads 2 --record 0 >"$WORK/mock.log" 2>&1 & PIDS+=($!); MOCK_PID=$!
"${srv[@]}" $BIN/switchyard-mock --listen "$BAD_MOCK" --threads 1 --record 0 >"$WORK/bad.log" 2>&1 & PIDS+=($!)
"${srv[@]}" $BIN/pingora-floor --listen "$FLOOR" --upstream "$MOCK" --threads 2 >"$WORK/floor.log" 2>&1 & PIDS+=($!); FLOOR_PID=$!
cat >"$WORK/switchyard.yaml" <<YAML
server: { listen: "$GW", admin_listen: "$GW_ADMIN", threads: 2 }
log: { level: info, access_log: true }
health: { circuit_breaker: { failures: 0 }, checks: { enabled: false } }
providers:
  mock: { kind: openai, base_url: "http://$MOCK/v1", models: [gpt-4o-mini] }
  bad: { kind: openai, base_url: "http://$BAD_MOCK/v1", models: [] }
  gone: { kind: openai, base_url: "http://$REFUSED/v1", models: [] }
routes:
  fallback:
    strategy: fallback
    targets: [ { provider: mock, model: gpt-4o-mini }, { provider: bad, model: gpt-4o-mini } ]
  after-503:
    strategy: fallback
    targets: [ { provider: bad, model: gpt-4o-mini }, { provider: mock, model: gpt-4o-mini } ]
  after-refused:
    strategy: fallback
    targets: [ { provider: gone, model: gpt-4o-mini }, { provider: mock, model: gpt-4o-mini } ]
YAML
"${srv[@]}" $BIN/switchyard run --config "$WORK/switchyard.yaml" >"$WORK/switchyard.log" 2>&1 & PIDS+=($!); GW_PID=$!

for i in $(seq 1 100); do
  curl -sf "http://$MOCK/__mock/health" >/dev/null && curl -sf "http://$BAD_MOCK/__mock/health" >/dev/null && \
    curl -sf "http://$GW_ADMIN/ready" >/dev/null && \
    curl -s -o /dev/null "http://$FLOOR/v1/models" && break
  sleep 0.1
done

# The bad provider answers 503 to every request of the run.
curl -sf -X POST "http://$BAD_MOCK/__mock/script" -H 'content-type: application/json' \
  -d '[{"status":503,"times":1000000000}]' >/dev/null

body_plain='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write one short sentence about load testing."}]}'
body_stream='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Write one short sentence about load testing."}]}'
for route in fallback after-503 after-refused; do
  printf -v "body_${route//-/_}" '%s' "${body_plain/gpt-4o-mini/$route}"
done
for kind in plain stream fallback after_503 after_refused; do
  var="body_$kind"
  cat >"$WORK/$kind.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${!var}'
LUA
done


declare -A RPS P50 P99 ERR RSS
run() { # name url kind conns
  local name=$1 url=$2 kind=$3 c=$4 pid key="$1/$3/$4"
  wrk_warm "$WORK/$kind.lua" "$url/v1/chat/completions" "$c"
  wrk_measure "$key" "$WORK/$kind.lua" "$url/v1/chat/completions" "$c"
  if echo "$WRK_OUT" | grep -q "Non-2xx"; then echo "$name $kind c=$c: non-2xx responses:" >&2; echo "$WRK_OUT" >&2; exit 1; fi
  case $name in direct) pid=$MOCK_PID;; floor) pid=$FLOOR_PID;; switchyard) pid=$GW_PID;; esac
  RSS[$key]=$(rss_kb "$pid")
  echo "$key: ${RPS[$key]} req/s p50 ${P50[$key]}us p99 ${P99[$key]}us rss ${RSS[$key]}kB" >&2
}

IDLE_GW=$(rss_kb "$GW_PID"); IDLE_FLOOR=$(rss_kb "$FLOOR_PID")
for kind in plain stream; do
  for c in 1 32; do
    run direct "http://$MOCK" "$kind" "$c"
    run floor "http://$FLOOR" "$kind" "$c"
    run switchyard "http://$GW" "$kind" "$c"
  done
done
for c in 1 32; do
  for route in fallback after_503 after_refused; do
    run switchyard "http://$GW" "$route" "$c"
  done
done
PEAK_GW=$(awk '/^VmHWM/ {print $2}' "/proc/$GW_PID/status")

# 499s are requests wrk abandoned when each run's time was up; wrk itself reports any non-2xx.
errors=$(curl -s "http://$GW_ADMIN/metrics" | awk '/^switchyard_requests_total/ && !/status="200"/ && !/status="499"/ {s+=$2} END {print s+0}')
abandoned=$(curl -s "http://$GW_ADMIN/metrics" | awk '/^switchyard_requests_total/ && /status="499"/ {s+=$2} END {print s+0}')
failed_attempts=$(curl -s "http://$GW_ADMIN/metrics" | awk '/^switchyard_upstream_attempts_total/ && !/outcome="ok"/ {s+=$2} END {print s+0}')
[ "$errors" = "0" ] || {
  echo "switchyard answered $errors non-200 responses:" >&2
  curl -s "http://$GW_ADMIN/metrics" | grep -E '^switchyard_(requests|errors)_total' | grep -v 'status="200"' >&2
  exit 1
}

f() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100*a/b; else print "-" }'; }
table() {
  echo "| request | conc. | target | req/s | p50 µs | p99 µs | added p50 vs direct | added p50 vs floor | req/s vs floor | RSS MB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for kind in plain stream; do for c in 1 32; do for name in direct floor switchyard; do
    k="$name/$kind/$c"
    add_d=$(f "$(awk -v a="${P50[$k]}" -v b="${P50[direct/$kind/$c]}" 'BEGIN{print a-b}')")
    add_f=$(f "$(awk -v a="${P50[$k]}" -v b="${P50[floor/$kind/$c]}" 'BEGIN{print a-b}')")
    rel=$(ratio "${RPS[$k]}" "${RPS[floor/$kind/$c]}")
    rss=$(awk -v k="${RSS[$k]}" 'BEGIN{printf "%.1f", k/1024}')
    [ "$name" = direct ] && { add_d="-"; add_f="-"; rel="-"; }
    [ "$name" = floor ] && { add_f="-"; rel="-"; }
    echo "| $kind | $c | $name | ${RPS[$k]} | $(f "${P50[$k]}") | $(f "${P99[$k]}") | $add_d | $add_f | $rel | $rss |"
  done; done; done
}

routing_table() {
  echo "| route | conc. | req/s | p50 µs | p99 µs | added p50 vs single | req/s vs single |"
  echo "|---|---|---|---|---|---|---|"
  for c in 1 32; do for route in plain fallback after_503 after_refused; do
    k="switchyard/$route/$c"; base="switchyard/plain/$c"
    name=${route//_/-}; [ "$route" = plain ] && name=single
    add=$(f "$(awk -v a="${P50[$k]}" -v b="${P50[$base]}" 'BEGIN{print a-b}')")
    [ "$route" = plain ] && add="-"
    rel=$(ratio "${RPS[$k]}" "${RPS[$base]}"); [ "$route" = plain ] && rel="-"
    echo "| $name | $c | ${RPS[$k]} | $(f "${P50[$k]}") | $(f "${P99[$k]}") | $add | $rel |"
  done; done
}

mkdir -p benches/results
stamp=$(date -u +%Y-%m-%dT%H-%MZ)
{
  echo "Run $stamp on $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -r); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $DURATION per cell after a $WARMUP warm-up, pinning: ${PIN:-0}."
  echo "Command: \`benches/load.sh\` (DURATION=$DURATION)."
  echo
  table
  echo
  echo "<!-- routing -->"
  echo
  routing_table
  echo
  echo "Failed first attempts the gateway absorbed during the run: $failed_attempts; non-200 answers to clients: $errors (plus $abandoned requests abandoned by wrk when a run's time ran out)."
  echo
  echo "Idle RSS: switchyard $(awk -v k="$IDLE_GW" 'BEGIN{printf "%.1f", k/1024}') MB, floor $(awk -v k="$IDLE_FLOOR" 'BEGIN{printf "%.1f", k/1024}') MB; switchyard peak RSS over the run $(awk -v k="$PEAK_GW" 'BEGIN{printf "%.1f", k/1024}') MB."
} >"benches/results/load-$stamp.md"
cat "benches/results/load-$stamp.md"

if [ "$UPDATE" = 1 ]; then
  f="benches/results/load-$stamp.md"
  sed '/<!-- routing -->/,$d' "$f" >"$WORK/load.md"
  sed '1,/<!-- routing -->/d' "$f" >"$WORK/routing.md"
  bench_update_section load "$WORK/load.md"
  bench_update_section routing "$WORK/routing.md"
fi
