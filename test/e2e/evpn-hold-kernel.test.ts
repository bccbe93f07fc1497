/**
 * The EVPN hold (src/dataplane/evpn-hold-runner.ts) against the real kernel and the real iproute2 of this machine, in
 * a network namespace of its own: a bridge and a VXLAN device with the entries zebra installs for a remote router
 * MAC, a BGP route via it, and zebra's flush played by the test (the same deletions, in the same order). What it
 * proves here: every line the hold writes is taken by this iproute2 (6.1), the entries are back within milliseconds,
 * zebra's own entries take over from the hold's, route copies carry a prefix zebra removed, and an expired hold
 * cleans up. With real FRR (10.7.1, whose zebra flushes for real), test/e2e/frr107.test.ts measures the packets.
 *
 * Both data plane layouts: the netns VRF backend (the VRF's main table) and the kernel VRF backend's table (2000; this
 * kernel has no VRF devices, so a plain table in a namespace stands in for the VRF's).
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { createLogger } from '../../src/log.ts';
import { EvpnHoldRunner } from '../../src/dataplane/evpn-hold-runner.ts';
import { HOLD_METRIC } from '../../src/dataplane/evpn-entries.ts';

const MAC = '62:14:ff:65:f2:cc';
const made: string[] = [];

after(async () => {
  for (const ns of made) await execa('ip', ['netns', 'del', ns], { reject: false });
});

async function ns(name: string, ...args: string[]): Promise<string> {
  return (await execa('ip', ['-n', name, ...args])).stdout;
}

/** A namespace with the L3VNI's bridge and VXLAN device, and zebra's entries for one remote router. */
async function lab(suffix: string, table: string | undefined): Promise<string> {
  const name = `fsl${process.pid}h${suffix}`;
  await execa('ip', ['netns', 'add', name]);
  made.push(name);
  await ns(name, 'link', 'set', 'lo', 'up');
  await ns(name, 'link', 'add', 'br-vpn', 'type', 'bridge');
  await ns(name, 'link', 'add', 'vxlan-vpn', 'type', 'vxlan', 'id', '1016', 'local', '10.0.1.13', 'dstport', '4789', 'nolearning');
  await ns(name, 'link', 'set', 'vxlan-vpn', 'master', 'br-vpn');
  await ns(name, 'link', 'set', 'br-vpn', 'up');
  await ns(name, 'link', 'set', 'vxlan-vpn', 'up');
  await zebraInstalls(name, table);
  return name;
}

const tableArgs = (table: string | undefined): string[] => (table === undefined ? [] : ['table', table]);

/** What zebra 10.7.1 installs for a type-5 route from VTEP 10.0.1.1 (router MAC MAC): seen in its VRF in the lab. */
async function zebraInstalls(name: string, table: string | undefined, withRoute = true): Promise<void> {
  await execa('bridge', ['-n', name, 'fdb', 'replace', MAC, 'dev', 'vxlan-vpn', 'master', 'extern_learn']);
  await execa('bridge', ['-n', name, 'fdb', 'replace', MAC, 'dev', 'vxlan-vpn', 'dst', '10.0.1.1', 'self', 'extern_learn', 'dynamic']);
  await ns(name, 'neigh', 'replace', '10.0.1.1', 'lladdr', MAC, 'dev', 'br-vpn', 'nud', 'noarp', 'extern_learn', 'proto', '11');
  if (withRoute)
    await ns(
      name,
      'route',
      'replace',
      '192.168.100.0/24',
      'via',
      '10.0.1.1',
      'dev',
      'br-vpn',
      'onlink',
      'proto',
      '186',
      'metric',
      '20',
      ...tableArgs(table),
    );
}

/** zebra_evpn_cfg_clean_up's deletions, in its order: the router MAC's FDB entries, then the next hop. */
async function zebraFlush(name: string): Promise<void> {
  await execa('bridge', ['-n', name, '-batch', '-'], {
    input: `fdb del ${MAC} dev vxlan-vpn master\nfdb del ${MAC} dev vxlan-vpn dst 10.0.1.1 self\n`,
  });
  await ns(name, 'neigh', 'del', '10.0.1.1', 'dev', 'br-vpn');
}

interface Kernel {
  neigh?: { state: string[]; protocol?: string };
  /** The VXLAN device's default entry towards the router's VTEP (the hold's). */
  flood: boolean;
  fdbSelf: boolean;
  fdbMaster: boolean;
  routes: Array<{ metric: number; protocol: string }>;
}

