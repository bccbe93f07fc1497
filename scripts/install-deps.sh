#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: npm dependencies; Debian's FRR (8.4.4 on bookworm)
# when vtysh is missing; and the test tools when missing: Debian's Prometheus (2.42: the server and promtool, for
# the alert unit tests, the exposition lint and the e2e test with a real server) and prometheus-frr-exporter
# (1.1.4: the e2e test compares the metric types and labels with it). Idempotent; safe to run on every CI run
# and before the demo.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

updated=0
apt_update() {
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: $1 missing and installing needs root (apt-get install -y $1)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ "$updated" = 0 ]; then
    apt-get update -qq
    updated=1
  fi
}

if ! command -v vtysh >/dev/null 2>&1 || [ ! -x /usr/lib/frr/bgpd ]; then
  apt_update "frr iproute2"
  # The runtime image (Dockerfile) installs exactly this package list.
  apt-get install -y -qq --no-install-recommends frr iproute2 >/dev/null
fi

if ! command -v openssl >/dev/null 2>&1; then
  apt_update openssl
  # The webhook test (test/unit/kube-ovn-webhook.test.ts) makes a self-signed certificate with it, as
  # deploy/kube-ovn/webhook-certs.sh does without cert-manager.
  apt-get install -y -qq --no-install-recommends openssl >/dev/null
fi

if [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ] || [ ! -x /usr/bin/prometheus-frr-exporter ]; then
  apt_update "prometheus prometheus-frr-exporter"
  # Test tools only, not in the image. The tests run them themselves (in the lab's namespaces, temp dirs):
  # no service of these packages is used.
  apt-get install -y -qq --no-install-recommends prometheus prometheus-frr-exporter >/dev/null
fi
