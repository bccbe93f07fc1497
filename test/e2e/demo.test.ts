/**
 * The quick start's first command: the demo converges (session, type-5 routes both ways, traffic both ways),
 * applies a config change through the config volume and reports its cost, serves, and leaves nothing behind: no
 * namespace of its own, neither in `ip netns list` nor as a name in /run/netns (the VRF namespace is mounted inside
 * the supervisor's mount namespace, so only its name can be left behind where the demo runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

test(
  'the demo converges, carries traffic, applies a change and reports its cost, serves /metrics on localhost, and tears everything down',
  { timeout: 240_000 },
  async () => {
    const child = execa(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: REPO,
      env: { DEMO_SECONDS: '45', DEMO_CHANGE_AFTER: '8', DEMO_PORT: '0' },
      reject: false,
      all: true,
      buffer: true,
    });
    let port: number | undefined;
    let metrics = '';
    child.stdout?.on('data', (d: Buffer) => {
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(d.toString());
      if (m?.[1] && port === undefined) {
        port = Number(m[1]);
        fetch(`http://127.0.0.1:${port}/metrics`)
          .then(async (r) => (metrics = await r.text()))
          .catch(() => undefined);
      }
    });
    const r = await child;
    const out = r.all ?? '';
    assert.equal(r.exitCode, 0, out);
    assert.match(out, /converged: session Established and type-5 routes both ways/);
    assert.match(out, /traffic flows both ways through the gateway/);
    assert.match(out, /gateway <- router {2}192\.168\.100\.0\/24/);
    assert.match(out, /router {2}<- gateway 10\.17\.0\.0\/16/);
    // the change went through the config volume, was applied, and its cost was measured
    const change =
      /config change \(BgpConf timers 90s\/30s -> 60s\/20s, through the config volume\): applied in (\d+) ms, restarted ([a-z, ]+), session back in ([\d.]+) s, (\d+) packets lost/.exec(
        out,
      );
    assert.ok(change, `no config change report in:\n${out.slice(-3000)}`);
    assert.match(change[2] ?? '', /bgpd/);
    // the traffic counters moved: every flow received probes
    const totals = /traffic totals: (.*)/.exec(out)?.[1] ?? '';
    const received = [...totals.matchAll(/received (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(received.length, 2, totals);
    assert.ok(
      received.every((n) => n > 5000),
      `every flow received probes: ${totals}`,
    );
    assert.match(out, /frr-supervisor exited with code 0/);
    assert.match(metrics, /^frr_supervisor_config_valid 1$/m, 'the proxied /metrics answered');
    // the demo's lab names embed its pid (other test processes may run labs at the same time)
    const mine = (n: string): boolean => n.startsWith(`fsl-${child.pid}-`) || n.startsWith(`fsl${child.pid}v`);
    const listed = (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
    assert.deepEqual(listed.filter(mine), [], 'no namespace left in ip netns list');
    let files: string[];
    try {
      files = readdirSync('/run/netns');
    } catch {
      files = [];
    }
    assert.deepEqual(files.filter(mine), [], 'no namespace name left in /run/netns');
  },
);
