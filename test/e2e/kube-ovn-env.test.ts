/**
 * `run --env` with exactly the env Kube-OVN 1.16 writes for its docs' bgp-conf-6502 (BGP only, no password; see
 * test/unit/kube-ovn-env.test.ts for the transcription), against real FRR: the lab's addresses are the docs' (the
 * gateway 10.0.1.13, the neighbour 10.0.1.1). The session comes up and FRR runs the timers the BgpConf asked for.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import { bgpRouterConf, GW, RT } from '../../lab/configs.ts';

/** vpcEgressGatewayInitContainerFRRConfig's env for bgp-conf-6502 (ROUTER_ID "": the harness sets POD_IP, as the webhook does). */
const KUBE_OVN_ENV = {
  LOCAL_ASN: '65002',
  PEER_ASN: '65001',
  ROUTER_ID: '',
  NEIGHBOURS: RT,
  BGP_HOLD_TIME: '90s',
  BGP_KEEPALIVE_TIME: '30s',
  BGP_CONNECT_TIME: '10s',
  BGP_EBGP_MULTIHOP: 'true',
};

describe('run --env with the env Kube-OVN writes, against real FRR', { timeout: 300_000 }, () => {
  const fx = useGatewayLab({ advertised: '10.17.0.0/16', routerConf: bgpRouterConf({ keepalive: 3, hold: 9 }) });

  test('Established, the router id from POD_IP, the configured timers 30/90 and connect 10 as the BgpConf says', async () => {
    const s = await fx.start({ files: { 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' }, args: ['--env'], env: KUBE_OVN_ENV });
    await s.waitForEvent('config_applied', () => true, 30_000);
    const n = await waitFor(
      async () => {
        const doc = JSON.parse(await s.vty.run([`show bgp neighbors ${RT} json`])) as Record<string, Record<string, unknown>>;
        const peer = doc[RT];
        return peer?.bgpState === 'Established' && peer;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the session Established' },
    );
    assert.equal(n.bgpTimerConfiguredHoldTimeMsecs, 90_000);
    assert.equal(n.bgpTimerConfiguredKeepAliveIntervalMsecs, 30_000);
    assert.equal(n.connectRetryTimer, 10);
    assert.equal(n.bgpTimerHoldTimeMsecs, 9_000, 'negotiated: the minimum of both sides (the router says 9 s)');
    const summary = JSON.parse(await s.vty.run(['show bgp summary json'])) as { ipv4Unicast?: { routerId?: string } };
    assert.equal(summary.ipv4Unicast?.routerId, GW, 'ROUTER_ID "" is unset: the router id is POD_IP');
  });
});
