#!/usr/bin/env bash
# Soak test, all on loopback: CONNS keep-alive connections send a mix of requests through
# switchyard for DURATION seconds while the gateway's RSS is sampled every SAMPLE_SECS:
#   chat / chat-stream            OpenAI passthrough to the mock
#   claude / claude-stream        translated to Anthropic's Messages API (mock /v1/messages)
#   fallback-503                  route whose first target (a second mock) answers 503 forever
#   bad-json, missing-model       400 (the gateway's documented client errors, tests/errors.rs)
#   unknown-model                 404
#   wrong-method                  405
# Every answer must have its documented status (client errors are counted as expected);
# any other status or transport error fails the run (exit 1). Memory verdict: "flat" when
#   final − RSS at the end of warm-up ≤ max(TOLERANCE_KB, TOLERANCE_PCT % of it)
#   and the least-squares slope of RSS after warm-up ≤ MAX_SLOPE_KB_MIN,
# else "growing". Why 100 KB/min: over the 9 post-warm-up minutes of the default run that is
# 0.9 MB, under the 2 MB end-point tolerance, so the two checks agree on a steady trend; it
# is 6 MB/hour, which a leak of even one byte per request at a few thousand requests/s
# exceeds; and with ~108 samples the regression resolves slopes well below it, so sampling
# jitter of a few hundred KB does not trip it. A single step (an allocator arena growing
# once) mid-run also reads as "growing": look at the samples in the JSON before concluding.
# Finally the gateway's /metrics must show no status other than the expected ones.
#
# Usage: benches/soak.sh          Environment (defaults):
#   DURATION=600 WARMUP=60 SAMPLE_SECS=5 CONNS=16
#   TOLERANCE_KB=2048 TOLERANCE_PCT=5 MAX_SLOPE_KB_MIN=100
#   LOADGEN_THREADS=1 GW_THREADS=2 MOCK_THREADS=2 PIN=0 (1: servers CPU 0, loadgen CPU 1)
#   PORT_BASE=18300                 mock +0, 503-mock +1, gateway +2, admin +3
# Writes benches/results/soak-<date>.md and the full report with every sample (-<date>.json).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
WARMUP=${WARMUP:-60}
SAMPLE_SECS=${SAMPLE_SECS:-5}
CONNS=${CONNS:-16}
TOLERANCE_KB=${TOLERANCE_KB:-2048}
TOLERANCE_PCT=${TOLERANCE_PCT:-5}
MAX_SLOPE_KB_MIN=${MAX_SLOPE_KB_MIN:-100}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
GW_THREADS=${GW_THREADS:-2}
MOCK_THREADS=${MOCK_THREADS:-2}
PORT_BASE=${PORT_BASE:-18300}
MOCK=127.0.0.1:$((PORT_BASE + 0))
BAD_MOCK=127.0.0.1:$((PORT_BASE + 1))
GW=127.0.0.1:$((PORT_BASE + 2))
GW_ADMIN=127.0.0.1:$((PORT_BASE + 3))

