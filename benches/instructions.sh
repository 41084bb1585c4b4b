#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: repeatable figures that do
# not move with the machine's load, so a regression shows even on a noisy box.
#
# The proxy under test (the bare Pingora floor or switchyard) runs under callgrind; the mock
# providers and the client run natively. For each request class the script sends WARM requests,
# zeroes the counters, sends N more on one keep-alive connection, dumps, and divides the
# instructions executed by N. Counted: user-space instructions of every thread of the proxy
# (the kernel's share of socket I/O is not included).
#
# Classes:
#   plain             OpenAI passthrough, non-streamed chat completion
#   stream            OpenAI passthrough, streamed (5 content events + role, finish, usage, [DONE])
#   stream-event      the cost of one more streamed event: (stream with 55 events − stream with
#                     5) / 50
#   anthropic         OpenAI request translated to Anthropic Messages and back, non-streamed
#   anthropic-stream  the same, streamed (5 content events)
#   plain, staged     plain again, with a plugin stage registered (request-tagger refusing a model
#                     this request does not ask for): what a feature costs a request it does
#                     not apply to
#   plain, unvalidated  plain again with `validation: { enabled: false }`: what request
#                     validation (on by default) costs
#   plain, keyed      plain with a gateway key (auth stage) and no limits
#   plain, limited    plain with the same key limited in requests and tokens (per key, per user,
#                     global) and a budget: keyed → limited is what local limits cost a request
#   plain, shared     limited, with the counters shared through a redis-server (LIMITS_REDIS=0
#                     skips it): the request path never waits for Redis
# The floor runs the passthrough classes only (it cannot translate).
#
# Usage: benches/instructions.sh [--update]   (env: N=400 WARM=50 PORT_BASE=18400
#        KEEP=DIR keeps each class's callgrind profile as DIR/NAME-CLASS.callgrind, for
#        `callgrind_annotate --inclusive=yes DIR/switchyard-plain.callgrind`)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh valgrind

N=${N:-400}
WARM=${WARM:-50}
PORT_BASE=${PORT_BASE:-18400}
MOCK=127.0.0.1:$((PORT_BASE + 0))
MOCK_LONG=127.0.0.1:$((PORT_BASE + 1))
PROXY=127.0.0.1:$((PORT_BASE + 2))
ADMIN=127.0.0.1:$((PORT_BASE + 3))
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1

cargo build --release --locked -p switchyard -p switchyard-mock -p switchyard-benches --bins >&2
BIN=target/release
. benches/lib.sh
bench_setup

$BIN/switchyard-mock --listen "$MOCK" --threads 1 --record 0 --chunks 5 >"$WORK/mock.log" 2>&1 & PIDS+=($!)
$BIN/switchyard-mock --listen "$MOCK_LONG" --threads 1 --record 0 --chunks 55 >"$WORK/mock-long.log" 2>&1 & PIDS+=($!)

cat >"$WORK/switchyard.yaml" <<YAML
server: { listen: "$PROXY", admin_listen: "$ADMIN", threads: 2 }
log: { level: info, access_log: true }
health: { checks: { enabled: false } }
providers:
  mock: { kind: openai, base_url: "http://$MOCK/v1", models: [gpt-4o-mini] }
  long: { kind: openai, base_url: "http://$MOCK_LONG/v1", models: [] }
  claude: { kind: anthropic, base_url: "http://$MOCK/v1", api_key: sk-ant-bench, models: [claude-sonnet-4-5] }
routes:
  long: { targets: [ { provider: long, model: gpt-4o-mini } ] }
YAML

# One keep-alive connection, exactly COUNT requests, every response read to the end.
cat >"$WORK/drive.py" <<'PY'
import http.client, json, sys
host, port = sys.argv[1].split(":")
model, stream, count = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
headers = {"content-type": "application/json"}
if len(sys.argv) > 5:
    headers["authorization"] = "Bearer " + sys.argv[5]
    headers["x-switchyard-user"] = "bench-user"
body = {"model": model, "messages": [{"role": "user", "content": "Write one short sentence about load testing."}]}
if model.startswith("claude"):
    body["max_tokens"] = 64
if stream:
    body["stream"] = True
