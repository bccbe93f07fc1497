#!/usr/bin/env bash
# Builds a Debian trixie root filesystem in TARGET with debootstrap (--variant=minbase), from the Debian mirror
# this machine's apt uses (read from /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list at run
# time; DEBIAN_MIRROR overrides it).
#
#   scripts/trixie-rootfs.sh TARGET [--slim] [--suite SUITE]
#
# --suite makes another Debian release's root the same way (bookworm for `npm run test:clean-root`).
#
# --slim trims it the way the public debian:trixie-slim image is trimmed: no apt lists or archives, no docs,
# man pages or locales, and a dpkg filter that keeps later `apt-get install` steps from adding them back. The
# result is what `podman import` turns into a `debian:trixie-slim` base (scripts/image-base.sh). Without
# --slim it is a plain minbase root (a VM or chroot can install kernels and docs into it).
# Needs root and debootstrap (scripts/image-base.sh installs it). TARGET must not exist or be empty.
set -euo pipefail

usage() { echo "usage: $0 TARGET [--slim]" >&2; exit 2; }
[ $# -ge 1 ] || usage
target=$1; shift
slim=0
suite=trixie
while [ $# -gt 0 ]; do
  case $1 in
    --slim) slim=1 ;;
    --suite) [ $# -ge 2 ] || usage; suite=$2; shift ;;
    *) usage ;;
  esac
  shift
done

if [ "$(id -u)" != 0 ]; then echo "trixie-rootfs: needs root (debootstrap)" >&2; exit 1; fi
command -v debootstrap >/dev/null || { echo "trixie-rootfs: debootstrap is missing (apt-get install -y debootstrap)" >&2; exit 1; }
if [ -e "$target" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
  echo "trixie-rootfs: $target exists and is not empty" >&2; exit 1
fi

# The first non-security Debian URI apt uses here (deb822 `URIs:` lines, or one-line `deb URI SUITE` entries).
debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri=''
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { if ($i !~ /security/) print $i; break } }' /etc/apt/sources.list | head -n 1)
  fi
  if [ -z "$uri" ]; then
    echo "trixie-rootfs: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list; set DEBIAN_MIRROR" >&2
    exit 1
  fi
  echo "$uri"
}
mirror=$(debian_mirror)
echo "trixie-rootfs: debootstrap --variant=minbase $suite $target $mirror" >&2
mkdir -p "$target"
t0=$(date +%s)
debootstrap --variant=minbase "$suite" "$target" "$mirror" >"$target.debootstrap.log" 2>&1 || {
  echo "trixie-rootfs: debootstrap failed; last lines of its log:" >&2
  tail -n 20 "$target.debootstrap.log" >&2
  exit 1
}
rm -f "$target.debootstrap.log"
echo "trixie-rootfs: debootstrap took $(( $(date +%s) - t0 )) s" >&2

# apt inside uses the same mirror, in deb822 form as the public image has it.
rm -f "$target/etc/apt/sources.list"
mkdir -p "$target/etc/apt/sources.list.d"
cat >"$target/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

if [ "$slim" = 1 ]; then
  # What the public slim images do (debuerreotype's slimify): dpkg skips docs, man pages and locales from now
  # on, and apt keeps no package cache.
  mkdir -p "$target/etc/dpkg/dpkg.cfg.d" "$target/etc/apt/apt.conf.d"
  cat >"$target/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# Written by frr-supervisor's scripts/trixie-rootfs.sh --slim, as in debian:*-slim.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
EOF
  cat >"$target/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$target/etc/apt/apt.conf.d/docker-no-recommends"
  find "$target/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$target/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$target/usr/share/man/"* "$target/usr/share/info/"* "$target/usr/share/locale/"* \
         "$target/usr/share/groff/"* "$target/usr/share/lintian/"* "$target/usr/share/linda/"*
  rm -rf "$target/var/lib/apt/lists/"* "$target/var/cache/apt/"* "$target/var/cache/debconf/"*-old \
         "$target/var/log/"*.log "$target/var/log/apt/"* "$target/tmp/"*
fi
echo "trixie-rootfs: $target ready ($(du -sh "$target" | cut -f1))" >&2