cargo build --release --locked -p switchyard-mock -p switchyard-benches --bins >&2
BIN=target/release
[ -x $BIN/switchyard ] || { echo "target/release/switchyard is missing (cargo build --release -p switchyard)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

. benches/lib.sh
bench_setup

"${srv[@]}" $BIN/switchyard-mock --listen "$MOCK" --threads "$MOCK_THREADS" --record 0 >"$WORK/mock.log" 2>&1 & PIDS+=($!)
"${srv[@]}" $BIN/switchyard-mock --listen "$BAD_MOCK" --threads 1 --record 0 >"$WORK/bad.log" 2>&1 & PIDS+=($!)
cat >"$WORK/switchyard.yaml" <<YAML
server: { listen: "$GW", admin_listen: "$GW_ADMIN", threads: $GW_THREADS }
log: { level: warn, access_log: false }
# Breaker off: every fallback request pays the failed first attempt.
health: { circuit_breaker: { failures: 0 }, checks: { enabled: false } }
defaults:
  timeouts: { connect: 5s, first_byte: 30s, idle: 30s, total: 60s }
providers:
  mock: { kind: openai, base_url: "http://$MOCK/v1", models: [gpt-4o-mini] }
  claude: { kind: anthropic, base_url: "http://$MOCK/v1", api_key: sk-ant-mock-key, models: [claude-sonnet-4-5] }
  bad: { kind: openai, base_url: "http://$BAD_MOCK/v1", models: [] }
routes:
  claude:
    targets: [ { provider: claude, model: claude-sonnet-4-5 } ]
  resilient:
    strategy: fallback
    targets: [ { provider: bad, model: gpt-4o-mini }, { provider: mock, model: gpt-4o-mini } ]
YAML
$BIN/switchyard check --config "$WORK/switchyard.yaml" >&2
"${srv[@]}" $BIN/switchyard run --config "$WORK/switchyard.yaml" >"$WORK/switchyard.log" 2>&1 & PIDS+=($!); GW_PID=$!

ready=0
for _ in $(seq 1 100); do
  if curl -sf "http://$MOCK/__mock/health" >/dev/null && curl -sf "http://$BAD_MOCK/__mock/health" >/dev/null \
    && curl -sf "http://$GW_ADMIN/ready" >/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ "$ready" = 1 ] || { echo "servers did not come up" >&2; cat "$WORK"/*.log >&2; exit 1; }
# The first target of the fallback route answers 503 to every request of the run.
curl -sf --max-time 5 -X POST "http://$BAD_MOCK/__mock/script" -H 'content-type: application/json' \
  -d '[{"status":503,"times":1000000000}]' >/dev/null

cat >"$WORK/mix.json" <<'JSON'
[
  {"name": "chat", "method": "POST", "path": "/v1/chat/completions", "weight": 3, "expect_status": 200,
   "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Write one short sentence about soak tests."}]}},
  {"name": "chat-stream", "method": "POST", "path": "/v1/chat/completions", "weight": 2, "expect_status": 200, "stream": true,
   "body": {"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "Stream one short sentence."}]}},
  {"name": "claude", "method": "POST", "path": "/v1/chat/completions", "weight": 2, "expect_status": 200,
   "body": {"model": "claude", "max_tokens": 64, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Claude."}]}},
  {"name": "claude-stream", "method": "POST", "path": "/v1/chat/completions", "weight": 2, "expect_status": 200, "stream": true,
   "body": {"model": "claude", "stream": true, "max_tokens": 64, "messages": [{"role": "user", "content": "Stream hello."}]}},
  {"name": "fallback-503", "method": "POST", "path": "/v1/chat/completions", "weight": 2, "expect_status": 200,
   "body": {"model": "resilient", "messages": [{"role": "user", "content": "The first target is down."}]}},
  {"name": "bad-json", "method": "POST", "path": "/v1/chat/completions", "expect_status": 400, "body": "{not json"},
  {"name": "missing-model", "method": "POST", "path": "/v1/chat/completions", "expect_status": 400,
   "body": {"messages": [{"role": "user", "content": "no model"}]}},
  {"name": "unknown-model", "method": "POST", "path": "/v1/chat/completions", "expect_status": 404,
   "body": {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}},
  {"name": "wrong-method", "method": "GET", "path": "/v1/chat/completions", "expect_status": 405}
]
JSON
# Which statuses the gateway may count in switchyard_requests_total.
EXPECTED_STATUSES='200 400 404 405'

echo "== soak: $CONNS connections for ${DURATION}s (warm-up ${WARMUP}s, RSS every ${SAMPLE_SECS}s)" >&2
IDLE_GW=$(rss_kb "$GW_PID")
rc=0
timeout $((${DURATION%.*} + 120)) "${gen[@]}" $BIN/switchyard-loadgen --threads "$LOADGEN_THREADS" soak \
  --base "http://$GW" --conns "$CONNS" --duration-secs "$DURATION" --mix "$WORK/mix.json" \
  --pid "$GW_PID" --sample-secs "$SAMPLE_SECS" --warmup-secs "$WARMUP" \
  --tolerance-kb "$TOLERANCE_KB" --tolerance-pct "$TOLERANCE_PCT" --max-slope-kb-per-min "$MAX_SLOPE_KB_MIN" \
  --json-out "$WORK/soak.json" >&2 || rc=$?
alive=yes; kill -0 "$GW_PID" 2>/dev/null || alive=no

metrics=$(curl -s --max-time 5 "http://$GW_ADMIN/metrics" || true)
by_status=$(echo "$metrics" | awk '/^switchyard_requests_total/ { if (match($0, /status="[0-9]+"/)) { st=substr($0, RSTART+8, RLENGTH-9); s[st]+=$2 } }
  END { for (k in s) print k, s[k] }' | sort -n)
unexpected_metric=0
while read -r st n; do
  [ -n "${st:-}" ] || continue
  case " $EXPECTED_STATUSES " in *" $st "*) ;; *) unexpected_metric=$((unexpected_metric + ${n%.*}));; esac
done <<<"$by_status"
status_line=$(echo "$by_status" | awk 'NF {printf "%s%s: %s", sep, $1, $2; sep=", "}')
attempts=$(echo "$metrics" | awk '/^switchyard_upstream_attempts_total/ { if (match($0, /outcome="[^"]+"/)) { o=substr($0, RSTART+9, RLENGTH-10); s[o]+=$2 } }
  END { sep=""; for (k in s) { printf "%s%s: %d", sep, k, s[k]; sep=", " } }')

mkdir -p benches/results
stamp=$(date -u +%Y-%m-%dT%H-%MZ)
out=benches/results/soak-$stamp.md
[ -f "$WORK/soak.json" ] && cp "$WORK/soak.json" "benches/results/soak-$stamp.json"
python3 - "$WORK/soak.json" >"$out" <<PY
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    r = None
mb = lambda kb: "-" if kb is None else "%.1f" % (kb / 1024)
print("Run $stamp on $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -r); "
      "$CONNS keep-alive connections for $DURATION s (warm-up $WARMUP s), RSS every $SAMPLE_SECS s; "
      "switchyard $GW_THREADS threads, pinning: ${PIN:-0}.")
print("Command: \`DURATION=$DURATION benches/soak.sh\`.")
print()
if r is None:
    print("The load generator produced no report (exit code $rc).")
    sys.exit(0)
print("| request | expected status | requests | as expected | unexpected | transport errors |")
print("|---|---|---|---|---|---|")
for name, p in r["per_request"].items():
    unexp = str(p["unexpected"])
    if p["unexpected_status"]:
        unexp += " (" + ", ".join("%s×%s" % kv for kv in p["unexpected_status"].items()) + ")"
    tr = sum(p["transport_errors"].values())
    trs = str(tr) + ("" if not tr else " (" + ", ".join("%s: %s" % kv for kv in p["transport_errors"].items()) + ")")
    print("| %s | %d | %d | %d | %s | %s |" % (name, p["expect_status"], p["requests"], p["expected"], unexp, trs))
print("| **total** | | %d | %d | %d | %d |" % (r["requests"], r["expected"], r["unexpected"], r["transport_errors"]))
print()
m = r["rss"]
slope = "-" if m["slope_kb_per_min"] is None else "%.1f" % m["slope_kb_per_min"]
print("%.0f requests/s. switchyard RSS: idle %s MB, after warm-up %s MB, min/max after warm-up %s/%s MB, final %s MB "
      "(%+.1f MB), slope %s KB/min over %d samples → **%s** (flat: growth ≤ max(%d KB, %s %%) and slope ≤ %s KB/min)." % (
      r["requests_per_sec"], mb($IDLE_GW), mb(m["at_warmup_end_kb"]), mb(m["min_after_warmup_kb"]), mb(m["max_after_warmup_kb"]),
      mb(m["final_kb"]), ((m["final_kb"] or 0) - (m["at_warmup_end_kb"] or 0)) / 1024, slope, len(m["samples"]),
      m["verdict"], m["tolerance_kb"], m["tolerance_pct"], m["max_slope_kb_per_min"]))
print()
print("switchyard /metrics: requests by status {$status_line}; statuses other than $EXPECTED_STATUSES: $unexpected_metric; "
      "upstream attempts {$attempts}; stale keep-alive retries by the client: %d; gateway alive at the end: $alive. "
      "Errors: **%s** (memory verdict above)." % (r["stale_keepalive_retries"], "PASS" if r["passed"] and $unexpected_metric == 0 and "$alive" == "yes" else "FAIL"))
samples = [s for p in r["per_request"].values() for s in p["samples"]]
if samples:
    print()
    print("Error samples: " + "; ".join(samples[:8]))
PY
cat "$out"
echo "saved $out" >&2

if [ "$rc" != 0 ] || [ "$unexpected_metric" != 0 ] || [ "$alive" != yes ]; then
  echo "soak.sh: FAILED (loadgen exit $rc, unexpected statuses in /metrics $unexpected_metric, gateway alive: $alive)" >&2
  tail -n 20 "$WORK/switchyard.log" >&2
  exit 1
fi