payload = json.dumps(body).encode()
conn = http.client.HTTPConnection(host, int(port), timeout=120)
for i in range(count):
    conn.request("POST", "/v1/chat/completions", payload, headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or (stream and not data.rstrip().endswith(b"data: [DONE]")):
        sys.exit(f"request {i}: status {r.status}: {data[:300]!r}")
PY

wait_for() { # url
  for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; exit 1
}

declare -A IR
# measure NAME CLASS-LIST: starts the proxy under callgrind and measures each class.
measure() {
  local name=$1; shift
  local out="$WORK/callgrind.$name"
  local cmd
  if [ "$name" = floor ]; then
    cmd=($BIN/pingora-floor --listen "$PROXY" --upstream "$MOCK" --threads 2)
  else
    cmd=($BIN/switchyard run --config "$WORK/$name.yaml")
  fi
  valgrind --tool=callgrind --callgrind-out-file="$out.%p" "${cmd[@]}" >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_for "http://$MOCK/__mock/health"
  wait_for "http://$MOCK_LONG/__mock/health"
  if [ "$name" = floor ]; then wait_for "http://$PROXY/v1/models"; else wait_for "http://$ADMIN/ready"; fi
  local class model stream
  for class in "$@"; do
    case $class in
      plain) model=gpt-4o-mini; stream=0;;
      stream) model=gpt-4o-mini; stream=1;;
      stream-long) model=long; stream=1;;
      anthropic) model=claude-sonnet-4-5; stream=0;;
      anthropic-stream) model=claude-sonnet-4-5; stream=1;;
    esac
    # The floor forwards the body as is: the long stream needs the long mock behind it.
    if [ "$name" = floor ] && [ "$class" = stream-long ]; then
      kill "$pid"; wait "$pid" 2>/dev/null || true
      valgrind --tool=callgrind --callgrind-out-file="$out.%p" \
        $BIN/pingora-floor --listen "$PROXY" --upstream "$MOCK_LONG" --threads 2 >>"$WORK/$name.log" 2>&1 &
      pid=$!; PIDS+=("$pid")
      wait_for "http://$PROXY/v1/models"
      model=gpt-4o-mini
    fi
    python3 "$WORK/drive.py" "$PROXY" "$model" "$stream" "$WARM" ${BENCH_KEY:-}
    callgrind_control -z "$pid" >/dev/null 2>&1
    python3 "$WORK/drive.py" "$PROXY" "$model" "$stream" "$N" ${BENCH_KEY:-}
    rm -f "$out.$pid".*
    callgrind_control -d "$pid" >/dev/null 2>&1
    local f; f=$(ls -t "$out.$pid".* | head -1)
    local total; total=$(awk '/^summary:/ {print $2}' "$f")
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$f" "$KEEP/$name-$class.callgrind"; fi
    IR[$name/$class]=$((total / N))
    echo "$name $class: ${IR[$name/$class]} instructions per request" >&2
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

if [ "${LIMITS_ONLY:-0}" = 1 ]; then
  measure floor plain
else
  measure floor plain stream stream-long
  measure switchyard plain stream stream-long anthropic anthropic-stream
  { cat "$WORK/switchyard.yaml"; printf 'plugins:\n  - use: request-tagger\n    with: { refuse_models: [not-asked-for] }\n'; } >"$WORK/switchyard-staged.yaml"
  measure switchyard-staged plain
  { cat "$WORK/switchyard.yaml"; printf 'validation: { enabled: false }\n'; } >"$WORK/switchyard-unvalidated.yaml"
  measure switchyard-unvalidated plain
fi

# Gateway keys and limits: the same plain request with a key, then with limits on it.
BENCH_KEY=sk-bench-key-0123456789
keyed() { # extra lines for the key
  { cat "$WORK/switchyard.yaml"
    printf 'auth:\n  keys:\n    - name: bench\n      key: %s\n%s' "$BENCH_KEY" "$1"; } 
}
keyed "" >"$WORK/switchyard-keyed.yaml"
LIMITED='      limits: { requests: 100000000/min, tokens: 100000000000/min }
      budget: { usd: 1000000, per: month }
limits:
  per_user: { requests: 100000000/min }
  global: { requests: 100000000/s }
