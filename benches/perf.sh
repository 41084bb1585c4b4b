#!/usr/bin/env bash
# Issue 6's performance run, all on loopback, in one command:
#   1. the peer table: wrk against the direct mock, the bare Pingora floor, switchyard (OpenAI
#      passthrough), switchyard translating to Anthropic's Messages API, Portkey's gateway and
#      the LiteLLM proxy, all in front of the same mock provider; plain and streamed chat
#      completions at concurrency 1, 32 and 256. Per cell: req/s, p50, p99, added p50 over
#      direct, CPU seconds per 1,000 requests and RSS of the server under test (its whole
#      process tree), and the errors wrk saw;
#   2. 10,000 concurrent slow streams through one gateway (benches/streams.sh);
#   3. a mixed-traffic soak with memory sampling (benches/soak.sh);
#   4. instructions per request under callgrind (benches/instructions.sh);
# then the targets, each read off this run. Writes benches/results/perf-<date>.md and, with
# --update, the section between the perf markers in BENCHMARKS.md.
#
# Usage: benches/perf.sh [--update]
# Env: DURATION=10s WARMUP=2s (per wrk cell), CONCURRENCY="1 32 256", PEERS=1 (0 skips Portkey
#      and LiteLLM), STREAMS=10000, SOAK_SECS=600, PIN=0 (1: servers on CPU 0, wrk on CPU 1),
#      SKIP="" (any of: streams soak instructions), PORT_BASE=18000.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh wrk valgrind
. benches/peers.sh

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-1 32 256}
PEERS=${PEERS:-1}
STREAMS=${STREAMS:-10000}
SOAK_SECS=${SOAK_SECS:-600}
SKIP=${SKIP:-}
PORT_BASE=${PORT_BASE:-18000}
MOCK=127.0.0.1:$((PORT_BASE + 0))
FLOOR=127.0.0.1:$((PORT_BASE + 1))
GW=127.0.0.1:$((PORT_BASE + 2))
GW_ADMIN=127.0.0.1:$((PORT_BASE + 3))
PORTKEY=127.0.0.1:$((PORT_BASE + 4))
LITELLM=127.0.0.1:$((PORT_BASE + 5))
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1
for need in 1 32; do
  case " $CONCURRENCY " in *" $need "*) ;; *) echo "CONCURRENCY must include 1 and 32: the targets are read off those cells" >&2; exit 2;; esac
done

cargo build --release --locked -p switchyard -p switchyard-mock -p switchyard-benches --bins >&2
[ "$PEERS" = 1 ] && peers_install
BIN=target/release
. benches/lib.sh
bench_pre_cleanup() { [ "$PEERS" = 1 ] && peers_stop; }
bench_setup
ulimit -n 65536 2>/dev/null || true

"${srv[@]}" $BIN/switchyard-mock --listen "$MOCK" --threads 2 --record 0 >"$WORK/mock.log" 2>&1 & PIDS+=($!); MOCK_PID=$!
"${srv[@]}" $BIN/pingora-floor --listen "$FLOOR" --upstream "$MOCK" --threads 2 >"$WORK/floor.log" 2>&1 & PIDS+=($!); FLOOR_PID=$!
cat >"$WORK/switchyard.yaml" <<YAML
server: { listen: "$GW", admin_listen: "$GW_ADMIN", threads: 2 }
log: { level: info, access_log: true }
health: { checks: { enabled: false } }
providers:
  mock: { kind: openai, base_url: "http://$MOCK/v1", models: [gpt-4o-mini] }
  claude: { kind: anthropic, base_url: "http://$MOCK/v1", api_key: sk-ant-bench, models: [claude-sonnet-4-5] }
YAML
"${srv[@]}" $BIN/switchyard run --config "$WORK/switchyard.yaml" >"$WORK/switchyard.log" 2>&1 & PIDS+=($!); GW_PID=$!
if [ "$PEERS" = 1 ]; then
  start_portkey "${PORTKEY##*:}" "$MOCK"
  start_litellm "${LITELLM##*:}" "$MOCK"
  # Pin the peers like our own servers (taskset -a: every thread of every process).
  if [ "${PIN:-0}" = "1" ]; then
    for p in $(tree_pids "$PORTKEY_PID") $(tree_pids "$LITELLM_PID"); do taskset -a -p -c 0 "$p" >/dev/null; done
  fi
