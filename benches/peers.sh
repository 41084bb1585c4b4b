# shellcheck shell=bash
# Peer gateways for the side-by-side load benchmark: Portkey's open-source gateway (npm) and
# the LiteLLM proxy (PyPI), each pinned, installed under $PEERS_DIR and started on loopback in
# front of the same mock provider. Meant to be sourced: it only defines functions and
# variables, and is safe under `set -euo pipefail`.
#
#   peers_install                 install both (idempotent; logs to stderr, nothing on stdout)
#   peers_versions                one line: "portkey-gateway X, litellm Y"
#   start_portkey PORT MOCK_ADDR  start Portkey on 127.0.0.1:PORT, set PORTKEY_PID (the node process)
#   portkey_wrk_headers MOCK_ADDR wrk Lua lines with the headers Portkey routes by
#   start_litellm PORT MOCK_ADDR  start LiteLLM on 127.0.0.1:PORT, set LITELLM_PID, LITELLM_KEY
#   litellm_wrk_headers           wrk Lua line with LiteLLM's auth header
#   tree_pids PID                 PID and all its descendants, one a line
#   peer_rss_kb PID               VmRSS summed over tree_pids PID, in kB
#   peers_stop                    kill what start_portkey/start_litellm started
#
# Call start_* directly, not in $(...) or a pipeline: they set global variables.
# Env: PEERS_DIR (install dir, default $PWD/target/peers), WORK (logs and configs, default /tmp).

# Newest @portkey-ai/gateway on the npm registry.
PORTKEY_VERSION=1.15.2
# Portkey declares "@hono/node-server": "^1.3.3", which now resolves to 1.19.x. From 1.14.2 on,
# node-server's Response wrapper reuses the (immutable) headers of a fetch() Response passed as
# init, and Portkey's streaming path then fails with "TypeError: immutable" when it adds its
# x-portkey-* headers (Portkey-AI/gateway issues #1389, #1550): every `"stream": true` request
# answers 500. Pin node-server to 1.14.1 (and @hono/node-ws to 1.2.0, the newest whose peer
# range admits it) with npm overrides.
PORTKEY_HONO_NODE_SERVER=1.14.1
PORTKEY_HONO_NODE_WS=1.2.0
# Newest litellm whose `[proxy]` extra resolves on the registry this machine reaches: the
# extra pins exact companion packages (litellm-proxy-extras, litellm-enterprise, and from
# 1.110.0 on a separate litellm-proxy), and later versions pin companions it does not serve.
LITELLM_VERSION=1.108.7
PEERS_LITELLM_KEY=sk-bench-master

PEERS_DIR=${PEERS_DIR:-$PWD/target/peers}
PORTKEY_PID=""
LITELLM_PID=""
LITELLM_KEY=""

_peers_log() { echo "peers: $*" >&2; }

peers_install() {
  local t0 marker want dir
  mkdir -p "$PEERS_DIR" || return 1

  # Portkey gateway, from npm.
  dir=$PEERS_DIR/portkey
  marker=$dir/.installed
  want="$PORTKEY_VERSION node-server=$PORTKEY_HONO_NODE_SERVER node-ws=$PORTKEY_HONO_NODE_WS"
  if [ "$(cat "$marker" 2>/dev/null || true)" != "$want" ]; then
    command -v npm >/dev/null 2>&1 || { _peers_log "npm not found (need node >= 18)"; return 1; }
    _peers_log "installing @portkey-ai/gateway@$PORTKEY_VERSION into $dir"
    t0=$SECONDS
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    cat >"$dir/package.json" <<JSON
{
  "private": true,
  "dependencies": { "@portkey-ai/gateway": "$PORTKEY_VERSION" },
  "overrides": {
    "@hono/node-server": "$PORTKEY_HONO_NODE_SERVER",
    "@hono/node-ws": "$PORTKEY_HONO_NODE_WS"
  }
}
JSON
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >&2 ||
      { _peers_log "npm install of @portkey-ai/gateway@$PORTKEY_VERSION failed"; return 1; }
    # Portkey's server listens on all interfaces (hono serve() without a hostname); this
    # preload makes a listen() without a host bind 127.0.0.1 instead.
    cat >"$dir/loopback.cjs" <<'JS'
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" && (args.length === 1 || typeof args[1] !== "string")) {
    if (args.length > 1 && args[1] === undefined) args.splice(1, 1);
    args.splice(1, 0, "127.0.0.1");
  } else if (args[0] && typeof args[0] === "object" && args[0].port !== undefined && !args[0].host) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
