/**
 * BgpConf.spec.gracefulRestart against real FRR: the router's view of the gateway (its `remoteGrMode` in `show bgp
 * neighbors GATEWAY json`, from the capability in the gateway's OPEN) follows the BgpConf, over gateway.yaml's
 * explicit `gracefulRestart: false`, both ways, through live config changes (each restarts zebra and bgpd).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { bgpRouterConf, docsBgpConf, GW, RT } from '../../lab/configs.ts';

const base = docsBgpConf({ hold: '3s', keepalive: '1s', connect: '1s', ebgpMultiHop: false, neighbours: [RT] });
/** docsBgpConf with spec.gracefulRestart (absent when undefined). */
const bgpConf = (gr?: boolean): string => (gr === undefined ? base : `${base}  gracefulRestart: ${gr}\n`);
const GATEWAY = 'gracefulRestart: false\nadvertise: [10.17.0.0/16]\n';

interface GrView {
  state: string;
  remoteGrMode: string | undefined;
}

describe('BgpConf.spec.gracefulRestart against real FRR', { timeout: 300_000 }, () => {
  const fx = useGatewayLab({ advertised: '10.17.0.0/16', routerConf: bgpRouterConf({ keepalive: 1, hold: 3 }) });

  /** The router's view of the gateway session. */
  async function routerView(): Promise<GrView> {
    const doc = JSON.parse(await fx.router.vtysh(`show bgp neighbors ${GW} json`)) as Record<
      string,
      { bgpState?: string; gracefulRestartInfo?: { remoteGrMode?: string } }
    >;
    const n = doc[GW];
    return { state: n?.bgpState ?? 'absent', remoteGrMode: n?.gracefulRestartInfo?.remoteGrMode };
  }

  /** Waits for an Established session whose GR mode (at the router) is `mode`, after config generation `gen` applied. */
  async function expectMode(s: SupervisorProcess, gen: number, mode: 'Restart' | 'Helper', grLine: boolean): Promise<void> {
    await s.waitForEvent('config_applied', (e) => e.generation === gen, 30_000);
    const v = await waitFor(
      async () => {
        const r = await routerView();
        return r.state === 'Established' && r.remoteGrMode === mode && r;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `the router sees the gateway Established with remoteGrMode ${mode}` },
    );
    assert.equal(v.remoteGrMode, mode);
    const running = await s.vty.run(['show running-config']);
    assert.equal(/^ bgp graceful-restart$/m.test(running), grLine, `the gateway's running config:\n${running}`);
  }

  test("the router's remoteGrMode follows the BgpConf, over gateway.yaml's gracefulRestart: false", async () => {
    // BgpConf silent: gateway.yaml decides (off): FRR's default helper mode
    const s = await fx.start({ files: { 'bgp-conf.yaml': bgpConf(), 'gateway.yaml': GATEWAY } });
    await expectMode(s, 1, 'Helper', false);
    // BgpConf true wins: the gateway restarts its daemons and opens the session again with the Restart capability
    const since = s.events.length;
    s.volume.update({ 'bgp-conf.yaml': bgpConf(true), 'gateway.yaml': GATEWAY });
    await expectMode(s, 2, 'Restart', true);
    const changed = s.events.slice(since).find((e) => e.event === 'config_applied');
    assert.deepEqual(changed?.restarted, ['zebra', 'bgpd'], "zebra's -K and bgpd's config follow it: a zebra-scope restart");
    const warn = s.events.slice(since).find((e) => e.event === 'config_warnings');
    assert.match(
      JSON.stringify(warn?.warnings ?? []),
      /gateway\.yaml: gracefulRestart: false is overridden by bgp-conf\.yaml's gracefulRestart: true/,
    );
    // and back: BgpConf false
    s.volume.update({ 'bgp-conf.yaml': bgpConf(false), 'gateway.yaml': GATEWAY });
    await expectMode(s, 3, 'Helper', false);
  });
});
