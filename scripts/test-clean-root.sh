#!/usr/bin/env bash
# `npm run test:clean-root`: runs `npm test` in a clean root, to prove that a fresh machine passes: nothing the
# tests, the lab or the demo run may be taken from this machine, only what the project's own scripts install.
#
# The root is a Debian bookworm minbase (debootstrap --variant=minbase bookworm: what `apt` needs and nothing
# else; made by scripts/trixie-rootfs.sh --suite bookworm, cached as a tarball in $FRRSUP_CACHE_DIR, default
# /var/cache/frr-supervisor, and imported into podman as localhost/frrsup-clean-root:bookworm-HASH). It runs in
# a privileged podman container (runc) that shares the host's network and pid namespaces (the lab makes its own
# network namespaces inside, the pid-named lab objects stay unique) and has its own /run, /tmp and podman
# storage (the EVPN replicas test runs podman inside).
#
# Node: Debian bookworm's nodejs is 18 and the project needs >= 20.19 (package.json engines), so a newcomer
# brings Node 20 themselves (the README's prerequisite). The container gets this machine's `node` binary and its
# bundled npm, mounted read-only (/usr/local/bin/node, /usr/local/lib/node_modules/npm): the only thing taken
# from the host. Everything else (npm dependencies, FRR, iproute2, iptables, Prometheus, ...) is installed inside
# by `npm test` itself (scripts/install-deps.sh and the scripts the tests run).
#
# The sources are the working tree's files (without .git, node_modules and dist), copied into the container's /src. Needs root. Prints `timing NAME SECONDS` lines on
# stderr and exits with `npm test`'s status. With arguments it runs them in the container instead of `npm test`
# (for example `bash scripts/test-clean-root.sh bash -c 'bash scripts/install-deps.sh && node --import tsx --test
# test/e2e/bfd.test.ts'`). Leaves no container or staging directory behind.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then echo "test-clean-root: needs root (apt-get, debootstrap, podman)" >&2; exit 1; fi
now() { date +%s.%N; }
timing() { awk -v n="$1" -v a="$2" -v b="$(now)" 'BEGIN { printf "timing %s %.1f\n", n, b - a }' >&2; }
t0=$(now)

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  t=$(now)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  timing "apt-get install ${missing[*]}" "$t"
fi

node=$(readlink -f "$(command -v node)")
npmdir=$(dirname "$node")/../lib/node_modules/npm
if [ ! -f "$npmdir/bin/npm-cli.js" ]; then
  echo "test-clean-root: npm not found next to $node (looked in $npmdir)" >&2
  exit 1
fi
npmdir=$(readlink -f "$npmdir")

podman=(podman --runtime runc)
want=$(sha256sum scripts/trixie-rootfs.sh | cut -c1-16)
base=localhost/frrsup-clean-root:bookworm-$want
cache=${FRRSUP_CACHE_DIR:-/var/cache/frr-supervisor}
mkdir -p "$cache"
stage=$(mktemp -d "$cache/clean-root-run-$$-XXXXXX")
name=frrsup-clean-root-$$
cleanup() {
  "${podman[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
  rm -rf "$stage"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "${podman[@]}" image exists "$base"; then
  tarball=$cache/frrsup-clean-root-bookworm-$want.tar
  if [ ! -s "$tarball" ]; then
    t=$(now)
    bash scripts/trixie-rootfs.sh "$stage/root" --suite bookworm
    tar --numeric-owner -C "$stage/root" -cf "$tarball.$$" .
    mv "$tarball.$$" "$tarball"
    rm -rf "$stage/root"
    find "$cache" -maxdepth 1 -name 'frrsup-clean-root-bookworm-*.tar' ! -name "$(basename "$tarball")" -delete
    timing "debootstrap bookworm" "$t"
  fi
  t=$(now)
  "${podman[@]}" import --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null
  timing "base import" "$t"
fi

mkdir -p "$stage/src" "$stage/containers"
tar --exclude=./.git --exclude=./node_modules --exclude=./dist -cf - . | tar -C "$stage/src" -xf -

t=$(now)
set +e
"${podman[@]}" run --rm --name "$name" \
  --privileged --network host --pid host \
  --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
  --tmpfs /run --tmpfs /tmp \
  -v "$stage/containers:/var/lib/containers" \
  -v "$stage/src:/src" -w /src \
  -v "$node:/usr/local/bin/node:ro" \
  -v "$npmdir:/usr/local/lib/node_modules/npm:ro" \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/host-ca.crt:ro \
  -e NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt \
  -e CI=1 \
  "$base" bash -c '
    set -e
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
    echo "clean-root: $(. /etc/os-release; echo "$PRETTY_NAME"), node $(node --version), npm $(npm --version)" >&2
    if [ $# -gt 0 ]; then exec "$@"; fi
    exec npm test
  ' clean-root "$@"
rc=$?
set -e
timing "npm test in the clean root" "$t"
timing "test:clean-root total" "$t0"
echo "test-clean-root: npm test exited $rc" >&2
exit "$rc"
