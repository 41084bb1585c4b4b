#!/usr/bin/env bash
# Many concurrent long-lived streams, all on loopback: STREAMS streamed chat requests, each
# held open CHUNKS × CHUNK_DELAY_MS by the mock (--stamp: every content delta carries its
# send time), first directly against the mock, then through switchyard, same parameters.
# Reports completed/failed, the peak number of streams open at once (measured by the client),
# one-way event latency (arrival − the mock's stamp, same clock), the latency switchyard adds,
# its RSS (peak, at peak concurrency, after the streams end), the mock's RSS, and the
# gateway's own count of non-200 answers (/metrics).
#
# The gateway reaches the mock the way it reaches real providers: over TLS with HTTP/2 (ALPN),
# many streams per connection (UPSTREAM=h2, the default; the mock's TLS listener uses the test
# certificate in tests/fixtures/tls, trusted through the provider's tls.ca_file), or over
# plain HTTP/1.1, one connection per stream (UPSTREAM=h1). The direct run (load generator →
# mock) is always plain HTTP/1.1: the load generator speaks only that.
#
# Usage: benches/streams.sh        Environment (defaults):
#   STREAMS=10000          concurrent streams per run
#   CHUNKS=100             content chunks per stream
#   CHUNK_DELAY_MS=200     between chunks (100 × 200 ms ≈ 20 s per stream)
#   RAMP_SECS=10           stream starts spread evenly over this
#   TIMEOUT_SECS=          per-stream limit (default: stream length + ramp + 60 s)
#   SOURCE_IPS=4           client source addresses 127.0.0.1 … 127.0.0.N (ephemeral ports)
#   LOADGEN_THREADS=1      switchyard-loadgen's tokio threads
#   GW_THREADS=2 MOCK_THREADS=2
#   SETTLE_SECS=5          wait after the gateway run before "RSS after"
#   PIN=0                  1: servers on CPU 0, load generator on CPU 1 (taskset)
#   UPSTREAM=h2            gateway → mock: h2 (HTTPS, HTTP/2 by ALPN) or h1 (plain HTTP/1.1)
#   FLOOR=0                1: also run the streams through a bare Pingora proxy (benches/floor.rs,
#                          HTTP/1.1 to the mock: 2 open files per stream) and report what
#                          switchyard adds over it
#   PORT_BASE=18200        mock +0, gateway +1, admin +2, mock TLS +3, floor +4
# Writes benches/results/streams-<date>.md (plus the two runs' JSON reports next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

STREAMS=${STREAMS:-10000}
CHUNKS=${CHUNKS:-100}
CHUNK_DELAY_MS=${CHUNK_DELAY_MS:-200}
RAMP_SECS=${RAMP_SECS:-10}
TIMEOUT_SECS=${TIMEOUT_SECS:-$((CHUNKS * CHUNK_DELAY_MS / 1000 + RAMP_SECS + 60))}
SOURCE_IPS=${SOURCE_IPS:-4}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
GW_THREADS=${GW_THREADS:-2}
MOCK_THREADS=${MOCK_THREADS:-2}
SETTLE_SECS=${SETTLE_SECS:-5}
PORT_BASE=${PORT_BASE:-18200}
UPSTREAM=${UPSTREAM:-h2}
FLOOR=${FLOOR:-0}
FLOOR_ADDR=127.0.0.1:$((PORT_BASE + 4))
MOCK=127.0.0.1:$((PORT_BASE + 0))
GW=127.0.0.1:$((PORT_BASE + 1))
GW_ADMIN=127.0.0.1:$((PORT_BASE + 2))
MOCK_TLS=127.0.0.1:$((PORT_BASE + 3))
TLS_DIR=$PWD/tests/fixtures/tls
case $UPSTREAM in
  # The test certificate is valid for 127.0.0.1, ::1 and localhost.
  h2) UPSTREAM_URL="https://$MOCK_TLS/v1"; UPSTREAM_PORT=${MOCK_TLS##*:}
      UPSTREAM_DESC="HTTPS, HTTP/2 by ALPN (at most 100 streams per connection on either side)"
      mock_tls=(--tls-listen "$MOCK_TLS" --tls-cert "$TLS_DIR/server.pem" --tls-key "$TLS_DIR/server.key")
      provider_tls=", tls: { ca_file: \"$TLS_DIR/ca.pem\", http2: true }" ;;
  h1) UPSTREAM_URL="http://$MOCK/v1"; UPSTREAM_PORT=${MOCK##*:}
      UPSTREAM_DESC="plain HTTP/1.1, one connection per stream"
      mock_tls=(); provider_tls="" ;;
  *) echo "UPSTREAM must be h2 or h1, not $UPSTREAM" >&2; exit 2 ;;
