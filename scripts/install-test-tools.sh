#!/usr/bin/env bash
# Installs the lab's traffic tools when missing (test and benchmark tools, not in the runtime image): tcpdump
# (the proof that probes crossed the underlay VXLAN-encapsulated) and fping (the loss meter's cross-check).
# Idempotent; the traffic tests and bench:traffic run it before they start.
set -euo pipefail

missing=()
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
command -v fping >/dev/null 2>&1 || missing+=(fping)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-test-tools: ${missing[*]} missing and installing needs root (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
