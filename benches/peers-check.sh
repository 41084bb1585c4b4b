#!/usr/bin/env bash
# Checks benches/peers.sh end to end on loopback: installs the peers, starts a mock provider,
# Portkey and LiteLLM in front of it, and through each sends one plain and one streamed chat
# completion (curl) and a short wrk run (c=8, plain and streamed; must be all 2xx, no socket
# errors), then a c=32 wrk run that is only reported. Everything started is killed on exit.
#
# Usage: benches/peers-check.sh
#   env: PORT_BASE=18100, PEERS_DIR, C32=0 to skip the c=32 pass, KEEP_WORK=1 to keep the logs
set -euo pipefail
cd "$(dirname "$0")/.."

PORT_BASE=${PORT_BASE:-18100}
MOCK=127.0.0.1:$((PORT_BASE + 0))
PORTKEY_PORT=$((PORT_BASE + 1))
LITELLM_PORT=$((PORT_BASE + 2))
C32=${C32:-1}

# shellcheck source=benches/peers.sh
. benches/peers.sh

command -v wrk >/dev/null 2>&1 || { echo "peers-check: wrk not found (apt-get install wrk)" >&2; exit 1; }
[ -x target/release/switchyard-mock ] ||
  { echo "peers-check: build the mock first: cargo build --release -p switchyard-mock" >&2; exit 1; }
for port in "$PORT_BASE" "$PORTKEY_PORT" "$LITELLM_PORT"; do
  if curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/"; then
    echo "peers-check: something already listens on 127.0.0.1:$port (set PORT_BASE)" >&2; exit 1
  fi
done

WORK=$(mktemp -d)
MOCK_PID=""
cleanup() {
  local peers
  peers=$(for p in $PORTKEY_PID $LITELLM_PID; do tree_pids "$p"; done)
  peers_stop
  # Let the peers finish (LiteLLM drains in-flight requests) before the mock goes away.
  for _ in $(seq 1 50); do
    alive=0
    for p in $peers; do # running and not yet a zombie waiting to be reaped
      [ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in $peers; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "peers-check: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

peers_install
echo "versions: $(peers_versions)"

target/release/switchyard-mock --listen "$MOCK" --threads 2 --record 0 >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 1 100); do curl -sf "http://$MOCK/__mock/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://$MOCK/__mock/health" >/dev/null || { echo "peers-check: mock did not start" >&2; exit 1; }

t0=$SECONDS; start_portkey "$PORTKEY_PORT" "$MOCK"; echo "portkey ready in $((SECONDS - t0)) s (pid $PORTKEY_PID)"
t0=$SECONDS; start_litellm "$LITELLM_PORT" "$MOCK"; echo "litellm ready in $((SECONDS - t0)) s (pid $LITELLM_PID)"
sleep 1
echo "idle RSS: portkey $(peer_rss_kb "$PORTKEY_PID") kB (pids: $(tree_pids "$PORTKEY_PID" | tr '\n' ' '))," \
  "litellm $(peer_rss_kb "$LITELLM_PID") kB (pids: $(tree_pids "$LITELLM_PID" | tr '\n' ' '))"
echo "listening: $(ss -ltnH "( sport = :$PORTKEY_PORT or sport = :$LITELLM_PORT )" | awk '{print $4}' | tr '\n' ' ')"

plain='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Write one short sentence about load testing."}]}'
stream='{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Write one short sentence about load testing."}]}'

# Header sets, as curl arguments, built from the same Lua lines wrk gets.
lua_to_curl() { sed -nE 's/^wrk\.headers\["([^"]+)"\] = "(.*)"$/-H\n\1: \2/p'; }
mapfile -t H_portkey < <(portkey_wrk_headers "$MOCK" | lua_to_curl)
mapfile -t H_litellm < <(litellm_wrk_headers | lua_to_curl)
H_direct=()
declare -A URL=([direct]="http://$MOCK" [portkey]="http://127.0.0.1:$PORTKEY_PORT" [litellm]="http://127.0.0.1:$LITELLM_PORT")

fail=0
check() { # name
  local name=$1 hv="H_$1[@]" code content events last
  code=$(curl -s -o "$WORK/$name.plain" -w '%{http_code}' -m 30 "${URL[$name]}/v1/chat/completions" \
    -H 'Content-Type: application/json' "${!hv}" -d "$plain")
  content=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["choices"][0]["message"]["content"])' \
    "$WORK/$name.plain" 2>/dev/null || true)
  if [ "$code" = 200 ] && [ -n "$content" ]; then
    echo "$name plain: 200, content: $content"
  else
    echo "$name plain: FAIL (status $code): $(head -c 300 "$WORK/$name.plain")"; fail=1
  fi
  code=$(curl -s -N -o "$WORK/$name.stream" -w '%{http_code}' -m 30 "${URL[$name]}/v1/chat/completions" \
    -H 'Content-Type: application/json' "${!hv}" -d "$stream")
  events=$(grep -c '^data: ' "$WORK/$name.stream" || true)
  last=$(grep -v '^[[:space:]]*$' "$WORK/$name.stream" | tail -n 1 | tr -d '\r')
  if [ "$code" = 200 ] && [ "$events" -gt 1 ] && [ "$last" = "data: [DONE]" ]; then
    echo "$name stream: 200, $events data events, ends with data: [DONE]," \
      "text: $(python3 - "$WORK/$name.stream" <<'PY'
import json, sys
text = ""
for line in open(sys.argv[1]):
    if line.startswith("data: ") and line.strip() != "data: [DONE]":
        for c in json.loads(line[6:]).get("choices", []):
            text += (c.get("delta") or {}).get("content") or ""
print(repr(text))
PY
)"
  else
    echo "$name stream: FAIL (status $code, $events events, last line '$last'): $(head -c 300 "$WORK/$name.stream")"; fail=1
  fi
}
for name in direct portkey litellm; do check "$name"; done