async function read(name: string, table: string | undefined): Promise<Kernel> {
  const neighs = JSON.parse(await ns(name, '-N', '-json', 'neigh', 'show', 'dev', 'br-vpn')) as Array<Record<string, unknown>>;
  const fdb = JSON.parse((await execa('bridge', ['-n', name, '-json', 'fdb', 'show', 'dev', 'vxlan-vpn'])).stdout) as Array<
    Record<string, unknown>
  >;
  const routes = JSON.parse(await ns(name, '-N', '-json', 'route', 'show', ...tableArgs(table), '192.168.100.0/24')) as Array<
    Record<string, unknown>
  >;
  const n = neighs.find((e) => e.dst === '10.0.1.1');
  const mine = fdb.filter((e) => e.mac === MAC);
  return {
    ...(n && { neigh: { state: n.state as string[], protocol: String(n.protocol) } }),
    flood: fdb.some((e) => e.mac === '00:00:00:00:00:00' && e.dst === '10.0.1.1'),
    fdbSelf: mine.some((e) => (e.flags as string[]).includes('self') && e.dst === '10.0.1.1'),
    fdbMaster: mine.some((e) => e.master === 'br-vpn'),
    routes: routes.map((r) => ({ metric: Number(r.metric ?? 0), protocol: String(r.protocol) })),
  };
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await ok()) return performance.now() - t0;
    await sleep(5);
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

function logCapture() {
  const events: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) events.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { events, logger: createLogger('debug', stream) };
}

/** A namespace of {@link lab}'s and a hold runner on it, bgpd down or up as the test says; its log events captured. */
async function holdLab(suffix: string, table: string | undefined, opts: { maxHoldMs?: number; settleMs?: number }) {
  const name = await lab(suffix, table);
  const { events, logger } = logCapture();
  let bgpdGone = false;
  const runner = new EvpnHoldRunner({
    devices: { bridge: 'br-vpn', vxlan: 'vxlan-vpn', ...(table && { table }) },
    netns: name,
    logger,
    bgpdGone: () => bgpdGone,
    ...opts,
  });
  return { name, events, runner, setBgpdGone: (v: boolean) => (bgpdGone = v) };
}