fi
for _ in $(seq 1 100); do
  curl -sf "http://$MOCK/__mock/health" >/dev/null && curl -sf "http://$GW_ADMIN/ready" >/dev/null && \
    curl -s -o /dev/null "http://$FLOOR/v1/models" && break
  sleep 0.1
done

question="Write one short sentence about load testing."
lua() { # file model stream extra-lua
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"$2","stream":$3,"max_tokens":64,"messages":[{"role":"user","content":"$question"}]}'
$4
LUA
}
for kind in plain stream; do
  s=false; [ $kind = stream ] && s=true
  lua "$WORK/$kind.lua" gpt-4o-mini $s ""
  lua "$WORK/anthropic-$kind.lua" claude-sonnet-4-5 $s ""
  if [ "$PEERS" = 1 ]; then
    lua "$WORK/portkey-$kind.lua" gpt-4o-mini $s "$(portkey_wrk_headers "$MOCK")"
    lua "$WORK/litellm-$kind.lua" gpt-4o-mini $s "$(litellm_wrk_headers)"
  fi
done

cpu_ticks() { # utime + stime of the process tree, in clock ticks
  local t=0 p
  for p in $(tree_pids "$1"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
TICKS=$(getconf CLK_TCK)

declare -A RPS P50 P99 RSS CPU ERR
NAMES=(direct floor switchyard anthropic)
[ "$PEERS" = 1 ] && NAMES+=(portkey litellm)
url_of() { case $1 in direct) echo "http://$MOCK";; floor) echo "http://$FLOOR";; switchyard|anthropic) echo "http://$GW";; portkey) echo "http://$PORTKEY";; litellm) echo "http://$LITELLM";; esac; }
pid_of() { case $1 in direct) echo "$MOCK_PID";; floor) echo "$FLOOR_PID";; switchyard|anthropic) echo "$GW_PID";; portkey) echo "$PORTKEY_PID";; litellm) echo "$LITELLM_PID";; esac; }
script_of() { case $1 in switchyard|direct|floor) echo "$WORK/$2.lua";; *) echo "$WORK/$1-$2.lua";; esac; }
WRK_EXTRA=(--timeout 10s) # LiteLLM takes seconds per request at c=256
run() { # name kind conns
  local name=$1 kind=$2 c=$3 pid url script t0 t1 key="$1/$2/$3"
  pid=$(pid_of "$name"); url=$(url_of "$name"); script=$(script_of "$name" "$kind")
  wrk_warm "$script" "$url/v1/chat/completions" "$c"
  t0=$(cpu_ticks "$pid")
  wrk_measure "$key" "$script" "$url/v1/chat/completions" "$c"
  t1=$(cpu_ticks "$pid")
  CPU[$key]=$(awk -v d=$((t1 - t0)) -v hz="$TICKS" -v n="$WRK_REQUESTS" 'BEGIN { if (n > 0) printf "%.3f", d / hz / n * 1000; else print "-" }')
  RSS[$key]=$(peer_rss_kb "$pid") # the whole process tree
  echo "$key: ${RPS[$key]} req/s p50 ${P50[$key]}us p99 ${P99[$key]}us cpu ${CPU[$key]}s/1k rss ${RSS[$key]}kB errors ${ERR[$key]}" >&2
}

IDLE_GW=$(rss_kb "$GW_PID"); IDLE_FLOOR=$(rss_kb "$FLOOR_PID")
IDLE_PORTKEY=-; IDLE_LITELLM=-
[ "$PEERS" = 1 ] && { IDLE_PORTKEY=$(peer_rss_kb "$PORTKEY_PID"); IDLE_LITELLM=$(peer_rss_kb "$LITELLM_PID"); }
PEAK32_GW=""
for c in $CONCURRENCY; do
  for kind in plain stream; do
    for name in "${NAMES[@]}"; do run "$name" "$kind" "$c"; done
  done
  [ "$c" -le 32 ] && PEAK32_GW=$(awk '/^VmHWM/ {print $2}' "/proc/$GW_PID/status")
done
PEAK_GW=$(awk '/^VmHWM/ {print $2}' "/proc/$GW_PID/status")
gw_metrics=$(curl -s "http://$GW_ADMIN/metrics")
gw_errors=$(echo "$gw_metrics" | awk '/^switchyard_requests_total/ && !/status="200"/ && !/status="499"/ {s+=$2} END {print s+0}')
gw_abandoned=$(echo "$gw_metrics" | awk '/^switchyard_requests_total/ && /status="499"/ {s+=$2} END {print s+0}')
versions="switchyard $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
[ "$PEERS" = 1 ] && versions="$versions, $(peers_versions)"
[ "$PEERS" = 1 ] && peers_stop
bench_stop_pids