esac

cargo build --release --locked -p switchyard-mock -p switchyard-benches --bins >&2
BIN=target/release
[ -x $BIN/switchyard ] || { echo "target/release/switchyard is missing (cargo build --release -p switchyard)" >&2; exit 1; }

# Open files: the gateway holds a client socket per stream and, to the provider, one socket
# per stream over HTTP/1.1 or one per 100 streams over HTTP/2; the mock and the load generator
# one per stream. Raise the soft limit as far as the hard limit allows.
if [ "$UPSTREAM" = h2 ]; then per_stream=1; else per_stream=2; fi
want=$((per_stream * STREAMS + STREAMS / 100 + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
  ulimit -n "$hard"
  echo "warning: open-file hard limit is $hard; the gateway needs about $want for $STREAMS streams" \
    "($per_stream per stream + spare): expect failures near $(((hard - 100) / per_stream)) concurrent streams" >&2
  FD_NOTE="open-file limit $hard (hard; wanted $want)"
else
  ulimit -n "$want"
  FD_NOTE="open-file limit $want"
fi

sources=$(seq 1 "$SOURCE_IPS" | sed 's/^/127.0.0./' | paste -sd, -)

. benches/lib.sh
bench_setup

"${srv[@]}" $BIN/switchyard-mock --listen "$MOCK" "${mock_tls[@]}" --threads "$MOCK_THREADS" --record 0 --stamp \
  --chunks "$CHUNKS" --chunk-delay-ms "$CHUNK_DELAY_MS" >"$WORK/mock.log" 2>&1 & PIDS+=($!); MOCK_PID=$!
if [ "$FLOOR" = 1 ]; then
  "${srv[@]}" $BIN/pingora-floor --listen "$FLOOR_ADDR" --upstream "$MOCK" --threads "$GW_THREADS" \
    >"$WORK/floor.log" 2>&1 & PIDS+=($!); FLOOR_PID=$!
fi

stream_secs=$((CHUNKS * CHUNK_DELAY_MS / 1000))
cat >"$WORK/switchyard.yaml" <<YAML
server:
  listen: "$GW"
  admin_listen: "$GW_ADMIN"
  threads: $GW_THREADS
  shutdown_timeout: 1s
log: { level: warn, access_log: false }
health: { circuit_breaker: { failures: 0 }, checks: { enabled: false } }
defaults:
  # A stream lasts ~${stream_secs}s with ${CHUNK_DELAY_MS}ms between events; set explicitly.
  timeouts: { connect: 10s, first_byte: 60s, idle: 60s, total: 600s }
providers:
  mock: { kind: openai, base_url: "$UPSTREAM_URL", models: [gpt-4o-mini]$provider_tls }
YAML
$BIN/switchyard check --config "$WORK/switchyard.yaml" >&2
"${srv[@]}" $BIN/switchyard run --config "$WORK/switchyard.yaml" >"$WORK/switchyard.log" 2>&1 & PIDS+=($!); GW_PID=$!

ready=0
for _ in $(seq 1 100); do
  if curl -sf "http://$MOCK/__mock/health" >/dev/null && curl -sf "http://$GW_ADMIN/ready" >/dev/null &&
    { [ "$FLOOR" = 0 ] || curl -sf "http://$FLOOR_ADDR/__mock/health" >/dev/null; }; then
    ready=1; break
  fi
  sleep 0.1
done
[ "$ready" = 1 ] || { echo "servers did not come up" >&2; cat "$WORK"/*.log >&2; exit 1; }

hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# One short stream through the gateway: it must end with [DONE] (and warms the connection pool
# path once).
probe=$(curl -sN --max-time $((stream_secs + 30)) "http://$GW/v1/chat/completions" \
  -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}' | tail -c 200)
case $probe in *"[DONE]"*) ;; *) echo "probe stream through the gateway failed: $probe" >&2; exit 1;; esac

IDLE_GW=$(rss_kb "$GW_PID"); IDLE_MOCK=$(rss_kb "$MOCK_PID")
run() { # label url watch...
  local label=$1 url=$2; shift 2
  local w=() rc=0
  for x in "$@"; do w+=(--watch "$x"); done
  echo "== $label: $STREAMS streams, ramp ${RAMP_SECS}s, ${CHUNKS} × ${CHUNK_DELAY_MS} ms" >&2
  timeout $((TIMEOUT_SECS + RAMP_SECS + 60)) "${gen[@]}" $BIN/switchyard-loadgen --threads "$LOADGEN_THREADS" streams \
    --url "$url/v1/chat/completions" --conns "$STREAMS" --ramp-secs "$RAMP_SECS" \
    --timeout-secs "$TIMEOUT_SECS" --source-ips "$sources" "${w[@]}" --label "$label" \
    --json-out "$WORK/$label.json" >&2 || rc=$?
  echo "$label exit code $rc" >&2
}

# During the gateway run, once a second: the gateway's open files and its established
# connections to the mock (sockets with the mock's port as destination; only the gateway has
# any then). Cheap enough at 10,000 sockets.
sample_gateway() {
  while :; do
    fds=$(ls "/proc/$GW_PID/fd" 2>/dev/null | wc -l)
    conns=$(ss -Htn state established "( dport = :$UPSTREAM_PORT )" 2>/dev/null | wc -l)
    echo "$fds $conns" >>"$WORK/gw-samples.txt"
    sleep 1
  done
}

run direct "http://$MOCK" "mock=$MOCK_PID"
sleep "$SETTLE_SECS"
MOCK_AFTER_DIRECT=$(rss_kb "$MOCK_PID")
if [ "$FLOOR" = 1 ]; then
  run floor "http://$FLOOR_ADDR" "floor=$FLOOR_PID" "mock=$MOCK_PID"
  sleep "$SETTLE_SECS"
fi
IDLE_FDS=$(ls "/proc/$GW_PID/fd" | wc -l)
sample_gateway & SAMPLER_PID=$!; PIDS+=("$SAMPLER_PID")
run gateway "http://$GW" "gateway=$GW_PID" "mock=$MOCK_PID"
kill "$SAMPLER_PID" 2>/dev/null || true
# Peak open files and upstream connections, each the largest sampled.
read -r PEAK_FDS PEAK_CONNS < <(awk '$1 > f {f = $1} $2 > c {c = $2} END {print f + 0, c + 0}' "$WORK/gw-samples.txt" 2>/dev/null || echo "- -")
sleep "$SETTLE_SECS"
AFTER_FDS=$(ls "/proc/$GW_PID/fd" 2>/dev/null | wc -l)
AFTER_CONNS=$(ss -Htn state established "( dport = :$UPSTREAM_PORT )" 2>/dev/null | wc -l)
GW_AFTER=$(rss_kb "$GW_PID"); GW_HWM=$(hwm_kb "$GW_PID"); MOCK_HWM=$(hwm_kb "$MOCK_PID")
alive=yes; kill -0 "$GW_PID" 2>/dev/null || alive=no

metrics=$(curl -s --max-time 5 "http://$GW_ADMIN/metrics" || true)
non200=$(echo "$metrics" | awk '/^switchyard_requests_total/ && !/status="200"/ {s+=$2} END {print s+0}')
by_status=$(echo "$metrics" | awk '/^switchyard_requests_total/ { if (match($0, /status="[0-9]+"/)) { st=substr($0, RSTART+8, RLENGTH-9); s[st]+=$2 } }
  END { sep=""; for (k in s) { printf "%s%s: %d", sep, k, s[k]; sep=", " } }')
gw_errors=$(echo "$metrics" | awk '/^switchyard_errors_total/ {printf "%s%s", sep, $0; sep="; "}')

mkdir -p benches/results
stamp=$(date -u +%Y-%m-%dT%H-%MZ)
out=benches/results/streams-$stamp.md
# Warnings the gateway logged (level warn): kept next to the report.
if [ -s "$WORK/switchyard.log" ]; then
  sort "$WORK/switchyard.log" | sed -E 's/"ts":"[^"]*",?//' | sort | uniq -c | sort -rn | head -n 20 >"benches/results/streams-$stamp-gateway-log.txt" || true
fi
cp "$WORK/direct.json" "benches/results/streams-$stamp-direct.json" 2>/dev/null || true
cp "$WORK/gateway.json" "benches/results/streams-$stamp-gateway.json" 2>/dev/null || true
cp "$WORK/floor.json" "benches/results/streams-$stamp-floor.json" 2>/dev/null || true

export BY_STATUS="$by_status" GW_ERRORS="$gw_errors"
python3 - "$WORK/direct.json" "$WORK/gateway.json" "$WORK/floor.json" >"$out" <<PY || echo "report generation failed" >&2
import json, os, sys
def load(p):
    try:
        return json.load(open(p))
    except Exception as e:
        return None
d, g, f = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
mb = lambda kb: "-" if kb in (None, "") else "%.1f" % (int(kb) / 1024)
print("Run $stamp on $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(uname -r); "
      "$STREAMS streams × $CHUNKS chunks every $CHUNK_DELAY_MS ms, ramp $RAMP_SECS s, "
      "switchyard $GW_THREADS threads, mock $MOCK_THREADS threads, loadgen $LOADGEN_THREADS thread(s), "
      "$SOURCE_IPS source addresses, $FD_NOTE, pinning: ${PIN:-0}.")
print("Command: \`STREAMS=$STREAMS CHUNKS=$CHUNKS CHUNK_DELAY_MS=$CHUNK_DELAY_MS RAMP_SECS=$RAMP_SECS UPSTREAM=$UPSTREAM FLOOR=$FLOOR benches/streams.sh\`.")
print()
print("Upstream (switchyard → mock): **$UPSTREAM**, $UPSTREAM_DESC. Clients → switchyard and the direct run: plain HTTP/1.1.")
print()
print("| target | completed | failed | peak open | events | event latency p50 µs | p99 µs | p99.9 µs | max µs | gap p50 ms | TTFB p50 µs | TTFB p99 µs |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
def fails(r):
    errs = dict(r["errors"])
    if r.get("statuses"):
        errs["status"] = ", ".join("%s×%s" % (k, v) for k, v in r["statuses"].items())
    return str(r["failed"]) + ("" if not errs else " (" + ", ".join("%s: %s" % kv for kv in errs.items()) + ")")
rows = [("direct", d)] + ([("floor (bare Pingora, HTTP/1.1 upstream)", f)] if "$FLOOR" == "1" else []) + [("switchyard", g)]
for name, r in rows:
    if r is None:
        print("| %s | run failed | | | | | | | | | | |" % name); continue
    l, gp, t = r["latency_us"], r["gap_us"], r["ttfb_us"]
    print("| %s | %d | %s | %d | %d | %d | %d | %d | %d | %.1f | %d | %d |" % (name, r["completed"], fails(r),
          r["peak_open_streams"], r["events"], l["p50"], l["p99"], l["p999"], l["max"], gp["p50"] / 1000, t["p50"], t["p99"]))
print()
if d and g:
    print("Added by switchyard: event latency p50 +%d µs, p99 +%d µs; TTFB p50 +%d µs." % (
        g["latency_us"]["p50"] - d["latency_us"]["p50"], g["latency_us"]["p99"] - d["latency_us"]["p99"],
        g["ttfb_us"]["p50"] - d["ttfb_us"]["p50"]))
    print()
if f and g:
    print("Added by switchyard over the bare Pingora floor: event latency p50 %+d µs, p99 %+d µs (the floor adds p50 %+d µs, p99 %+d µs over direct)." % (
        g["latency_us"]["p50"] - f["latency_us"]["p50"], g["latency_us"]["p99"] - f["latency_us"]["p99"],
        f["latency_us"]["p50"] - (d or f)["latency_us"]["p50"], f["latency_us"]["p99"] - (d or f)["latency_us"]["p99"]))
    print()
gw = (g or {}).get("watch", {}).get("gateway", {})
mk = (d or {}).get("watch", {}).get("mock", {})
print("switchyard RSS: idle %s MB, at peak concurrency %s MB (%s streams open in that sample), max sampled %s MB, "
      "peak (VmHWM) %s MB, %s s after the streams ended %s MB. Mock RSS: idle %s MB, peak (VmHWM) %s MB." % (
      mb("$IDLE_GW"), mb(gw.get("rss_at_peak_open_kb")), gw.get("open_at_that_sample", "-"), mb(gw.get("rss_max_sampled_kb")),
      mb("$GW_HWM"), "$SETTLE_SECS", mb("$GW_AFTER"), mb("$IDLE_MOCK"), mb("$MOCK_HWM")))
print()
print("switchyard open files: idle $IDLE_FDS, max sampled $PEAK_FDS, %s s after $AFTER_FDS. "
      "Established switchyard → mock connections: max sampled $PEAK_CONNS, %s s after $AFTER_CONNS (sampled once a second)." % ("$SETTLE_SECS", "$SETTLE_SECS"))
print()
print("switchyard /metrics: requests by status {%s}; non-200 answers: $non200; gateway alive at the end: $alive." % os.environ["BY_STATUS"])
if os.environ["GW_ERRORS"]:
    print()
    print("switchyard_errors_total: " + os.environ["GW_ERRORS"])
cpu = lambda r, n: (r or {}).get("watch", {}).get(n, {}).get("cpu_secs")
fmt = lambda v: "-" if v is None else "%.1f" % v
print()
print("CPU seconds during the runs (2 cores shared by everything): direct: mock %s, loadgen %s; through switchyard: switchyard %s, mock %s, loadgen %s." % (
      fmt(cpu(d, "mock")), fmt((d or {}).get("loadgen_cpu_secs")), fmt(cpu(g, "gateway")), fmt(cpu(g, "mock")), fmt((g or {}).get("loadgen_cpu_secs"))))
for name, r in (("direct", d), ("switchyard", g)):
    if r and r["error_samples"]:
        print()
        print("%s error samples: %s" % (name, "; ".join(r["error_samples"][:5])))
PY
cat "$out"
echo "saved $out" >&2

failed=0
for f in direct gateway; do
  [ -f "$WORK/$f.json" ] || { failed=1; continue; }
  n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$WORK/$f.json")
  [ "$n" = 0 ] || failed=1
done
[ "$non200" = 0 ] || failed=1
[ "$alive" = yes ] || failed=1
if [ "$failed" != 0 ]; then
  echo "streams.sh: failures (see above); logs:" >&2
  tail -n 20 "$WORK/switchyard.log" "$WORK/mock.log" >&2
  exit 1
fi
