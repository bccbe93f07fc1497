# syntax=docker/dockerfile:1
#
# frr-supervisor: the FRR sidecar of Kube-OVN's VPC Egress Gateway (BGP and EVPN). It runs Debian's FRR 8.4.4
# (zebra, staticd, bgpd) as its own child processes, follows the projected config volume mounted at
# /etc/frr-supervisor, and serves /livez, /readyz, /status and /metrics on 0.0.0.0:9180.
#
#   docker build -t frr-supervisor:0.1.0 .
#
# test/unit/dockerfile.test.ts checks this file: the stages and base images, that every copied file exists
# and is not excluded by .dockerignore, that the runtime stage installs exactly the apt packages of
# scripts/install-deps.sh (the test lab's FRR) plus tini, and it lays out and runs the runtime tree.
#
# Capabilities (deploy/gateway.yaml drops ALL and adds back exactly these; deploy/README.md explains each):
#   NET_ADMIN         zebra installs routes and reads links over netlink; the VRF, bridge and VXLAN devices
#   NET_RAW           zebra and bgpd ask for it at start (FRR's privilege set)
#   NET_BIND_SERVICE  bgpd listens on TCP port 179
#   SYS_ADMIN         FRR 8.4.4's zebra and bgpd put it in their privilege set and exit at start without it
#                     ("privs_init: initial cap_set_proc failed"); the netns VRF backend needs it anyway
#                     (setns, mount for `ip netns exec`)
#   CHOWN, DAC_OVERRIDE, SETUID, SETGID, KILL
#                     the supervisor runs as root: it creates /var/run/frr/... for user frr, the daemons
#                     switch to user frr, and the supervisor signals them (drain, restarts, stop)
# No HEALTHCHECK: kubelet's livenessProbe (/livez), readinessProbe (/readyz) and startupProbe do that job.

# ---- build: compile the TypeScript, then keep only the production dependencies ----
FROM node:20-bookworm AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: Debian bookworm slim with Node 20, Debian's FRR, the built code ----
FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="frr-supervisor" \
      org.opencontainers.image.description="FRR sidecar for Kube-OVN's VPC Egress Gateway (BGP and EVPN)" \
      org.opencontainers.image.licenses="Apache-2.0"
# frr iproute2: the packages scripts/install-deps.sh installs for the test lab (bookworm's FRR is 8.4.4, the
# FRR the tests run). tini is the one extra: it is process 1, reaps orphaned processes (Node reaps only the
# children it spawned itself) and forwards SIGTERM to the supervisor alone (no -g: the supervisor drains
# BGP and then stops the FRR daemons in order; they must not get the signal first).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends frr iproute2 tini \
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
