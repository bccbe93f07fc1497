# syntax=docker/dockerfile:1
#
# frr-supervisor: the FRR sidecar of Kube-OVN's VPC Egress Gateway (BGP and EVPN). It runs FRR 10.7.1 (mgmtd,
# zebra, staticd, bgpd) as its own child processes, follows the projected config volume mounted at
# /etc/frr-supervisor, and serves /livez, /readyz, /status and /metrics on 0.0.0.0:9180.
#
#   docker build -t frr-supervisor:0.1.0 .
#   podman --runtime runc build --network host -t frr-supervisor:0.1.0 .   (npm run test:image does this)
#
# Everything comes from Debian packages on debian:trixie-slim: Node.js 20, iproute2 and tini from trixie, FRR 10.7.1
# from Debian forky (testing), pinned (see the runtime stage). No Node base image, no third-party apt source.
# test/unit/dockerfile.test.ts checks this file (stages, base images, copied files, packages, entrypoint) and
# `npm run test:image` builds it and runs it as the lab's gateway.
#
# Capabilities (deploy/reference-gateway.yaml drops ALL and adds back exactly these; deploy/README.md explains each):
#   NET_ADMIN         zebra installs routes and reads links over netlink; the VRF, bridge and VXLAN devices
#   NET_RAW           zebra and bgpd ask for it at start (FRR's privilege set)
#   NET_BIND_SERVICE  bgpd listens on TCP port 179 (bgpd exits at start without it, zebra does not)
#   SYS_ADMIN         FRR's zebra and bgpd put it in their privilege set and exit at start without it
#                     ("privs_init: initial cap_set_proc failed"); the netns VRF backend needs it anyway
#                     (setns, mount for `ip netns exec`)
#   SYS_CHROOT        only for vrfBackend netns: entering zebra's mount namespace (setns) needs it too
#   CHOWN, DAC_OVERRIDE, SETUID, SETGID, KILL
#                     the supervisor runs as root: it creates /var/run/frr/... for user frr, the daemons
#                     switch to user frr, and the supervisor signals them (drain, restarts, stop)
# FRR 10.7.1's zebra and bgpd exit at start without NET_ADMIN, NET_RAW or SYS_ADMIN (bgpd without NET_BIND_SERVICE
# too), as 10.3's and 8.4.4's do: test/image/image.test.ts starts them with this list but one.
# No HEALTHCHECK: kubelet's livenessProbe (/livez), readinessProbe (/readyz) and startupProbe do that job.

# ---- build: compile the TypeScript, then keep only the production dependencies ----
FROM debian:trixie-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
# A build behind a TLS-intercepting proxy passes its CA bundle as a build secret (podman/docker build --secret
# id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt); without the secret npm uses the image's CAs.
RUN --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates.crt \
    if [ -s /run/secrets/ca-certificates.crt ]; then export npm_config_cafile=/run/secrets/ca-certificates.crt; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
# bin/: src/cli/cli.ts imports bin/probe.js (typed by bin/probe.d.ts), and `npm run build` ends with
# bin/build-stamp.js (dist/build-stamp.json: which sources dist/ was built from)
COPY bin/ bin/
# The dependencies' type declarations and source maps are not read at run time: without them the runtime tree is
# 34 MB smaller (most of it @kubernetes/client-node's generated API, for kube-ovn-sync).
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

# ---- runtime: Debian trixie slim with Debian's Node.js 20 and FRR 10.7.1 (forky's, pinned), the built code ----
FROM debian:trixie-slim AS runtime
LABEL org.opencontainers.image.title="frr-supervisor" \
      org.opencontainers.image.description="FRR sidecar for Kube-OVN's VPC Egress Gateway (BGP and EVPN)" \
      org.opencontainers.image.licenses="Apache-2.0"
# frr iproute2: the packages scripts/install-deps.sh installs for the test lab (there on bookworm: FRR 8.4.4).
# frr is Debian forky's 10.7.1 (graceful restart for L2VPN EVPN needs FRR 10.6 or later; trixie has 10.3), the
# recipe of lab/frr107-image/Containerfile: forky's apt source (the same Debian mirror as trixie's) pinned at
# priority 100, so that only what is named `/forky` comes from it: frr and the three libraries it needs newer
# than trixie has (libyang5, liblua5.5-0; libpcre2-8-0 >= 10.47 for libyang5); the rest from trixie. forky's
# source is the base's first non-security Debian source with its suite changed (the public debian:trixie-slim also
# lists debian-security, which has no `forky` suite). The mirror's forky Release file may be past its Valid-Until
# date (a frozen mirror): Check-Valid-Until no. A forky base instead measured 323 MB (Node.js 24, full systemd)
# against this one's 281 MB: docs/benchmarks.md.
# nodejs runs the supervisor. tini is process 1: it reaps orphaned processes (Node reaps only the children it
# spawned itself) and forwards SIGTERM to the supervisor alone (no -g: the supervisor drains BGP and then stops
# the FRR daemons in order; they must not get the signal first).
RUN awk -v RS= '!/debian-security/ { print; exit }' /etc/apt/sources.list.d/debian.sources \
      | sed -e 's/^Suites:.*/Suites: forky/' -e '/^Signed-By/i Check-Valid-Until: no' >/etc/apt/sources.list.d/forky.sources \
 && printf 'Package: *\nPin: release n=forky\nPin-Priority: 100\n' >/etc/apt/preferences.d/forky \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -t trixie \
      frr/forky libyang5/forky liblua5.5-0/forky libpcre2-8-0/forky iproute2 nodejs tini \
 && rm -rf /var/lib/apt/lists/*
# dist/ and frr-templates/ side by side: dist/render/frr-conf.js reads ../../frr-templates/.
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules/ node_modules/
COPY --from=build /build/dist/ dist/
COPY bin/ bin/
COPY frr-templates/ frr-templates/
# The supervisor runs as root (no USER): it starts the FRR daemons, which drop to user frr (created by
# Debian's frr package). The smoke test fails the build when dist/ or a production dependency is missing.
RUN chmod 0755 /app/bin/frr-supervisor.js \
 && ln -s /app/bin/frr-supervisor.js /usr/local/bin/frr-supervisor \
 && mkdir -p /etc/frr-supervisor \
 && frr-supervisor run --help >/dev/null
EXPOSE 9180
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "frr-supervisor", "run"]
CMD ["--config-dir", "/etc/frr-supervisor"]
