/**
 * Live changes (src/render/live-commands.ts): which edits give vtysh commands and which give null (a table), and a
 * property over random pairs of specs: the commands, run through a model of how FRR's bgpd takes them (what each
 * command adds or removes, and what it refuses), give exactly the next rendering as the verification reads it. The
 * same property against real FRR 8.4.4 is in test/e2e/live.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configEntries, liveCommands } from '../../src/render/live-commands.ts';
import { renderFrrConf } from '../../src/render/frr-conf.ts';
import { flavourFor, parseFrrVersion } from '../../src/frr/version.ts';
import { BFD_DEFAULTS, GATEWAY_DEFAULTS } from '../../src/config/types.ts';
import type { Spec } from '../../src/config/types.ts';

const FRR8 = flavourFor(parseFrrVersion('zebra version 8.4.4'));
const FRR10 = flavourFor(parseFrrVersion('zebra version 10.3'));

interface Opts {
  evpn?: boolean;
  neighbours?: string[];
  advertise?: string[] | undefined;
  maximumPrefix?: number;
  anchors?: string;
  bfd?: boolean;
}

function spec(o: Opts = {}): Spec {
  return {
    bgp: {
      localAsn: 65002,
      peerAsn: 65001,
      routerId: '10.0.1.13',
      routerIdSource: 'spec',
      neighbours: o.neighbours ?? ['10.0.1.1'],
      holdTime: 90,
      keepaliveTime: 30,
      connectTime: 10,
      ebgpMultiHop: true,
      password: 'secret',
    },
    ...(o.evpn === true && { evpn: { vni: 1016, routeTargets: ['65000:1016'] } }),
    gateway: {
      ...GATEWAY_DEFAULTS,
      ...('advertise' in o ? o.advertise !== undefined && { advertise: o.advertise } : { advertise: ['10.16.0.0/16'] }),
      maximumPrefix: o.maximumPrefix ?? 10000,
      changeDrain: { ...GATEWAY_DEFAULTS.changeDrain, ...(o.anchors !== undefined && { enabled: true, anchors: o.anchors }) },
      ...(o.bfd === true && { bfd: BFD_DEFAULTS }),
    },
  };
}

const key = (path: string[], line: string): string => [...path, line].join('\n');

/**
 * A model of bgpd taking vtysh config commands: lines are added and removed in their context; `no LINE` of a line that
 * is not there, a neighbour's line before its `remote-as`, an unknown router block are errors (vtysh stops there);
 * `no neighbor X` removes the neighbour and all its lines; a prefix limit replaces the old one; an empty address
 * family is not printed.
 */
function applyModel(conf: string, commands: string[]): Set<string> {
  const state = new Set(configEntries(conf).map((e) => key(e.path, e.line)));
  let ctx: string[] = [];
  const hasNeighbour = (router: string, n: string): boolean => [...state].some((k) => k.startsWith(`${router}\nneighbor ${n} remote-as `));
  for (const c of commands) {
    if (c === 'configure terminal') ctx = [];
    else if (c === 'exit' || c === 'exit-address-family') ctx = ctx.slice(0, -1);
    else if (ctx.length === 0) {
      assert.match(c, /^router bgp /, `top-level command ${c}`);
      assert.ok(
        [...state].some((k) => k.startsWith(`${c}\n`)),
        `unknown router block ${c}`,
      );
      ctx = [c];
    } else if (ctx.length === 1 && c.startsWith('address-family ')) {
      state.add(key(ctx, c));
      ctx = [...ctx, c];
    } else {
      const router = ctx[0]!;
      const m = /^(no )?neighbor (\S+)( .*)?$/.exec(c);
      if (m) {
        const [, no, n, rest] = m;
        if (!(rest ?? '').startsWith(' remote-as') || no) assert.ok(hasNeighbour(router, n!), `${c}: no such neighbour`);
        if (no && rest === undefined) {
          for (const k of [...state])
            if (k.startsWith(`${router}\n`) && k.split('\n').at(-1)!.startsWith(`neighbor ${n} `)) state.delete(k);
          continue;
        }
        if (no && rest === ' shutdown') {
          state.delete(key(ctx, `neighbor ${n} shutdown`));
          continue;
        }
        if (!no && rest?.startsWith(' maximum-prefix '))
          for (const k of [...state]) if (k.startsWith(`${key(ctx, `neighbor ${n} maximum-prefix `)}`)) state.delete(k);
      }
      if (c.startsWith('no ')) {
        const line = c.slice(3);
        assert.ok(state.has(key(ctx, line)), `${c}: not configured in ${ctx.join(' > ')}`);
        state.delete(key(ctx, line));
      } else state.add(key(ctx, c));
    }
  }
  // An address family with nothing in it is not printed.
  for (const k of [...state]) {
    const parts = k.split('\n');
    if (parts.length === 2 && parts[1]!.startsWith('address-family ') && ![...state].some((o) => o.startsWith(`${k}\n`))) state.delete(k);
  }
  return state;
}

