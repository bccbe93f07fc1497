#!/usr/bin/env bash
# Prepares this machine to build and run the image with podman, without any image registry:
# - installs podman, runc and debootstrap when missing (apt-get update first);
# - makes the `debian:trixie-slim` base the Dockerfile starts from, out of Debian packages: a slim minbase
#   root (scripts/trixie-rootfs.sh --slim), cached as a tarball in $FRRSUP_CACHE_DIR (default
#   /var/cache/frr-supervisor) between runs on the same machine, and imported into podman's storage as
#   localhost/debian:trixie-slim, labelled with the hash of the script that made it (a changed script makes a
#   new one). An existing debian:trixie-slim without that label (the public image) is used as it is.
# Prints one `timing NAME SECONDS` line per step it ran on stderr. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then echo "image-base: needs root (apt-get, debootstrap, podman)" >&2; exit 1; fi
now() { date +%s.%N; }
timing() { awk -v n="$1" -v a="$2" -v b="$(now)" 'BEGIN { printf "timing %s %.1f\n", n, b - a }' >&2; }

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

podman=(podman --runtime runc)
base=localhost/debian:trixie-slim
label=org.frr-supervisor.rootfs
want=$(sha256sum scripts/trixie-rootfs.sh | cut -c1-16)

have=''
if "${podman[@]}" image exists "$base"; then
  have=$("${podman[@]}" image inspect --format "{{ index .Labels \"$label\" }}" "$base" 2>/dev/null || true)
  if [ -z "$have" ] || [ "$have" = '<no value>' ]; then
    echo "image-base: $base exists and was not made here: using it as it is" >&2
    exit 0
  fi
  if [ "$have" = "$want" ]; then
    echo "image-base: $base is current (rootfs $want)" >&2
    exit 0
  fi
fi

cache=${FRRSUP_CACHE_DIR:-/var/cache/frr-supervisor}
tarball=$cache/debian-trixie-slim-$want.tar
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  work=$(mktemp -d "$cache/rootfs-$$-XXXXXX")
  trap 'rm -rf "$work" "$tarball.$$"' EXIT
  t=$(now)
  bash scripts/trixie-rootfs.sh "$work/root" --slim
  timing debootstrap "$t"
  tar --numeric-owner -C "$work/root" -cf "$tarball.$$" .
  mv "$tarball.$$" "$tarball"
  rm -rf "$work"
  # Older tarballs from an earlier version of the script.
  find "$cache" -maxdepth 1 -name 'debian-trixie-slim-*.tar' ! -name "$(basename "$tarball")" -delete
fi
t=$(now)
"${podman[@]}" import --change "LABEL $label=$want" --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null
timing "base import" "$t"
echo "image-base: imported $base from $tarball ($(du -h "$tarball" | cut -f1))" >&2
