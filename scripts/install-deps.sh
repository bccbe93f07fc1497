#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: npm dependencies; Debian's FRR (8.4.4 on bookworm)
# when vtysh is missing; and the test tools when missing: Debian's Prometheus (2.42: the server and promtool, for
# the alert unit tests, the exposition lint and the e2e test with a real server) and prometheus-frr-exporter
# (1.1.4: the e2e test compares the metric types and labels with it), iptables (the BFD e2e test cuts a link with
# it) and procps (pgrep: the e2e tests look for leftover daemons). Idempotent; safe to run on every CI run and
# before the demo. Every program the tests, benches, demo and scripts run comes from here, from a script they run
# themselves, or from a minimal Debian system: test/unit/installed-programs.test.ts checks that against the code.
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

# Test tools only, not in the image. The tests run them themselves (in the lab's namespaces, temp dirs): no
# service of these packages is used.
missing=()
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
[ -x /usr/bin/promtool ] || missing+=(prometheus)
[ -x /usr/bin/prometheus-frr-exporter ] || missing+=(prometheus-frr-exporter)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v pgrep >/dev/null 2>&1 || missing+=(procps)
if [ ${#missing[@]} -gt 0 ]; then
  apt_update "${missing[*]}"
  apt-get install -y -qq --no-install-recommends prometheus prometheus-frr-exporter iptables procps >/dev/null
fi
