#!/usr/bin/env bash
# `npm run test:image`: builds the container image (FRR 10.7.1) with podman and runs it as the lab's gateway
# (test/image/image.test.ts) and as Kube-OVN's mutated gateway Pod (kube-ovn-pod.test.ts); runs the supervisor
# on FRR 10.3 in the lab's 10.3 image (frr103.test.ts). Installs what it needs when missing: the npm
# dependencies and the lab's FRR (scripts/install-deps.sh), podman, runc and debootstrap, and the
# debian:trixie-slim base made from Debian packages and cached in /var/cache/frr-supervisor
# (scripts/image-base.sh). Needs root. Removes the containers and images it makes, even when a test fails
# (the base and the lab's FRR 10.3 image stay, as caches).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/install-deps.sh
bash scripts/image-base.sh
echo "timing image prerequisites $(( $(date +%s) - t0 )) s" >&2
node --import tsx --test --test-concurrency=1 --test-reporter=spec test/image/*.test.ts
echo "timing test:image total $(( $(date +%s) - t0 )) s" >&2
