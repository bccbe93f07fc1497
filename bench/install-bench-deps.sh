#!/usr/bin/env bash
# Installs what bench:observe needs beyond the test lab (scripts/install-deps.sh): BIRD 2 (the external-router
# side: one BGP speaker holding many sessions towards the gateway from different local addresses) and Debian's
# prometheus-frr-exporter (1.1.4 on bookworm), measured side by side with the supervisor. apt only, and only
# when missing; idempotent.
set -euo pipefail

missing=()
command -v bird >/dev/null 2>&1 || missing+=(bird2)
command -v birdc >/dev/null 2>&1 || missing+=(bird2)
[ -x /usr/bin/prometheus-frr-exporter ] || missing+=(prometheus-frr-exporter)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-bench-deps: ${missing[*]} missing and installing needs root (apt-get install -y ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# No systemd here: the packages' service starts are blocked; the bench runs both programs itself.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