# Are the streamed chunks passed through as the mock sent them?
for name in portkey litellm; do
  if cmp -s <(grep '^data: ' "$WORK/direct.stream") <(grep '^data: ' "$WORK/$name.stream"); then
    echo "$name stream: data lines byte-identical to the mock's"
  else
    echo "$name stream: data lines differ from the mock's; first $name chunk: $(grep -m1 '^data: ' "$WORK/$name.stream" | head -c 400)"
  fi
done

lua() { # name kind -> path of a wrk script
  local name=$1 kind=$2 body f=$WORK/$1-$2.lua
  body=$plain; [ "$kind" = stream ] && body=$stream
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "application/json"'
    echo "wrk.body = '$body'"
    case $name in
      portkey) portkey_wrk_headers "$MOCK" ;;
      litellm) litellm_wrk_headers ;;
    esac
  } >"$f"
  echo "$f"
}
summary() { # wrk output -> one line
  awk '/Requests\/sec/ {rps=$2} /requests in/ {n=$1} /Non-2xx/ {non2xx=$NF} /Socket errors/ {sock=$0}
       / Latency / {lat=$2}
       END {printf "%s requests, %s req/s, mean latency %s, non-2xx %s, %s\n", n, rps, lat, non2xx+0, (sock ? sock : "no socket errors")}'
}
for name in portkey litellm; do
  for kind in plain stream; do
    out=$(wrk -t1 -c8 -d3s -s "$(lua "$name" "$kind")" "${URL[$name]}/v1/chat/completions" 2>&1)
    echo "wrk c=8 $name $kind: $(echo "$out" | summary)"
    if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then echo "$out"; fail=1; fi
  done
done
if [ "$C32" = 1 ]; then
  for name in portkey litellm; do
    for kind in plain stream; do
      out=$(wrk -t2 -c32 -d3s -s "$(lua "$name" "$kind")" "${URL[$name]}/v1/chat/completions" 2>&1)
      echo "wrk c=32 $name $kind (reported only): $(echo "$out" | summary)"
    done
  done
  echo "RSS after load: portkey $(peer_rss_kb "$PORTKEY_PID") kB, litellm $(peer_rss_kb "$LITELLM_PID") kB"
fi

for name in portkey litellm; do
  log=$WORK/$name.log
  n=$(grep -ciE 'error|warn|exception|traceback' "$log" || true)
  echo "$name log: $n error/warning lines$( [ "$n" -gt 0 ] && printf '; first: %s' "$(grep -m1 -iE 'error|warn|exception|traceback' "$log" | head -c 300)")"
done

if [ "$fail" = 0 ]; then echo "peers-check: 1 passed, 0 failed"; else echo "peers-check: 0 passed, 1 failed"; exit 1; fi