JS
    echo "$want" >"$marker"
    _peers_log "portkey installed in $((SECONDS - t0)) s"
  fi

  # LiteLLM proxy, from PyPI, in its own venv.
  dir=$PEERS_DIR/litellm
  marker=$dir/.installed
  if [ "$(cat "$marker" 2>/dev/null || true)" != "$LITELLM_VERSION" ]; then
    _peers_log "installing litellm[proxy]==$LITELLM_VERSION into $dir"
    t0=$SECONDS
    rm -rf "$dir" || return 1
    python3 -m venv "$dir" >&2 ||
      { _peers_log "python3 -m venv failed (Debian: apt-get install python3-venv)"; return 1; }
    "$dir/bin/pip" install --quiet --disable-pip-version-check \
      "litellm[proxy]==$LITELLM_VERSION" >&2 ||
      { _peers_log "pip install litellm[proxy]==$LITELLM_VERSION failed"; return 1; }
    echo "$LITELLM_VERSION" >"$marker"
    _peers_log "litellm installed in $((SECONDS - t0)) s"
  fi
}

peers_versions() {
  local pk ll
  pk=$(node -p "require(process.argv[1]).version" \
    "$PEERS_DIR/portkey/node_modules/@portkey-ai/gateway/package.json" 2>/dev/null || echo "not installed")
  ll=$("$PEERS_DIR/litellm/bin/python" -c \
    'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || echo "not installed")
  echo "portkey-gateway $pk, litellm $ll"
}

tree_pids() { # PID -> PID and all its descendants, one a line
  local root=$1
  ps -e -o pid=,ppid= | awk -v root="$root" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = 1; q[1] = root
      for (i = 1; i <= n; i++) {
        print q[i]
        m = split(kids[q[i]], c, " ")
        for (j = 1; j <= m; j++) q[++n] = c[j]
      }
    }'
}

peer_rss_kb() { # PID -> VmRSS summed over tree_pids PID, in kB
  local p total=0 kb
  for p in $(tree_pids "$1"); do
    kb=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# _peers_wait NAME PID URL TIMEOUT_S LOG: poll URL until it answers 2xx, the process dies or time
# runs out (then print the log tail and fail).
_peers_wait() {
  local name=$1 pid=$2 url=$3 timeout=$4 log=$5 deadline code
  deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      _peers_log "$name (pid $pid) exited during startup; last lines of $log:"
      tail -n 30 "$log" >&2 || true
      return 1
    fi
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null || true)
    case $code in 2??) return 0 ;; esac
    sleep 0.2
  done
  _peers_log "$name did not answer $url within ${timeout}s; last lines of $log:"
  tail -n 30 "$log" >&2 || true
  return 1
}