'
keyed "$LIMITED" >"$WORK/switchyard-limited.yaml"
measure switchyard-keyed plain
measure switchyard-limited plain
if [ "${LIMITS_REDIS:-1}" = 1 ]; then
  . scripts/setup.sh redis-server
  REDIS_PORT=$((PORT_BASE + 4))
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 & PIDS+=($!)
  { keyed "$LIMITED"; printf '  store: { redis: "redis://127.0.0.1:%s" }\n' "$REDIS_PORT"; } >"$WORK/switchyard-shared.yaml"
  measure switchyard-shared plain
fi

k() { awk -v v="$1" 'BEGIN { printf "%.0fk", v / 1000 }'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
mkdir -p benches/results
stamp=$(date -u +%Y-%m-%dT%H-%MZ)

# Keys and limits only (LIMITS_ONLY=1): the floor, a key, local limits, shared limits.
limits_rows() {
  a=${IR[floor/plain]}
  for v in keyed limited shared; do
    [ -n "${IR[switchyard-$v/plain]:-}" ] || continue
    b=${IR[switchyard-$v/plain]}
    echo "| plain, $v | $(k "$a") | $(k "$b") | $(k $((b - a))) | $(x "$b" "$a") |"
  done
  echo
  echo "Local limits (requests and tokens per key, per user and global, and a budget) cost a request $(( IR[switchyard-limited/plain] - IR[switchyard-keyed/plain] )) instructions (keyed vs limited)."
  if [ -n "${IR[switchyard-shared/plain]:-}" ]; then
    echo "Sharing them through Redis costs $(( IR[switchyard-shared/plain] - IR[switchyard-limited/plain] )) more per request (limited vs shared; the background sync included, no round trip on the request path)."
  fi
}
if [ "${LIMITS_ONLY:-0}" = 1 ]; then
  {
    echo "Run $stamp, $(valgrind --version), $N requests per class after $WARM warm-up requests, one keep-alive connection."
    echo "Command: \`LIMITS_ONLY=1 benches/instructions.sh\` (N=$N)."
    echo
    echo "| class | floor | switchyard | added | switchyard ÷ floor |"
    echo "|---|---|---|---|---|"
    limits_rows
  } >"benches/results/instructions-limits-$stamp.md"
  cat "benches/results/instructions-limits-$stamp.md"
  exit 0
fi

per_event() { echo $(( (IR[$1/stream-long] - IR[$1/stream]) / 50 )); }
IR[floor/stream-event]=$(per_event floor)
IR[switchyard/stream-event]=$(per_event switchyard)
{
  echo "Run $stamp, $(valgrind --version), $N requests per class after $WARM warm-up requests, one keep-alive connection."
  echo "Command: \`benches/instructions.sh\` (N=$N)."
  echo
  echo "| class | floor | switchyard | added | switchyard ÷ floor |"
  echo "|---|---|---|---|---|"
  for class in plain stream stream-event; do
    a=${IR[floor/$class]}; b=${IR[switchyard/$class]}
    echo "| $class | $(k "$a") | $(k "$b") | $(k $((b - a))) | $(x "$b" "$a") |"
  done
  for class in anthropic anthropic-stream; do
    a=${IR[floor/plain]}; [ "$class" = anthropic-stream ] && a=${IR[floor/stream]}
    b=${IR[switchyard/$class]}
    echo "| $class (floor: passthrough) | $(k "$a") | $(k "$b") | $(k $((b - a))) | $(x "$b" "$a") |"
  done
  a=${IR[floor/plain]}; b=${IR[switchyard-staged/plain]}
  echo "| plain, with a stage registered that it does not trigger | $(k "$a") | $(k "$b") | $(k $((b - a))) | $(x "$b" "$a") |"
  b=${IR[switchyard-unvalidated/plain]}
  echo "| plain, validation off | $(k "$a") | $(k "$b") | $(k $((b - a))) | $(x "$b" "$a") |"
  limits_rows
  echo "A registered stage a request does not trigger costs it $(( IR[switchyard-staged/plain] - IR[switchyard/plain] )) instructions (plain vs plain, staged)."
  echo "Request validation (on by default) costs a plain request $(( IR[switchyard/plain] - IR[switchyard-unvalidated/plain] )) instructions (plain vs plain with \`validation: { enabled: false }\`)."
} >"benches/results/instructions-$stamp.md"
cat "benches/results/instructions-$stamp.md"

if [ "$UPDATE" = 1 ]; then
  bench_update_section instructions "benches/results/instructions-$stamp.md"
fi
