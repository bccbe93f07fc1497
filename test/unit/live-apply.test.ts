/**
 * Live changes inside an apply (src/supervisor/live-apply.ts and its call in the Applier), on fakes: a fake vtysh
 * whose running config is a text that the live commands (or a restart) replace with frr.conf, fake daemons, a data
 * plane runner that runs nothing. A live kind of change is applied without a restart and without the EVPN change
 * drain; a refused command or a running config that differs afterwards falls back to the restart, logged
 * (`live_apply_fallback`, with the stage and the reason) and counted; any other change restarts as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Applier } from '../../src/supervisor/apply.ts';
import type { HostFacts } from '../../src/config/facts.ts';
import type { DaemonName } from '../../src/frr/daemon.ts';
import { createLogger } from '../../src/log.ts';
import { docsBgpConf, docsEvpnConf } from '../../lab/configs.ts';
import { flavourFor, parseFrrVersion } from '../../src/frr/version.ts';
import { VtyshError } from '../../src/frr/vtysh.ts';
import type { LiveFallbackStage } from '../../src/supervisor/live-apply.ts';
import { LIVE_CHANGES } from '../../src/supervisor/live-changes.ts';

type Mode = 'ok' | 'refuse' | 'differs';

async function harness(o: { evpn?: boolean; mode: Mode }) {
  const dir = mkdtempSync(join(tmpdir(), 'frrsup-live-'));
  const frrConf = join(dir, 'frr.conf');
  const events: Array<Record<string, unknown>> = [];
  const sink = { write: (line: string) => events.push(JSON.parse(line) as Record<string, unknown>) };
  const logger = createLogger('debug', sink as unknown as NodeJS.WritableStream);
  const log: string[] = [];
  let runningText = '';
  const vtysh = {
    run: (cmds: string[]): Promise<string> => {
      if (cmds[0] === 'show running-config') return Promise.resolve(runningText);
      if (cmds[0] === 'show bgp l2vpn evpn summary json') return Promise.resolve('{}');
      if (cmds[0] === 'show bgp neighbors json') {
        log.push('neighbours?');
        const n = (exceeded: boolean) => ({
          remoteAs: 65001,
          localAs: 65002,
          bgpState: exceeded ? 'Idle' : 'Established',
          prefixesConfigExceedMax: exceeded,
        });
        return Promise.resolve(JSON.stringify({ '10.0.1.1': n(true), '10.0.1.2': n(false) }));
      }
      if (cmds[0]?.startsWith('clear bgp ')) {
        log.push(cmds[0]);
        return Promise.resolve('');
      }
      if (cmds.includes('no advertise ipv4 unicast')) {
        log.push('drain');
        return Promise.resolve('');
      }
      if (cmds[0] === 'configure terminal') {
        log.push(`live:${cmds.length}`);
        if (o.mode === 'refuse') return Promise.reject(new VtyshError('vtysh failed (exit 1): % Unknown command: network x', 1, '', ''));
        if (o.mode === 'ok') runningText = readFileSync(frrConf, 'utf8');
      }
      return Promise.resolve('');
    },
  };
  const daemons = {
    names: ['zebra', 'staticd', 'bgpd'] as DaemonName[],
    isRunning: () => true,
    startAll: () => {
      runningText = readFileSync(frrConf, 'utf8');
      return Promise.resolve();
    },
    flavour: flavourFor(parseFrrVersion('zebra version 8.4.4')),
    restartFor: (set: readonly DaemonName[]) => {
      log.push(`restartFor:${set.join(',')}`);
      runningText = readFileSync(frrConf, 'utf8');
      return Promise.resolve([...set]);
    },
  };
  const fallbacks: LiveFallbackStage[] = [];
  const facts: HostFacts = { env: { POD_IP: '10.0.1.13' }, interfaceIPv4: () => Promise.resolve(undefined) };
  const applier = new Applier({
    configDir: dir,
    env: false,
    facts,
    paths: { frrConf } as never,
    vtysh: vtysh as never,
    daemons: daemons as never,
    logger,
    runner: () => Promise.resolve({ exitCode: 1, stdout: '', stderr: 'a unit test runs no command' }),
    verifyTimeoutMs: 200,
    live: LIVE_CHANGES,
    onLiveFallback: (stage) => fallbacks.push(stage),
  });
  const write = (o2: { hold?: string; advertise?: string; maximumPrefix?: number }): void => {
    writeFileSync(join(dir, 'bgp-conf.yaml'), docsBgpConf({ hold: o2.hold ?? '9s', keepalive: '3s', connect: '1s' }));
    if (o.evpn) writeFileSync(join(dir, 'evpn-conf.yaml'), docsEvpnConf(1016));
    const drain = o.evpn ? 'changeDrain: {slots: 1}\n' : '';
    const limit = o2.maximumPrefix === undefined ? '' : `maximumPrefix: ${o2.maximumPrefix}\n`;
    writeFileSync(join(dir, 'gateway.yaml'), `advertise: [${o2.advertise ?? '10.17.0.0/16'}]\n${drain}${limit}`);
  };
  write({});
  await applier.request('start');
  assert.equal(applier.last?.result, 'applied', applier.last?.error);
  log.length = 0;
  return {
    applier,
    log,
    fallbacks,
    write,
    find: (event: string) => events.filter((e) => e.event === event),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

for (const evpn of [false, true])
  test(`${evpn ? 'EVPN (changeDrain on)' : 'BGP-only'}: an advertise change is applied live: no restart, no drain`, async () => {
    using h = await harness({ evpn, mode: 'ok' });
    h.write({ advertise: '10.17.0.0/16, 10.18.0.0/16' });
    await h.applier.request('edit');
    assert.equal(h.applier.last?.result, 'applied', h.applier.last?.error);
    assert.equal(h.applier.last?.live, true);
    assert.deepEqual(h.applier.last?.restarted, []);
    assert.deepEqual(h.log, ['live:6']);
    assert.deepEqual(h.fallbacks, []);
    assert.equal(h.applier.running?.spec.gateway.advertise?.length, 2);
    assert.equal(h.applier.running?.generation, 2);
    assert.equal(h.find('config_applied').at(-1)?.live, true);
    // the same input again: unchanged
    await h.applier.request('resync', { periodic: true });
    assert.equal(h.applier.lastCheck?.result, 'unchanged');
  });

test('a command FRR refuses: live_apply_fallback (vtysh, with the reason), then the restart', async () => {
  using h = await harness({ mode: 'refuse' });
  h.write({ advertise: '10.18.0.0/16' });
  await h.applier.request('edit');
  assert.equal(h.applier.last?.result, 'applied', h.applier.last?.error);
  assert.equal(h.applier.last?.live, undefined);
  assert.deepEqual(h.applier.last?.restarted, ['bgpd']);
  assert.deepEqual(h.log, ['live:7', 'restartFor:bgpd']);
  assert.deepEqual(h.fallbacks, ['vtysh']);
  const ev = h.find('live_apply_fallback');
  assert.equal(ev.length, 1);
  assert.equal(ev[0]?.stage, 'vtysh');
  assert.match(String(ev[0]?.reason), /Unknown command: network x/);
});

test('the running config differs after the commands: live_apply_fallback (verify, with the diff), then the restart', async () => {
  using h = await harness({ mode: 'differs' });
  h.write({ advertise: '10.18.0.0/16' });
  await h.applier.request('edit');
  assert.equal(h.applier.last?.result, 'applied', h.applier.last?.error);
  assert.deepEqual(h.log, ['live:7', 'restartFor:bgpd']);
  assert.deepEqual(h.fallbacks, ['verify']);
  const ev = h.find('live_apply_fallback');
  assert.equal(ev[0]?.stage, 'verify');
  assert.match(String(ev[0]?.reason), /- router bgp 65002 > address-family ipv4 unicast > network 10\.18\.0\.0\/16/);
});

test('a change that is not live (hold time) restarts as before, with no fallback', async () => {
  using h = await harness({ mode: 'ok' });
  h.write({ hold: '12s' });
  await h.applier.request('edit');
  assert.equal(h.applier.last?.result, 'applied', h.applier.last?.error);
  assert.deepEqual(h.log, ['restartFor:bgpd']);
  assert.deepEqual(h.fallbacks, []);
  assert.equal(h.find('live_apply_fallback').length, 0);
});

test('EVPN with changeDrain: a fallback restart still drains first', async () => {
  using h = await harness({ evpn: true, mode: 'refuse' });
  h.write({ advertise: '10.18.0.0/16' });
  await h.applier.request('edit');
  assert.equal(h.applier.last?.result, 'applied', h.applier.last?.error);
  assert.deepEqual(h.log, ['live:7', 'drain', 'restartFor:bgpd']);
});

test('maximum-prefix changed live: a neighbour held down for exceeding the limit is cleared (as a restart would)', async () => {
  using h = await harness({ mode: 'ok' });
  h.write({ maximumPrefix: 100 });
  await h.applier.request('edit');
  assert.equal(h.applier.last?.live, true, h.applier.last?.error);
  assert.deepEqual(h.log, ['live:6', 'neighbours?', 'clear bgp 10.0.1.1']);
  assert.equal(h.find('live_prefix_limit_cleared')[0]?.peer, '10.0.1.1');
  // an advertise change asks nothing
  h.log.length = 0;
  h.write({ maximumPrefix: 100, advertise: '10.18.0.0/16' });
  await h.applier.request('edit');
  assert.deepEqual(h.log, ['live:7']);
});
