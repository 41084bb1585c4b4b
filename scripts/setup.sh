#!/usr/bin/env bash
# Installs what building Switchyard needs and is missing. Safe to run again.
# Usage: scripts/setup.sh [extra Debian packages...]
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)      # pingora-core's zlib-ng build
command -v cc >/dev/null 2>&1 || need+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)  # tests of shared limits (limits.store)
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: no Rust toolchain found (need cargo >= 1.89, e.g. from rustup)" >&2
    exit 1
  fi
fi