# The other parts start their own servers, one part at a time.
STREAMS_MD=""; SOAK_MD=""; INSTR_MD=""
case " $SKIP " in *" streams "*) ;; *) STREAMS_MD=$(STREAMS=$STREAMS benches/streams.sh);; esac
case " $SKIP " in *" soak "*) ;; *) SOAK_MD=$(DURATION=$SOAK_SECS benches/soak.sh);; esac
case " $SKIP " in *" instructions "*) ;; *) INSTR_MD=$(benches/instructions.sh);; esac

f() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
mb() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f", k / 1024 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "-" }'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a / b; else print "-" }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "**met**" : "**not met**") }'; }

peer_table() {
  echo "| request | conc. | target | req/s | p50 µs | p99 µs | added p50 vs direct | CPU s / 1k req | RSS MB | errors |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for kind in plain stream; do for c in $CONCURRENCY; do for name in "${NAMES[@]}"; do
    k="$name/$kind/$c"
    add="-"; [ "$name" != direct ] && add=$(f "$(awk -v a="${P50[$k]}" -v b="${P50[direct/$kind/$c]}" 'BEGIN{print a-b}')")
    label=$name; [ "$name" = anthropic ] && label="switchyard → anthropic"
    echo "| $kind | $c | $label | ${RPS[$k]} | $(f "${P50[$k]}") | $(f "${P99[$k]}") | $add | ${CPU[$k]} | $(mb "${RSS[$k]}") | ${ERR[$k]} |"
  done; done; done
}