function assertTakesExactly(a: Spec, b: Spec, cmds: string[]): void {
  const want = new Set(configEntries(renderFrrConf(b)).map((e) => key(e.path, e.line)));
  const have = applyModel(renderFrrConf(a), cmds);
  assert.deepEqual(
    [...have].filter((k) => !want.has(k)),
    [],
    'lines left that the next rendering does not have',
  );
  assert.deepEqual(
    [...want].filter((k) => !have.has(k)),
    [],
    'lines the next rendering has that the commands did not make',
  );
}

describe('live commands: a table of edits', () => {
  test('BGP-only: a prefix added and one removed', () => {
    const cmds = liveCommands(spec({ advertise: ['10.16.0.0/16'] }), spec({ advertise: ['10.17.0.0/16'] }), FRR8);
    assert.deepEqual(cmds, [
      'configure terminal',
      'router bgp 65002',
      'address-family ipv4 unicast',
      'no network 10.16.0.0/16',
      'network 10.17.0.0/16',
      'exit-address-family',
      'exit',
    ]);
  });

  test("EVPN: the prefixes are the VRF instance's; the first IPv6 prefix brings `advertise ipv6 unicast`", () => {
    const a = spec({ evpn: true, advertise: ['10.16.0.0/16'] });
    const b = spec({ evpn: true, advertise: ['10.16.0.0/16', '10.17.0.0/16', 'fd00:10:16::/64'] });
    assert.deepEqual(liveCommands(a, b, FRR8), [
      'configure terminal',
      'router bgp 65002 vrf vrf-vpn',
      'address-family ipv4 unicast',
      'network 10.17.0.0/16',
      'exit-address-family',
      'exit',
      'router bgp 65002 vrf vrf-vpn',
      'address-family ipv6 unicast',
      'network fd00:10:16::/64',
      'exit-address-family',
      'exit',
      'router bgp 65002 vrf vrf-vpn',
      'address-family l2vpn evpn',
      'advertise ipv6 unicast',
      'exit-address-family',
      'exit',
    ]);
    // and back
    assert.deepEqual(liveCommands(b, a, FRR8), [
      'configure terminal',
      'router bgp 65002 vrf vrf-vpn',
      'address-family ipv4 unicast',
      'no network 10.17.0.0/16',
      'exit-address-family',
      'exit',
      'router bgp 65002 vrf vrf-vpn',
      'address-family l2vpn evpn',
      'no advertise ipv6 unicast',
      'exit-address-family',
      'exit',
      'router bgp 65002 vrf vrf-vpn',
      'address-family ipv6 unicast',
      'no network fd00:10:16::/64',
      'exit-address-family',
      'exit',
    ]);
  });

  test('EVPN with anchors: the anchor stays, the last prefix can go', () => {
    const a = spec({ evpn: true, advertise: ['10.16.0.0/16'], anchors: '10.17.255.0/24' });
    const b = spec({ evpn: true, advertise: [], anchors: '10.17.255.0/24' });
    const cmds = liveCommands(a, b, FRR8);
    assert.ok(cmds);
    assert.ok(!cmds.some((c) => c.includes('10.17.255.13')), cmds.join('\n'));
    assert.ok(cmds.includes('no network 10.16.0.0/16'));
    assertTakesExactly(a, b, cmds);
  });

  test('a neighbour added: created shut down, configured, activated, then enabled; removed: one `no neighbor`', () => {
    const a = spec({ neighbours: ['10.0.1.1'] });
    const b = spec({ neighbours: ['10.0.1.1', '10.0.1.2'] });
    assert.deepEqual(liveCommands(a, b, FRR8), [
      'configure terminal',
      'router bgp 65002',
      'neighbor 10.0.1.2 remote-as 65001',
      'neighbor 10.0.1.2 shutdown',
      'neighbor 10.0.1.2 password secret',
      'neighbor 10.0.1.2 ebgp-multihop 255',
      'neighbor 10.0.1.2 timers 30 90',
      'neighbor 10.0.1.2 timers connect 10',
      'exit',
      'router bgp 65002',
      'address-family ipv4 unicast',
      'neighbor 10.0.1.2 activate',
      'neighbor 10.0.1.2 maximum-prefix 10000',
      'exit-address-family',
      'exit',
      'router bgp 65002',
      'no neighbor 10.0.1.2 shutdown',
      'exit',
    ]);
    assert.deepEqual(liveCommands(b, a, FRR8), ['configure terminal', 'router bgp 65002', 'no neighbor 10.0.1.2', 'exit']);
  });

  test('EVPN: a neighbour added is activated in l2vpn evpn', () => {
    const cmds = liveCommands(spec({ evpn: true }), spec({ evpn: true, neighbours: ['10.0.1.1', '10.0.1.5'] }), FRR8);
    assert.ok(cmds);
    const i = cmds.indexOf('address-family l2vpn evpn');
    assert.ok(i > 0 && cmds[i + 1] === 'neighbor 10.0.1.5 activate', cmds.join('\n'));
    assert.equal(cmds.at(-2), 'no neighbor 10.0.1.5 shutdown');
  });

  test('maximum-prefix: set over the old value; 0 removes it', () => {
    const two = ['10.0.1.1', '10.0.1.2'];
    assert.deepEqual(liveCommands(spec({ neighbours: two }), spec({ neighbours: two, maximumPrefix: 500 }), FRR8), [
      'configure terminal',
      'router bgp 65002',
      'address-family ipv4 unicast',
      'neighbor 10.0.1.1 maximum-prefix 500',
      'neighbor 10.0.1.2 maximum-prefix 500',
      'exit-address-family',
      'exit',
    ]);
    assert.deepEqual(liveCommands(spec(), spec({ maximumPrefix: 0 }), FRR8), [
      'configure terminal',
      'router bgp 65002',
      'address-family ipv4 unicast',
      'no neighbor 10.0.1.1 maximum-prefix 10000',
      'exit-address-family',
      'exit',
    ]);
  });

  test('IPv6: the first IPv6 neighbour with an IPv6 prefix brings its family', () => {
    const a = spec({ advertise: ['10.16.0.0/16', 'fd00:10:16::/64'] });
    const b = spec({ advertise: ['10.16.0.0/16', 'fd00:10:16::/64'], neighbours: ['10.0.1.1', 'fd00:1::1'] });
    const cmds = liveCommands(a, b, FRR8);
    assert.ok(cmds);
    assert.ok(
      cmds.join('\n').includes('address-family ipv6 unicast\nnetwork fd00:10:16::/64\nneighbor fd00:1::1 activate'),
      cmds.join('\n'),
    );
    assertTakesExactly(a, b, cmds);
    assertTakesExactly(b, a, liveCommands(b, a, FRR8) ?? []);
  });

  const notLive: Array<[string, Spec, Spec, typeof FRR8?]> = [
    ['nothing changed', spec(), spec(), FRR8],
    ['hold time', spec(), { ...spec(), bgp: { ...spec().bgp, holdTime: 9, keepaliveTime: 3 } }],
    ['password', spec(), { ...spec(), bgp: { ...spec().bgp, password: 'other' } }],
    ['router id', spec(), { ...spec(), bgp: { ...spec().bgp, routerId: '10.0.1.14' } }],
    ['peer ASN', spec(), { ...spec(), bgp: { ...spec().bgp, peerAsn: 65009 } }],
    ['redistribute -> list', spec({ advertise: undefined }), spec()],
    ['list -> redistribute', spec(), spec({ advertise: undefined })],
    [
      'redistribute mode, a neighbour added',
      spec({ advertise: undefined }),
      spec({ advertise: undefined, neighbours: ['10.0.1.1', '10.0.1.2'] }),
    ],
    ['BGP-only -> EVPN', spec(), spec({ evpn: true })],
    ['VNI', spec({ evpn: true }), { ...spec({ evpn: true }), evpn: { vni: 1017, routeTargets: ['65000:1016'] } }],
    ['anchors on', spec({ evpn: true }), spec({ evpn: true, anchors: '10.17.255.0/24' })],
    [
      'vrfBackend (renders the same)',
      spec({ evpn: true }),
      { ...spec({ evpn: true }), gateway: { ...spec({ evpn: true }).gateway, vrfBackend: 'netns' } },
    ],
    ['BFD on, a neighbour added', spec({ bfd: true }), spec({ bfd: true, neighbours: ['10.0.1.1', '10.0.1.2'] })],
    ['graceful restart', spec(), { ...spec(), gateway: { ...spec().gateway, gracefulRestart: false } }],
    [
      'a prefix added, and the hold time',
      spec(),
      { ...spec({ advertise: ['10.16.0.0/16', '10.17.0.0/16'] }), bgp: { ...spec().bgp, holdTime: 9, keepaliveTime: 3 } },
    ],
    ['FRR older than 8.4', spec(), spec({ advertise: ['10.17.0.0/16'] }), flavourFor(parseFrrVersion('zebra version 8.1'))],
  ];
  for (const [what, a, b, frr] of notLive)
    test(`not live: ${what}`, () => {
      assert.equal(liveCommands(a, b, frr ?? FRR8), null);
    });

  test('live with BFD on: prefixes and limits (bfdd is not concerned)', () => {
    assert.ok(liveCommands(spec({ bfd: true }), spec({ bfd: true, advertise: ['10.17.0.0/16'] }), FRR8));
    assert.ok(liveCommands(spec({ bfd: true }), spec({ bfd: true, maximumPrefix: 7 }), FRR8));
  });

  test('changeDrain timings render nothing: a prefix change with them is still live', () => {
    const a = spec({ evpn: true });
    const b = spec({ evpn: true, advertise: ['10.17.0.0/16'] });
    b.gateway.changeDrain = { ...b.gateway.changeDrain, enabled: true, slotSeconds: 3 };
    assert.ok(liveCommands(a, b, FRR8));
  });

  test('FRR 10 gets the same commands', () => {
    const a = spec({ neighbours: ['10.0.1.1'] });
    const b = spec({ neighbours: ['10.0.1.2'], advertise: ['10.17.0.0/16'] });
    assert.deepEqual(liveCommands(a, b, FRR10), liveCommands(a, b, FRR8));
  });
});

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('live commands: a property over random pairs', () => {
  const V4N = ['10.0.1.1', '10.0.1.2', '192.168.50.1'];
  const V6N = ['fd00:1::1', 'fd00:1::2'];
  const PREFIXES = ['10.16.0.0/16', '10.17.0.0/16', '10.99.1.0/24', 'fd00:10:16::/64', 'fd00:20::/48'];

  function randomPair(r: () => number): [Spec, Spec] {
    const subset = <T>(xs: T[], min = 0): T[] => {
      for (;;) {
        const s = xs.filter(() => r() < 0.5);
        if (s.length >= min) return s;
      }
    };
    const evpn = r() < 0.5;
    const anchors = evpn && r() < 0.5 ? '10.17.255.0/24' : undefined;
    const pool = evpn ? V4N : [...V4N, ...V6N];
    const one = (): Opts => ({
      evpn,
      ...(anchors !== undefined && { anchors }),
      neighbours: subset(pool, 1),
      advertise: subset(PREFIXES),
      maximumPrefix: [0, 100, 10000][Math.floor(r() * 3)]!,
    });
    return [spec(one()), spec(one())];
  }

  test('every live-only change gives commands, and they give exactly the next rendering (500 pairs)', () => {
    const r = rng(26);
    let live = 0;
    for (let i = 0; i < 500; i++) {
      const [a, b] = randomPair(r);
      const cmds = liveCommands(a, b, FRR8);
      if (renderFrrConf(a) === renderFrrConf(b)) {
        assert.equal(cmds, null);
        continue;
      }
      assert.ok(cmds, `a live-only change gave null:\n${JSON.stringify([a.bgp.neighbours, a.gateway, b.bgp.neighbours, b.gateway])}`);
      assertTakesExactly(a, b, cmds);
      live++;
    }
    assert.ok(live > 400, `${live} live pairs`);
  });

  test('the model refuses what FRR refuses (so the property can fail)', () => {
    const a = spec();
    assert.throws(
      () => applyModel(renderFrrConf(a), ['configure terminal', 'router bgp 65002', 'no neighbor 10.9.9.9']),
      /no such neighbour/,
    );
    assert.throws(
      () =>
        applyModel(renderFrrConf(a), ['configure terminal', 'router bgp 65002', 'address-family ipv4 unicast', 'no network 10.99.0.0/16']),
      /not configured/,
    );
    // a command list that forgets a line does not give the next rendering
    const b = spec({ advertise: ['10.16.0.0/16', '10.17.0.0/16'] });
    assert.throws(() => assertTakesExactly(a, b, ['configure terminal']), /did not make/);
  });
});