# Portkey routes per request: x-portkey-provider picks the provider's request/response mapping
# and x-portkey-custom-host replaces its base URL. Portkey validates custom hosts against SSRF
# (private ranges, metadata hosts, .local/.internal, ...) but its default TRUSTED_CUSTOM_HOSTS
# is localhost,127.0.0.1,::1,host.docker.internal, so http://127.0.0.1:PORT/v1 is accepted as
# is (setting TRUSTED_CUSTOM_HOSTS replaces that list, so leave it unset).
# Benchmark caveat: Portkey's stream reader (build/start-server.js) sleeps 25 ms before it
# forwards the first chunk of every streamed response (1 ms per chunk more for azure-openai),
# so its streamed latency carries a fixed +25 ms that is not proxying work.
start_portkey() { # PORT MOCK_ADDR
  local port=$1 mock=$2 log dir
  dir=$PEERS_DIR/portkey
  log=${WORK:-/tmp}/portkey.log
  [ -f "$dir/node_modules/@portkey-ai/gateway/build/start-server.js" ] ||
    { _peers_log "portkey not installed in $dir (run peers_install)"; return 1; }
  dir=$(cd "$dir" && pwd) || return 1 # node --require needs an absolute (or ./) path
  # --port=N (only that form is parsed), --headless: no web UI or log-streaming routes.
  node --require "$dir/loopback.cjs" \
    "$dir/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$port" --headless \
    >"$log" 2>&1 </dev/null &
  PORTKEY_PID=$!
  _peers_log "portkey pid $PORTKEY_PID on 127.0.0.1:$port (upstream http://$mock/v1 via headers), log $log"
  _peers_wait portkey "$PORTKEY_PID" "http://127.0.0.1:$port/" 30 "$log"
}

portkey_wrk_headers() { # MOCK_ADDR
  local mock=$1
  printf '%s\n' \
    'wrk.headers["x-portkey-provider"] = "openai"' \
    "wrk.headers[\"x-portkey-custom-host\"] = \"http://$mock/v1\"" \
    'wrk.headers["Authorization"] = "Bearer sk-bench-upstream"'
}

# LiteLLM: one uvicorn worker (the CLI's default), in the same process as the CLI. Everything
# that would reach the internet is pointed at the copies shipped in the wheel, telemetry is
# vetoed, and there is no database (so no spend logs, keys or prisma).
start_litellm() { # PORT MOCK_ADDR
  local port=$1 mock=$2 log cfg dir
  dir=$PEERS_DIR/litellm
  log=${WORK:-/tmp}/litellm.log
  cfg=${WORK:-/tmp}/litellm.yaml
  [ -x "$dir/bin/litellm" ] || { _peers_log "litellm not installed in $dir (run peers_install)"; return 1; }
  cat >"$cfg" <<YAML
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://$mock/v1
      api_key: sk-bench-upstream
litellm_settings:
  set_verbose: false
  json_logs: false
general_settings:
  master_key: $PEERS_LITELLM_KEY
YAML
  LITELLM_KEY=$PEERS_LITELLM_KEY
  env -u DATABASE_URL -u LITELLM_MASTER_KEY \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    LITELLM_LOCAL_BLOG_POSTS=True \
    LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS=True \
    LITELLM_LOCAL_AUTOROUTER_PRESETS=True \
    LITELLM_LOCAL_POLICY_TEMPLATES=True \
    LITELLM_TELEMETRY_DISABLED=True \
    LITELLM_LOG="${PEERS_LITELLM_LOG:-ERROR}" \
    LITELLM_DONT_SHOW_FEEDBACK_BOX=True \
    LITELLM_MODE=PRODUCTION \
    "$dir/bin/litellm" --config "$cfg" --host 127.0.0.1 --port "$port" \
    >"$log" 2>&1 </dev/null &
  LITELLM_PID=$!
  _peers_log "litellm pid $LITELLM_PID on 127.0.0.1:$port (upstream http://$mock/v1), log $log"
  _peers_wait litellm "$LITELLM_PID" "http://127.0.0.1:$port/health/readiness" 120 "$log"
}

litellm_wrk_headers() {
  printf '%s\n' "wrk.headers[\"Authorization\"] = \"Bearer ${LITELLM_KEY:-$PEERS_LITELLM_KEY}\""
}

peers_stop() { # kill the process trees start_portkey/start_litellm started
  local root p
  for root in "$PORTKEY_PID" "$LITELLM_PID"; do
    [ -n "$root" ] || continue
    for p in $(tree_pids "$root"); do kill "$p" 2>/dev/null || true; done
  done
  PORTKEY_PID=""
  LITELLM_PID=""
}