targets_table() {
  local k s fl
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  s=switchyard/plain/1; fl=floor/plain/1
  local add1; add1=$(awk -v a="${P50[$s]}" -v b="${P50[$fl]}" 'BEGIN{print a-b}')
  echo "| passthrough, c=1: added p50 over the floor ≤ 30 µs | $(f "$add1") µs ($(f "${P50[$s]}") vs $(f "${P50[$fl]}")) | $(verdict "$(awk -v a="$add1" 'BEGIN{print (a <= 30)}')") |"
  s=switchyard/plain/32; fl=floor/plain/32
  echo "| passthrough, c=32: throughput ≥ 90 % of the floor | $(pct "${RPS[$s]}" "${RPS[$fl]}") (${RPS[$s]} vs ${RPS[$fl]} req/s) | $(verdict "$(awk -v a="${RPS[$s]}" -v b="${RPS[$fl]}" 'BEGIN{print (a >= 0.9 * b)}')") |"
  echo "| passthrough, c=32: p99 ≤ 1.2× the floor's | $(times "${P99[$s]}" "${P99[$fl]}") ($(f "${P99[$s]}") vs $(f "${P99[$fl]}") µs) | $(verdict "$(awk -v a="${P99[$s]}" -v b="${P99[$fl]}" 'BEGIN{print (a <= 1.2 * b)}')") |"
  k=anthropic/plain/32
  echo "| Anthropic translation, c=32: throughput ≥ 80 % of the floor | $(pct "${RPS[$k]}" "${RPS[$fl]}") (${RPS[$k]} vs ${RPS[$fl]} req/s) | $(verdict "$(awk -v a="${RPS[$k]}" -v b="${RPS[$fl]}" 'BEGIN{print (a >= 0.8 * b)}')") |"
  if [ "$PEERS" = 1 ]; then
    for kind in plain stream; do
      s=switchyard/$kind/32
      for peer in portkey:20 litellm:200; do
        k=${peer%%:*}/$kind/32; want=${peer##*:}
        echo "| $kind, c=32: ≥ ${want}× ${peer%%:*}'s throughput, lower p99 | $(times "${RPS[$s]}" "${RPS[$k]}") (${RPS[$s]} vs ${RPS[$k]} req/s; the floor: $(times "${RPS[floor/$kind/32]}" "${RPS[$k]}")); p99 $(f "${P99[$s]}") vs $(f "${P99[$k]}") µs | $(verdict "$(awk -v a="${RPS[$s]}" -v b="${RPS[$k]}" -v w="$want" -v pa="${P99[$s]}" -v pb="${P99[$k]}" 'BEGIN{print (a >= w * b && pa < pb)}')") |"
      done
    done
  fi
  echo "| idle RSS ≤ 15 MB | $(mb "$IDLE_GW") MB (floor $(mb "$IDLE_FLOOR"), Portkey $(mb "$IDLE_PORTKEY"), LiteLLM $(mb "$IDLE_LITELLM")) | $(verdict "$(awk -v a="$IDLE_GW" 'BEGIN{print (a <= 15 * 1024)}')") |"
  echo "| RSS under load up to c=32 ≤ 30 MB (peak) | $(mb "${PEAK32_GW:-0}") MB | $(verdict "$(awk -v a="${PEAK32_GW:-0}" 'BEGIN{print (a > 0 && a <= 30 * 1024)}')") |"
  if [ -n "$STREAMS_MD" ]; then
    local row done_ failed peak added99 rss
    row=$(echo "$STREAMS_MD" | grep -m1 '^| switchyard |' || true)
    done_=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
    failed=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $4); print $4}')
    added99=$(echo "$STREAMS_MD" | grep -m1 '^Added by switchyard' | sed -E 's/.*p99 \+?(-?[0-9]+) µs.*/\1/')
    peak=$(echo "$STREAMS_MD" | grep -o 'peak (VmHWM) [0-9.]* MB' | head -1 | grep -o '[0-9.]*')
    echo "| $STREAMS concurrent slow streams: zero errors | ${done_:-?} completed, ${failed:-?} failed | $(verdict "$([ "${failed:-1}" = 0 ] && [ "${done_:-0}" = "$STREAMS" ] && echo 1 || echo 0)") |"
    echo "| … with total gateway RSS ≤ 300 MB | ${peak:-?} MB peak | $(verdict "$(awk -v a="${peak:-99999}" 'BEGIN{print (a <= 300)}')") |"
    echo "| … inter-token latency added ≤ 50 µs p99 | +${added99:-?} µs p99 (each event's one-way latency through the gateway minus direct) | $(verdict "$(awk -v a="${added99:-99999}" 'BEGIN{print (a <= 50)}')") |"
  fi
  if [ -n "$SOAK_MD" ]; then
    local flat pass
    flat=$(echo "$SOAK_MD" | grep -o '→ \*\*[a-z]*\*\*' | head -1 | tr -d '→* ')
    pass=$(echo "$SOAK_MD" | grep -o 'Errors: \*\*[A-Z]*\*\*' | head -1 | tr -d '*' | awk '{print $2}')
    echo "| $((SOAK_SECS / 60))-minute mixed soak: flat memory, zero unexpected errors | memory ${flat:-?}, errors ${pass:-?} | $(verdict "$([ "$flat" = flat ] && [ "$pass" = PASS ] && echo 1 || echo 0)") |"
  fi
}

mkdir -p benches/results
stamp=$(date -u +%Y-%m-%dT%H-%MZ)
out="benches/results/perf-$stamp.md"
{
  echo "Run $stamp on $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -r); $versions; wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $DURATION per cell after a $WARMUP warm-up, pinning: ${PIN:-0}."
  echo "Command: \`benches/perf.sh --update\`."
  echo
  echo "### Targets"
  echo
  targets_table
  echo
  echo "### Side by side"
  echo
  peer_table
  echo
  echo "switchyard: idle RSS $(mb "$IDLE_GW") MB, peak $(mb "$PEAK_GW") MB over the whole table (c up to $(echo "$CONCURRENCY" | awk '{print $NF}')); non-200 answers: $gw_errors (plus $gw_abandoned requests wrk abandoned when a cell's time ran out)."
  if [ -n "$STREAMS_MD" ]; then echo; echo "### $STREAMS concurrent streams"; echo; echo "$STREAMS_MD"; fi
  if [ -n "$SOAK_MD" ]; then echo; echo "### Soak"; echo; echo "$SOAK_MD"; fi
  if [ -n "$INSTR_MD" ]; then echo; echo "### Instructions per request"; echo; echo "$INSTR_MD"; fi
} >"$out"
cat "$out"

if [ "$UPDATE" = 1 ]; then
  bench_update_section perf "$out"
fi
[ "$gw_errors" = 0 ] || { echo "switchyard answered $gw_errors non-200 responses" >&2; exit 1; }
