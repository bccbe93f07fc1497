#!/bin/bash
# The kernel VRF backend end to end, inside the VM (Debian trixie's kernel, FRR 10.7.1 from Debian forky on both
# sides, Node 20). Runs as root, alone in
# the VM, no network device: every address here lives in namespaces this script creates.
#
#   node ----- ovn (the VPC's router) ----- eth0 [gw: the gateway Pod] net1 ----- rtr (FRR, L3VNI) ----- remote
#               |                                                                  VRF vrf-rtr
#              vpc (a VPC host, 10.17.0.10)                                                 (192.168.100.10)
#
# Results go to the host on ttyS1: `ok N - what` / `not ok N - what`; details on the console (ttyS0).
set -u
P=/opt/frr-supervisor
G=$P/test/vm/guest
W=/tmp/fsvm
mkdir -p $W/log $W/conf
RES=/dev/ttyS1
N=0
FAILED=0
VNI=1016
VNI2=1017
POD_IP=10.16.0.2
GW_NET1=10.0.1.13
RT=10.0.1.1
VPC_HOST=10.17.0.10
REMOTE=192.168.100.10
SUP_PID=
# deploy/reference-gateway.yaml's capabilities: the supervisor (and mgmtd) run with only these in the bounding set
CAPS=+chown,+dac_override,+kill,+setgid,+setuid,+net_bind_service,+net_admin,+net_raw,+sys_admin
CAPBND=00000000002034e3
CAPPED=(setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,$CAPS --)