for (const [label, table] of [
  ['netns VRF backend (the main table of the VRF namespace)', undefined],
  ['kernel VRF backend (the VRF table, 2000)', '2000'],
] as const) {
  describe(`EVPN hold on the real kernel and iproute2: ${label}`, { timeout: 120_000 }, () => {
    test("zebra's flush while bgpd is down is undone in milliseconds; a route copy carries the swept prefix; zebra takes over: released", async () => {
      const { name, events, runner, setBgpdGone } = await holdLab(table ? 'k' : 'n', table, { settleMs: 1000 });
      try {
        await runner.start();
        const watching = events.find((e) => e.event === 'evpn_hold_watching');
        assert.deepEqual(
          (watching?.tracked as { neighbours: unknown[]; fdb: unknown[] } | undefined)?.fdb.length,
          2,
          `zebra's two FDB entries tracked from the start: ${JSON.stringify(watching)}`,
        );
        await until('the default entry towards the VTEP', async () => (await read(name, table)).flood);
        // a graceful restart: armed before bgpd goes; the VRF's BGP route gets its lower-priority copy
        await runner.arm('test: bgpd restarts');
        setBgpdGone(true);
        await until('the route copy', async () =>
          (await read(name, table)).routes.some((r) => r.metric === HOLD_METRIC && r.protocol === '186'),
        );
        await zebraFlush(name);
        const back = await until('the entries back', async () => {
          const k = await read(name, table);
          return k.fdbSelf && k.fdbMaster && k.neigh?.state.includes('PERMANENT') === true;
        });
        const k = await read(name, table);
        process.stdout.write(
          `${label}: the entries were back ${back.toFixed(1)} ms after the flush's commands returned (read every 5 ms)\n`,
        );
        assert.equal(k.neigh?.protocol, '4', "the hold's neighbour carries its own protocol (RTPROT_STATIC), not zebra's");
        // zebra's sweep of the stale route: the copy stays and carries the prefix
        await ns(name, 'route', 'del', '192.168.100.0/24', 'proto', '186', 'metric', '20', ...tableArgs(table));
        await sleep(200);
        assert.deepEqual((await read(name, table)).routes, [{ metric: HOLD_METRIC, protocol: '186' }], 'only the copy is left');
        // the new bgpd is up, zebra installs its own entries and route again
        setBgpdGone(false);
        await zebraInstalls(name, table);
        await until('the hold released', () => Promise.resolve(events.some((e) => e.event === 'evpn_hold_ended')), 10_000);
        const ended = events.find((e) => e.event === 'evpn_hold_ended');
        assert.equal(ended?.outcome, 'released', JSON.stringify(ended));
        assert.equal(ended?.restoredFdb, 2);
        assert.equal(ended?.restoredNeighbours, 1);
        assert.equal(ended?.routesUsed, 1);
        const final = await read(name, table);
        assert.deepEqual(final.routes, [{ metric: 20, protocol: '186' }], "the copy is gone, zebra's route stays");
        assert.deepEqual(final.neigh, { state: ['NOARP'], protocol: '11' }, "zebra's neighbour");
        assert.equal(final.flood, true, 'the default entry stays while the hold watches');
        assert.deepEqual(
          events.filter((e) => e.event === 'evpn_hold_command_failed' || e.event === 'evpn_hold_process_exited'),
          [],
          'iproute2 took every line',
        );
      } finally {
        await runner.stop();
      }
      await until('the default entry removed when the hold stops', async () => !(await read(name, table)).flood, 2000);
    });

    test('the VXLAN device recreated (a VNI change): the hold follows the new device (iproute2 -batch keeps ifindexes)', async () => {
      const { name, events, runner, setBgpdGone } = await holdLab(table ? 'r' : 'R', table, { settleMs: 500 });
      try {
        await runner.start();
        await ns(name, 'link', 'del', 'vxlan-vpn');
        await ns(name, 'link', 'add', 'vxlan-vpn', 'type', 'vxlan', 'id', '2016', 'local', '10.0.1.13', 'dstport', '4789', 'nolearning');
        await ns(name, 'link', 'set', 'vxlan-vpn', 'master', 'br-vpn');
        await ns(name, 'link', 'set', 'vxlan-vpn', 'up');
        await zebraInstalls(name, table, false);
        await until('the batch processes started again', () =>
          Promise.resolve(events.some((e) => e.event === 'evpn_hold_batch_restarted')),
        );
        setBgpdGone(true);
        await zebraFlush(name);
        await until('the entries back on the new device', async () => {
          const k = await read(name, table);
          return k.fdbSelf && k.fdbMaster && k.neigh?.protocol === '4';
        });
        assert.equal((await read(name, table)).flood, true, 'the default entry on the new device');
        // the old device's lines may fail while it goes (its default entry removed with it); none after the restart
        const restarted = events.findIndex((e) => e.event === 'evpn_hold_batch_restarted');
        assert.deepEqual(
          events
            .slice(restarted)
            .filter((e) => e.event === 'evpn_hold_command_failed')
            .map((e) => e.err),
          [],
          'no line failed on the new device (without the restart: "Error: unknown ifindex.")',
        );
      } finally {
        await runner.stop();
      }
    });

    test('a removal while bgpd runs is left alone; a hold that zebra never ends expires and removes what it put back', async () => {
      const { name, events, runner, setBgpdGone } = await holdLab(table ? 'K' : 'N', table, { maxHoldMs: 1500, settleMs: 500 });
      try {
        await runner.start();
        await zebraFlush(name);
        await sleep(300);
        const withdrawn = await read(name, table);
        assert.equal(withdrawn.neigh, undefined, 'a withdrawal while bgpd runs stays a withdrawal');
        assert.equal(withdrawn.fdbSelf, false);
        assert.equal(withdrawn.flood, false, "the VTEP's default entry goes with its last router MAC");
        assert.equal(runner.hold.holding, false);
        // zebra installs them again; then bgpd dies and zebra flushes: the flush itself starts the hold
        await zebraInstalls(name, table, false);
        await sleep(200);
        setBgpdGone(true);
        await zebraFlush(name);
        await until('the entries back', async () => (await read(name, table)).neigh?.protocol === '4');
        assert.match(String(events.find((e) => e.event === 'evpn_hold_armed')?.reason), /removed the EVPN entries while bgpd was down/);
        await until('the hold expired', () => Promise.resolve(events.some((e) => e.event === 'evpn_hold_ended')), 10_000);
        const ended = events.find((e) => e.event === 'evpn_hold_ended');
        assert.equal(ended?.outcome, 'expired');
        assert.equal(ended?.level, 'warn');
        await sleep(300);
        const k = await read(name, table);
        assert.equal(k.neigh, undefined, 'the neighbour it put back is removed');
        assert.equal(k.fdbSelf || k.fdbMaster, false, 'and the FDB entries');
        assert.deepEqual(
          k.routes.filter((r) => r.metric === HOLD_METRIC),
          [],
          'no route copy left',
        );
      } finally {
        await runner.stop();
      }
    });
  });
}
