#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: npm dependencies, and Debian's FRR (8.4.4 on
# bookworm) when vtysh is missing. Idempotent; safe to run on every CI run and before the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if ! command -v vtysh >/dev/null 2>&1 || [ ! -x /usr/lib/frr/bgpd ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: FRR is missing and installing it needs root (apt-get install -y frr)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The runtime image (Dockerfile) installs exactly this package list.
  apt-get install -y -qq --no-install-recommends frr iproute2 >/dev/null
fi