FRR_VERSION=10.7.1
say() { echo "fsvm: $*"; }
dump_logs() {
  say "gateway FRR:"; gw_vtysh -c 'show bgp summary' -c 'show evpn vni' -c 'show bgp l2vpn evpn route type prefix' 2>&1 | head -60
  say "supervisor log (last 60 lines):"; tail -n 60 $W/log/supervisor.log | cut -c1-400
  for f in $W/log/*-*.log; do say "== $f"; tail -n 15 "$f"; done
}
ok() { N=$((N + 1)); echo "ok $N - $1" > $RES; say "ok $N - $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1" > $RES; say "NOT OK $N - $1"; }
# check DESCRIPTION CMD...: one result line from a command's exit status
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
# until_ok SECONDS CMD...: retries CMD every second until it succeeds or SECONDS pass
until_ok() {
  local t=$1; shift
  local end=$((SECONDS + t))
  while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 1; done
  "$@"
}
gw() { ip netns exec gw "$@"; }
fails() { ! "$@"; }
rtr_vtysh() { vtysh -N rtr --config_dir /etc/frr "$@"; }
gw_vtysh() { vtysh -N gw --config_dir /etc/frr "$@"; }

# FRR 10.7.1 (Debian forky's, test/vm/image.ts) for the router and the gateway alike: graceful restart covers
# L2VPN EVPN from FRR 10.6 on
zebra_version=$(/usr/lib/frr/zebra --version 2>&1 | head -1)
say "FRR: $zebra_version; package $(dpkg-query -W -f '${Version}' frr 2>&1)"
check "the VM's FRR is $FRR_VERSION (zebra --version: $zebra_version)" grep -qx "zebra version $FRR_VERSION" <<< "$zebra_version"

# ------------------------------------------------------------------------------------------------------------
# the namespaces and wires
for ns in node ovn vpc gw rtr remote ref; do ip netns add $ns; ip -n $ns link set lo up; done
wire() { # wire NS1 IF1 NS2 IF2
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}
wire node node0 ovn ovn-node
wire vpc vpc0 ovn ovn-vpc
wire gw eth0 ovn ovn-gw
wire gw net1 rtr rtr-gw
wire remote rem0 rtr rtr-rem

# the "node" (kubelet, Prometheus) reaches Pod IPs through the VPC's router, as through OVN's join network
ip -n node addr add 100.64.0.2/16 dev node0
ip -n node route add default via 100.64.0.1
# the VPC's router: the Pod subnet 10.16.0.0/16, a VPC host subnet, the join network; traffic leaving the VPC
# goes to the gateway Pod (what the gateway's policy routes do in OVN)
ip -n ovn addr add 10.16.0.1/16 dev ovn-gw
ip -n ovn addr add 10.17.0.1/24 dev ovn-vpc
ip -n ovn addr add 100.64.0.1/16 dev ovn-node
ip -n ovn route add default via $POD_IP
ip netns exec ovn sysctl -qw net.ipv4.ip_forward=1
ip -n vpc addr add $VPC_HOST/24 dev vpc0
ip -n vpc route add default via 10.17.0.1
# the gateway Pod as the CNI leaves it: eth0 with the Pod IP and the default route, net1 from Multus
ip -n gw addr add $POD_IP/16 dev eth0
ip -n gw route add default via 10.16.0.1 dev eth0
ip -n gw addr add $GW_NET1/24 dev net1
# what Kube-OVN's gateway init script does besides the EVPN devices: forwarding on, eth0's rp_filter off
gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.eth0.rp_filter=0
# the external router and the remote host behind it
ip -n rtr addr add $RT/24 dev rtr-gw
ip -n remote addr add $REMOTE/24 dev rem0
ip -n remote route add default via 192.168.100.1
ip netns exec rtr sysctl -qw net.ipv4.ip_forward=1

# ------------------------------------------------------------------------------------------------------------
# 1. `frr-supervisor init` creates the devices Kube-OVN's init script creates
# Kube-OVN's gateway init script (EVPN part), replayed in the reference namespace `ref` with the same eth0/net1
wire ref eth0 ovn ovn-ref
wire ref net1 rtr rtr-ref
ip -n ref addr add $POD_IP/16 dev eth0
ip -n ref addr add $GW_NET1/24 dev net1
ip -n ref link add vrf-vpn type vrf table 2000
ip -n ref link set vrf-vpn up
ip -n ref link add br-vpn type bridge
ip -n ref link set br-vpn master vrf-vpn
ip -n ref link set br-vpn up
ip -n ref link add vxlan-vpn type vxlan id $VNI dstport 4789 local $GW_NET1
ip -n ref link set vxlan-vpn master br-vpn
ip -n ref link set vxlan-vpn up
ip -n ref link set eth0 master vrf-vpn
ip -n ref route add 10.17.0.0/24 via 10.16.0.1 dev eth0 table 2000

# the data plane of a namespace, normalized: one line per device / route, the attributes Kube-OVN sets
describe() {
  local ns=$1 d line
  for d in vrf-vpn br-vpn vxlan-vpn eth0; do
    line=$(ip -n "$ns" -d -o link show dev "$d" 2>/dev/null) || { echo "$d missing"; continue; }
    printf '%s' "$d"
    [[ $line =~ \<[^\>]*,UP[,\>] ]] && printf ' up'
    [[ $line =~ master\ ([^ ]+) ]] && printf ' master=%s' "${BASH_REMATCH[1]}"
    [[ $line =~ vrf\ table\ ([0-9]+) ]] && printf ' vrf-table=%s' "${BASH_REMATCH[1]}"
    [[ $line =~ bridge\ forward_delay ]] && printf ' bridge'
    [[ $line =~ vxlan\ id\ ([0-9]+) ]] && printf ' vxlan-id=%s' "${BASH_REMATCH[1]}"
    [[ $line =~ local\ ([0-9.]+) ]] && printf ' local=%s' "${BASH_REMATCH[1]}"
    [[ $line =~ dstport\ ([0-9]+) ]] && printf ' dstport=%s' "${BASH_REMATCH[1]}"
    echo
  done
  ip -n "$ns" route show table 2000 10.17.0.0/24 | sed -E 's/ proto [a-z]+//; s/ +$//; s/^/route /'
}

cat > $W/conf/bgp-conf.yaml <<EOF
apiVersion: kubeovn.io/v1
kind: BgpConf
metadata:
  name: bgp-conf-6502
spec:
  localASN: 65002
  peerASN: 65001
  neighbours:
  - $RT
  holdTime: 9s
  keepaliveTime: 3s
  connectTime: 2s
EOF
evpn_conf() {
  cat > $W/evpn-conf.yaml.new <<EOF
apiVersion: kubeovn.io/v1
kind: EvpnConf
metadata:
  name: evpn-conf-$1
spec:
  vni: $1
  routeTargets:
  - "65000:$VNI"
EOF
  mv $W/evpn-conf.yaml.new $W/conf/evpn-conf.yaml
}
evpn_conf $VNI
cat > $W/conf/gateway.yaml <<EOF
advertise:
- 10.17.0.0/24
internalGateway: 10.16.0.1
gracefulRestart: true
EOF

SUP="node $P/bin/frr-supervisor.js"
say "frr-supervisor init (Node under emulation: slow)"
gw "${CAPPED[@]}" env POD_IP=$POD_IP $SUP init --config-dir $W/conf > $W/log/init.out 2>&1
rc=$?
cat $W/log/init.out
check "frr-supervisor init exits 0 in the Pod layout (kernel backend)" test $rc = 0
describe ref > $W/ref.txt
describe gw > $W/gw.txt
say "Kube-OVN's init script:"; cat $W/ref.txt
say "frr-supervisor init:"; cat $W/gw.txt
check "init creates the devices Kube-OVN's init script creates (VRF table 2000, bridge, VXLAN, eth0 in the VRF, VPC route)" diff $W/ref.txt $W/gw.txt
check "the VRF device is a real kernel VRF (ip -d link: vrf table 2000)" grep -q '^vrf-vpn up vrf-table=2000$' $W/gw.txt
check "eth0 keeps the Pod IP in the VRF" sh -c "ip -n gw -o addr show dev eth0 | grep -q 'inet $POD_IP/16'"
say "the rest of the differences with Kube-OVN's VXLAN device (by design):"
for ns in ref gw; do
  l=$(ip -n $ns -d -o link show dev vxlan-vpn)
  say "  $([ $ns = ref ] && echo "Kube-OVN:      " || echo "frr-supervisor:") mtu $(sed -E 's/.* mtu ([0-9]+) .*/\1/' <<< "$l"), VXLAN learning $([[ $l =~ nolearning ]] && echo off || echo on), bridge-port learning $(sed -E 's/.* learning (on|off) .*/\1/' <<< "$l")"
done
ip netns del ref

# ------------------------------------------------------------------------------------------------------------
# 2. the external router: FRR 10.7.1 with a kernel VRF and an L3VNI, graceful restart on (FRR's default helper mode).
# Its L3VNI is in a VRF, as a data-centre router has it: with the L3VNI in its default VRF, FRR 10.7.1 as helper
# drops the imported type-5 routes when the gateway's bgpd restarts and never imports them again
# (docs/investigations/2026-12-04-evpn-graceful-restart-frr-10.7.md, section 1).
ip -n rtr link add vrf-rtr type vrf table 100
ip -n rtr link set vrf-rtr up
ip -n rtr link set rtr-rem master vrf-rtr
ip -n rtr addr add 192.168.100.1/24 dev rtr-rem
rtr_devices() { # rtr_devices VNI: (re)creates the router's bridge and VXLAN
  ip -n rtr link del rtvx 2>/dev/null
  ip -n rtr link show rtbr > /dev/null 2>&1 || { ip -n rtr link add rtbr type bridge; ip -n rtr link set rtbr master vrf-rtr; }
  ip -n rtr link add rtvx type vxlan id "$1" local $RT dstport 4789 nolearning
  ip -n rtr link set rtvx master rtbr
  ip -n rtr link set rtvx type bridge_slave learning off
  ip -n rtr link set rtbr up
  ip -n rtr link set rtvx up
}
rtr_devices $VNI
mkdir -p /etc/frr/rtr /run/frr/rtr /run/frr/gw
chown -R frr:frr /run/frr $W/log
printf 'service integrated-vtysh-config\n' > /etc/frr/rtr/vtysh.conf
cat > /etc/frr/rtr/frr.conf <<EOF
frr defaults traditional
hostname rtr
vrf vrf-rtr
 vni $VNI
exit-vrf
router bgp 65001
 bgp router-id $RT
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp graceful-restart
 neighbor $GW_NET1 remote-as 65002
 neighbor $GW_NET1 timers 3 9
 neighbor $GW_NET1 timers connect 2
 address-family ipv4 unicast
  neighbor $GW_NET1 activate
 exit-address-family
 address-family l2vpn evpn
  neighbor $GW_NET1 activate
  advertise-all-vni
 exit-address-family
exit
router bgp 65001 vrf vrf-rtr
 bgp router-id $RT
 no bgp ebgp-requires-policy
 bgp graceful-restart
 address-family ipv4 unicast
  redistribute connected
 exit-address-family
 address-family l2vpn evpn
  advertise ipv4 unicast
  route-target import 65000:$VNI
  route-target export 65000:$VNI
 exit-address-family
exit
EOF
# FRR 10: mgmtd first; mgmtd and staticd take no -f (their config arrives through mgmtd)
frr_start() { # frr_start NS PATHSPACE DAEMON [ARGS...]
  local ns=$1 ps=$2 d=$3; shift 3
  ip netns exec "$ns" /usr/lib/frr/"$d" -d -N "$ps" -i /run/frr/"$ps"/"$d".pid -P 0 --log file:$W/log/"$ps"-"$d".log "$@"
}
frr_start rtr rtr mgmtd
frr_start rtr rtr zebra -f /dev/null
frr_start rtr rtr staticd
frr_start rtr rtr bgpd -f /dev/null
until_ok 60 test -S /run/frr/rtr/bgpd.vty
rtr_vtysh -b > $W/log/rtr-push.out 2>&1
check "the router (FRR 10.7.1, kernel VRF, L3VNI $VNI) is configured" sh -c "vtysh -N rtr -c 'show running-config' | grep -q 'vni $VNI'"

# ------------------------------------------------------------------------------------------------------------
# 3. the gateway: frr-supervisor run (kernel backend) driving FRR 10.7.1
# The supervisor drives FRR 10.7.1 itself (src/frr/version.ts): mgmtd first, `-f` only where a daemon takes it,
# zebra's vrf/vni through mgmtd.
say "starting frr-supervisor run in the gateway namespace"
ip netns exec gw "${CAPPED[@]}" env POD_IP=$POD_IP FRRSUP_DAEMON_START_TIMEOUT_MS=60000 $SUP run --config-dir $W/conf --pathspace gw \
  --vtysh-timeout 30s --resync 5s --poll-interval 5s --debounce 300ms > $W/log/supervisor.log 2>&1 &
SUP_PID=$!
http() { # http NS URL: prints the status code (000 when no answer)
  ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$2"
}
ready() { [ "$(http gw http://127.0.0.1:9180/readyz)" = 200 ]; }
# progress while waiting: the supervisor's last event every 30 s
for i in $(seq 14); do
  until_ok 30 ready && break
  say "waiting for readiness ($((i * 30)) s): $(grep -o '"event":"[a-z_]*"' $W/log/supervisor.log | tail -1)"
done
check "the supervisor is ready: config applied, daemons up, BGP session Established" ready
ready || { dump_logs; exit 1; }
running_versions() { for ps in rtr gw; do vtysh -N $ps -c 'show version' 2>&1 | grep -o 'FRRouting [0-9.]*' | head -1; done | paste -sd' '; }
check "the router and the gateway run FRR $FRR_VERSION (show version: $(running_versions))" test "$(running_versions)" = "FRRouting $FRR_VERSION FRRouting $FRR_VERSION"
check "the supervisor runs with deploy/'s capabilities only (CapBnd $CAPBND)" grep -q "^CapBnd:[[:space:]]*$CAPBND" /proc/$SUP_PID/status
check "run found the devices init made and changed nothing at startup" sh -c "! grep -q '\"event\":\"dataplane_step\"' $W/log/supervisor.log"

rtr_has_gw_prefix() { vtysh -N rtr -c 'show ip route vrf vrf-rtr 10.17.0.0/24' 2>/dev/null | grep -q 'bgp'; }
gw_has_rtr_prefix() { ip -n gw route show table 2000 192.168.100.0/24 | grep -q 'proto bgp'; }
until_ok 120 rtr_has_gw_prefix
check "type-5: the router installs the gateway's 10.17.0.0/24 in its VRF" rtr_has_gw_prefix
until_ok 120 gw_has_rtr_prefix
check "type-5: the gateway installs the router's 192.168.100.0/24 in VRF table 2000 (kernel)" gw_has_rtr_prefix
ip -n gw route show table 2000
# the poller reads FRR 10.7.1 with the kernel VRF: the L3VNI up and the imported type-5 route, on /metrics
metrics_have() { ip netns exec gw curl -s --max-time 10 http://127.0.0.1:9180/metrics | grep -qE "$1"; }
until_ok 60 metrics_have "^frr_evpn_vni_up\{vni=\"$VNI\",type=\"L3\",vrf=\"vrf-vpn\"\} 1$"
check "/metrics: frr_evpn_vni_up{vni=\"$VNI\",type=\"L3\",vrf=\"vrf-vpn\"} 1" metrics_have "^frr_evpn_vni_up\{vni=\"$VNI\",type=\"L3\",vrf=\"vrf-vpn\"\} 1$"
until_ok 60 metrics_have "^frr_evpn_prefix_routes\{vrf=\"vrf-vpn\",vni=\"$VNI\"\} [1-9]"
check "/metrics: frr_evpn_prefix_routes counts the type-5 route installed in vrf-vpn" metrics_have "^frr_evpn_prefix_routes\{vrf=\"vrf-vpn\",vni=\"$VNI\"\} [1-9]"

# graceful restart: the router (helper) sees the gateway restart-capable for L2VPN EVPN, forwarding state kept
rtr_peer() { # the router's view of the gateway's session, one line of key=value
  vtysh -N rtr -c "show bgp neighbors $GW_NET1 json" 2>/dev/null | node -e '
    let t = ""; process.stdin.on("data", (d) => (t += d)).on("end", () => {
      let p = {};
      try { p = JSON.parse(t)[process.argv[1]] ?? {}; } catch {}
      const g = p.gracefulRestartInfo ?? {};
      console.log(`state=${p.bgpState} established=${p.connectionsEstablished} remoteGrMode=${g.remoteGrMode} evpnFBit=${g.l2VpnEvpn?.fBit} evpnEorRecv=${g.endOfRibRecv?.l2VpnEvpn} restartTimer=${g.timers?.receivedRestartTimer} localGrMode=${g.localGrMode}`);
    });' "$GW_NET1"
}
peer=$(rtr_peer)
say "the router's view of the gateway: $peer"
check "graceful restart: the router (helper) sees the gateway restart-capable for L2VPN EVPN, forwarding state kept ($peer)" \
  grep -q ' remoteGrMode=Restart evpnFBit=true ' <<< "$peer"

ping_vpc_to_remote() { ip netns exec vpc ping -c 2 -W 2 -q $REMOTE > /dev/null; }
ping_remote_to_vpc() { ip netns exec remote ping -c 2 -W 2 -q $VPC_HOST > /dev/null; }
until_ok 60 ping_vpc_to_remote
check "packets cross: VPC host $VPC_HOST -> remote host $REMOTE (through eth0, the VRF, VXLAN)" ping_vpc_to_remote
until_ok 60 ping_remote_to_vpc
check "packets cross: remote host $REMOTE -> VPC host $VPC_HOST" ping_remote_to_vpc

# ------------------------------------------------------------------------------------------------------------
# 4. the probes on the Pod IP from the node, with eth0 in the VRF. kubelet probes (and Prometheus scrapes) the Pod
# IP; the supervisor listens on 0.0.0.0:9180 in the Pod's default VRF.
probe_all() { # probe_all NS URL: "livez=CODE readyz=CODE metrics=CODE" (000: no HTTP answer)
  echo "livez=$(http "$1" "$2/livez") readyz=$(http "$1" "$2/readyz") metrics=$(http "$1" "$2/metrics")"
}
why() { ip netns exec node curl -sS -o /dev/null --max-time 10 "http://$POD_IP:9180/livez" 2>&1 | head -1; }
NO_ANSWER="livez=000 readyz=000 metrics=000"
ANSWERS="livez=200 readyz=200 metrics=200"
check "from inside the Pod (127.0.0.1): /livez /readyz /metrics answer 200" test "$(probe_all gw http://127.0.0.1:9180)" = "$ANSWERS"
r=$(probe_all node http://$POD_IP:9180); say "node -> Pod IP, tcp_l3mdev_accept=0 (default): $r ($(why))"
check "tcp_l3mdev_accept=0 (default): the node's probes to the Pod IP get no answer (listener in the default VRF)" test "$r" = "$NO_ANSWER"
gw sysctl -qw net.ipv4.tcp_l3mdev_accept=1
r=$(probe_all node http://$POD_IP:9180); say "node -> Pod IP, tcp_l3mdev_accept=1: $r ($(why)); $(gw ip route get 100.64.0.2 vrf vrf-vpn 2>&1)"
check "tcp_l3mdev_accept=1 alone: still no answer (VRF table 2000 has no route back to the node)" test "$r" = "$NO_ANSWER"
# the route back to the node's network (Kube-OVN's join subnet here) in the VRF, via the VPC's router
ip -n gw route add 100.64.0.0/16 via 10.16.0.1 dev eth0 table 2000
check "with the route back, the node pings the Pod IP" sh -c "ip netns exec node ping -c 1 -W 3 -q $POD_IP > /dev/null"
r=$(probe_all node http://$POD_IP:9180); say "node -> Pod IP, tcp_l3mdev_accept=1 + route back in the VRF: $r"
check "tcp_l3mdev_accept=1 + a route back to the node in the VRF: /livez /readyz /metrics answer 200 on the Pod IP" test "$r" = "$ANSWERS"
gw sysctl -qw net.ipv4.tcp_l3mdev_accept=0
r=$(probe_all node http://$POD_IP:9180); say "node -> Pod IP, route back but tcp_l3mdev_accept=0: $r ($(why))"
check "the route back alone (tcp_l3mdev_accept=0): no answer" test "$r" = "$NO_ANSWER"
gw sysctl -qw net.ipv4.tcp_l3mdev_accept=1
check "the supervisor left the route back to the node alone (not its protocol)" sh -c "ip -n gw route show table 2000 100.64.0.0/16 | grep -q via"

# forwarding: Kube-OVN's init script turns it on; without it the gateway forwards nothing
gw sysctl -qw net.ipv4.ip_forward=0
check "net.ipv4.ip_forward=0 in the Pod: packets do not cross" sh -c "! ip netns exec vpc ping -c 2 -W 2 -q $REMOTE > /dev/null"
gw sysctl -qw net.ipv4.ip_forward=1
until_ok 30 ping_vpc_to_remote

# A config change while packets flow (timers: the supervisor restarts bgpd), with graceful restart on both sides:
# FRR 10.7.1 keeps the EVPN routes across it (the router as helper, the gateway's zebra its VRF routes), so no
# packet may be lost. One ping each way, 5 probes a second, and each direction counted at both ends by the kernel
# (/proc/net/snmp is per namespace): what a namespace sent (echo requests and replies) against what arrived at the
# other end. The window runs from 5 s before the change until the router has the restarted gateway's End-of-RIB,
# the gateway has the router's route back, and 20 s more (zebra's stale-route sweep, the router MAC back).
applied_count() { grep -c '"event":"config_applied"' $W/log/supervisor.log; }
icmp() { # icmp NS: the namespace's ICMP counters OutEchos InEchos OutEchoReps InEchoReps
  ip netns exec "$1" awk '$1 == "Icmp:" { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else print $col["OutEchos"], $col["InEchos"], $col["OutEchoReps"], $col["InEchoReps"] }' /proc/net/snmp
}
before_applies=$(applied_count)
est0=$(sed -E 's/.* established=([0-9]+) .*/\1/' <<< "$(rtr_peer)")
read -r r_oe0 r_ie0 r_or0 r_ir0 < <(icmp remote)
read -r v_oe0 v_ie0 v_or0 v_ir0 < <(icmp vpc)
ip -ts -n gw monitor neigh > $W/log/gw-neigh.mon 2>&1 &
MON_NEIGH=$!
ip netns exec gw bridge -timestamp monitor fdb > $W/log/gw-fdb.mon 2>&1 &
MON_FDB=$!
ip netns exec remote ping -D -O -i 0.2 $VPC_HOST > $W/log/ping-r2v.out 2>&1 &
PING_R2V=$!
ip netns exec vpc ping -D -O -i 0.2 $REMOTE > $W/log/ping-v2r.out 2>&1 &
PING_V2R=$!
t_start=$SECONDS
sleep 5
say "changing the BGP timers (hold 9s -> 12s, keepalive 3s -> 4s) at $(date +%T.%N | cut -c1-12)"
sed -i 's/^  holdTime: 9s$/  holdTime: 12s/; s/^  keepaliveTime: 3s$/  keepaliveTime: 4s/' $W/conf/bgp-conf.yaml
changed() { [ "$(applied_count)" -gt "$before_applies" ]; }
until_ok 180 changed
applied=$(grep '"event":"config_applied"' $W/log/supervisor.log | tail -1)
say "applied: $(grep -o '"msg":"[^"]*"' <<< "$applied")"
by_bgpd_restart() { kill -0 $SUP_PID && grep -q '"restarted":\["bgpd"\]' <<< "$applied"; }
check "a config change (BGP timers) is applied in place by restarting bgpd, the supervisor not restarted" by_bgpd_restart
back() { # the router has the restarted gateway's session and End-of-RIB, the gateway the router's route
  local p; p=$(rtr_peer)
  [[ $p =~ state=Established\ established=([0-9]+)\  ]] && [ "${BASH_REMATCH[1]}" -gt "$est0" ] && [[ $p == *evpnEorRecv=true* ]] && gw_has_rtr_prefix
}
until_ok 180 back
say "the router's view of the gateway after the change: $(rtr_peer)"
sleep 20
kill -INT $PING_R2V $PING_V2R 2> /dev/null
sleep 3
kill -TERM $PING_R2V $PING_V2R $MON_NEIGH $MON_FDB 2> /dev/null
wait $PING_R2V $PING_V2R $MON_NEIGH $MON_FDB 2> /dev/null
read -r r_oe1 r_ie1 r_or1 r_ir1 < <(icmp remote)
read -r v_oe1 v_ie1 v_or1 v_ir1 < <(icmp vpc)
window=$((SECONDS - t_start))
# remote -> VPC: the remote's echo requests and replies sent, against the VPC host's received; and the reverse
r2v_sent=$(( (r_oe1 - r_oe0) + (r_or1 - r_or0) )); r2v_arrived=$(( (v_ie1 - v_ie0) + (v_ir1 - v_ir0) ))
v2r_sent=$(( (v_oe1 - v_oe0) + (v_or1 - v_or0) )); v2r_arrived=$(( (r_ie1 - r_ie0) + (r_ir1 - r_ir0) ))
r2v_lost=$((r2v_sent - r2v_arrived)); v2r_lost=$((v2r_sent - v2r_arrived))
say "ping remote -> VPC: $(grep -E 'packets transmitted' $W/log/ping-r2v.out); VPC -> remote: $(grep -E 'packets transmitted' $W/log/ping-v2r.out)"
say "probes with no answer (ping -O): remote -> VPC $(grep -c 'no answer yet' $W/log/ping-r2v.out), VPC -> remote $(grep -c 'no answer yet' $W/log/ping-v2r.out)"
grep -h 'no answer yet' $W/log/ping-r2v.out $W/log/ping-v2r.out | head -40 | sed 's/^/fsvm:   /'
say "the gateway's neighbour entries for the router (10.0.1.1) during the change:"
grep '10\.0\.1\.1 ' $W/log/gw-neigh.mon | head -20 | sed 's/^/fsvm:   /'
say "the gateway's FDB changes during the change:"
head -20 $W/log/gw-fdb.mon | sed 's/^/fsvm:   /'
say "the supervisor's EVPN hold (src/dataplane/evpn-hold.ts) during the change:"
grep '"event":"evpn_hold_' $W/log/supervisor.log | grep -o '"time":"[^"]*"\|"msg":"[^"]*"' | paste -d' ' - - | tail -8 | sed 's/^/fsvm:   /'
hold_released() { metrics_have '^frr_supervisor_evpn_holds_total\{outcome="released"\} [1-9]' && metrics_have '^frr_supervisor_evpn_holds_total\{outcome="expired"\} 0$'; }
until_ok 60 hold_released
say "$(ip netns exec gw curl -s --max-time 10 http://127.0.0.1:9180/metrics | grep -E '^frr_supervisor_evpn_hold' | paste -sd' ')"
check "the EVPN hold ran across the change and was released (zebra took its entries back), none expired" hold_released
check "a graceful-restart config change loses no packet: remote -> VPC $r2v_lost of $r2v_sent lost, VPC -> remote $v2r_lost of $v2r_sent lost (ICMP echoes and replies, 5 a second each way, counted at both ends over $window s)" \
  test "$r2v_lost" = 0 -a "$v2r_lost" = 0 -a "$r2v_sent" -ge 50 -a "$v2r_sent" -ge 50
until_ok 60 ping_remote_to_vpc
check "packets cross again after the config change (remote -> VPC)" ping_remote_to_vpc

# ------------------------------------------------------------------------------------------------------------
# 5. convergence
mtu() { ip -n gw -o link show dev "$1" | sed -E 's/.* mtu ([0-9]+).*/\1/'; }
vxlan_ok() { # vxlan_ok VNI: the VXLAN has that VNI, is in the bridge, up, MTU 1450
  local l; l=$(ip -n gw -d -o link show dev vxlan-vpn 2>/dev/null) || return 1
  [[ $l =~ vxlan\ id\ $1\  ]] && [[ $l =~ master\ br-vpn ]] && [[ $l =~ ,UP ]] && [ "$(mtu vxlan-vpn)" = 1450 ]
}
check "the VXLAN's MTU is net1's MTU - 50" test "$(mtu vxlan-vpn)" = 1450

# MTU drift: fixed at the next resync
ip -n gw link set vxlan-vpn mtu 1300
until_ok 120 vxlan_ok $VNI
check "MTU drift (1300 by hand) is put back to 1450" vxlan_ok $VNI

# a device deleted by hand: the bridge (the VXLAN loses its master)
ip -n gw link del br-vpn
bridge_ok() { ip -n gw -d -o link show dev br-vpn 2>/dev/null | grep -q 'master vrf-vpn' && vxlan_ok $VNI; }
until_ok 120 bridge_ok
check "the bridge deleted by hand is recreated in the VRF, the VXLAN back in it" bridge_ok
until_ok 120 gw_has_rtr_prefix
until_ok 90 ping_vpc_to_remote
check "packets cross again after the bridge was recreated" ping_vpc_to_remote

# a VNI change: the router moves to VNI 2 as well
rtr_devices $VNI2
rtr_vtysh -c 'configure terminal' -c 'vrf vrf-rtr' -c "no vni $VNI" -c "vni $VNI2" -c 'exit-vrf' > /dev/null
evpn_conf $VNI2
until_ok 180 vxlan_ok $VNI2
check "VNI change $VNI -> $VNI2: the VXLAN device is recreated with the new VNI" vxlan_ok $VNI2
gw_l3vni() { gw_vtysh -c "show evpn vni $VNI2" 2>/dev/null | grep -q 'Type: L3'; }
until_ok 120 gw_l3vni
check "zebra knows L3VNI $VNI2" gw_l3vni
until_ok 120 gw_has_rtr_prefix
until_ok 120 ping_remote_to_vpc
check "packets cross after the VNI change (remote -> VPC)" ping_remote_to_vpc

# the EvpnConf removed: back to BGP only, the devices gone, eth0 out of the VRF. The devices go in the apply's first
# step, while the old daemons still run (and /readyz still answers 200 for the config they run): the readiness
# check waits for the apply of this change to end first.
log_mark=$(wc -l < $W/log/supervisor.log)
since_removal() { tail -n +$((log_mark + 1)) $W/log/supervisor.log; }
before_applies=$(applied_count)
removed_at=$SECONDS
rm $W/conf/evpn-conf.yaml
gone() { ! ip -n gw link show dev vxlan-vpn >/dev/null 2>&1 && ! ip -n gw link show dev br-vpn >/dev/null 2>&1 && ! ip -n gw link show dev vrf-vpn >/dev/null 2>&1; }
until_ok 180 gone
check "EvpnConf removed: VRF, bridge and VXLAN devices deleted" gone
check "EvpnConf removed: eth0 left the VRF and keeps the Pod IP" sh -c "! ip -n gw -o link show dev eth0 | grep -q master && ip -n gw -o addr show dev eth0 | grep -q 'inet $POD_IP/16'"
until_ok 180 changed
check "EvpnConf removed: the BGP-only config is applied ($((SECONDS - removed_at)) s after the removal)" changed
say "events since the EvpnConf was removed: $(since_removal | grep -o '"event":"[a-z_]*"' | cut -d'"' -f4 | uniq -c | awk '{printf "%s%s", (NR > 1 ? ", " : ""), $2 ($1 > 1 ? " x" $1 : "")}')"
hold_not_armed() { ! since_removal | grep -q '"event":"evpn_hold_armed"'; }
check "EvpnConf removed: the EVPN hold stopped before bgpd's restart instead of arming for devices already gone" hold_not_armed
if until_ok 120 ready; then
  ok "the supervisor is ready again in BGP-only mode ($((SECONDS - removed_at)) s after the EvpnConf was removed)"
else
  notok "the supervisor is ready again in BGP-only mode (not within 120 s of the apply)"
  say "not ready: $(ip netns exec gw curl -s --max-time 10 http://127.0.0.1:9180/readyz | tr -d '\n' | cut -c1-600)"
  say "the supervisor's log since the EvpnConf was removed:"; since_removal | cut -c1-400
fi

# ------------------------------------------------------------------------------------------------------------
# 6. what FRR 10.7.1's daemons need: each started alone in a scratch namespace without one capability
ip netns add capt
mkdir -p /run/frr/capt && chown frr:frr /run/frr/capt
starts_without() { # starts_without CAP DAEMON: 0 when DAEMON runs 5 s with the bounding set minus CAP
  local rest; rest=$(tr , '\n' <<< "$CAPS" | grep -v "^+$1\$" | paste -sd,)
  ip netns exec capt setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,"$rest" -- \
    timeout 8 /usr/lib/frr/"$2" -N capt -i /run/frr/capt/"$2".pid -P 0 -f /dev/null --log stdout > $W/log/capt.out 2>&1 &
  local pid=$!
  sleep 5
  if kill -0 $pid 2>/dev/null; then kill $pid; wait $pid; return 0; fi
  wait $pid; say "$2 without $1: $(grep -m1 -i 'privs\|cap' $W/log/capt.out)"; return 1
}
for cap in sys_admin net_admin net_raw; do
  for d in zebra bgpd; do
    check "FRR $FRR_VERSION $d does not start without ${cap^^} (kernel backend, deploy/ list minus one)" fails starts_without $cap $d
  done
done
ip netns del capt

# ------------------------------------------------------------------------------------------------------------
kill -TERM $SUP_PID
for _ in $(seq 90); do kill -0 $SUP_PID 2> /dev/null || break; sleep 1; done
kill -0 $SUP_PID 2> /dev/null && { say "the supervisor is still running 90 s after SIGTERM: SIGKILL"; kill -KILL $SUP_PID; }
wait $SUP_PID
check "the supervisor stops cleanly on SIGTERM (exit 0 within 90 s)" test $? = 0
[ $FAILED -gt 0 ] && dump_logs
say "$((N - FAILED)) passed, $FAILED failed"
[ $FAILED = 0 ]
