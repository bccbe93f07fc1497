/**
 * The quick start's first command, run as a newcomer runs it: `npm run demo` in a terminal, then Ctrl-C. The
 * terminal sends SIGINT to the whole foreground process group (npm, its shell, the demo, and every child that stayed
 * in the group: the supervisor (or the podman client running its container), the loss meter's agents, the host
 * router's FRR daemons), not to one pid: the test does the same (`npm run demo` is the leader of its own process
 * group; `kill -INT -PGID`).
 *
 * The demo's default (FRR 10.7.1 on both sides, in containers: the first test; it builds the image when it is
 * missing) converges (session, type-5 routes both ways, traffic both ways), applies a graceful-restart config change
 * through the config volume and reports what it cost, apart from the startup; serves /metrics /status /livez /readyz
 * through its port proxy; and on Ctrl-C tears everything down: no container, no namespace of its own in
 * `ip netns list` or /run/netns (the VRF namespace is mounted inside the supervisor's mount namespace, so only its
 * name can be left behind where the demo runs), no process, no mount, no FRR run directory, no temp dir. The second
 * test runs DEMO_FRR=host (the host's FRR on both sides) behind `| tee`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../lab/lab.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The metrics line of an Established session (frr_bgp_peer_state 1). */
const PEER_UP = /^frr_bgp_peer_state\{.*\} 1$/m;

/** Containers of the demo's (any state): the supervisor's `fsl<pid>s…` and the router's `fslrt<pid>-…`. */
async function containersOf(demoPid: number): Promise<string[]> {
  const r = await execa('podman', ['--runtime', 'runc', 'ps', '-a', '--format', '{{.Names}}'], { reject: false });
  return String(r.stdout)
    .split('\n')
    .filter((n) => n.startsWith(`fsl${demoPid}s`) || n.startsWith(`fslrt${demoPid}-`));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Pids of the processes in process group `pgid` (field 5 of /proc/PID/stat). */
function groupPids(pgid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** Every process whose command line names one of the demo's lab objects (pathspaces fsl<pid>X, dirs fsl-<pid>-). */
function processesOf(demoPid: number): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const c = cmdline(Number(e));
    if (c.includes(`fsl${demoPid}`) || c.includes(`fsl-${demoPid}-`)) out.push(`${e}: ${c}`);
  }
  return out;
}

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

test(
  '`npm run demo` (FRR 10.7.1 on both sides, in containers) converges, carries traffic, applies a graceful-restart change and reports its cost apart from the startup, serves /metrics /status /livez /readyz, and Ctrl-C (SIGINT to its process group) leaves nothing behind, containers included',
  { timeout: 600_000 },
  async () => {
    const child = execa('npm', ['run', 'demo'], {
      cwd: REPO,
      env: { DEMO_CHANGE_AFTER: '8', DEMO_PORT: '0', DEMO_FRR: undefined }, // the default FRR
      detached: true, // its own process group, as a terminal's foreground job
      reject: false,
      all: true,
      buffer: true,
      stdin: 'ignore',
    });
    const pgid = child.pid ?? 0;
    let out = '';
    let port: number | undefined;
    child.all?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m?.[1] && port === undefined) port = Number(m[1]);
    });
    const endpoints: Record<string, { status: number; body: string }> = {};
    let demoPid: number;
    let ended = false;
    child.finally(() => (ended = true)).catch(() => undefined);
    let containers: string[];
    try {
      // run until the change's cost is reported (the first run on a machine builds the FRR 10.7 image), then Ctrl-C
      const deadline = Date.now() + 480_000;
      while (!/^config change \(BgpConf/m.test(out) && Date.now() < deadline && !ended) await new Promise((r) => setTimeout(r, 500));
      assert.match(out, /^config change \(BgpConf/m, `no config change report before the deadline:\n${out.slice(-3000)}`);
      demoPid = groupPids(pgid).find((p) => /^\S*node --import tsx scripts\/demo\.ts/.test(cmdline(p))) ?? 0;
      assert.ok(demoPid > 0, `the demo's node process in process group ${pgid}`);
      const seen = processesOf(demoPid);
      assert.ok(
        seen.some((p) => p.includes('/usr/lib/frr/bgpd')),
        `the demo's FRR daemons run before Ctrl-C:\n${seen.join('\n')}`,
      );
      containers = await containersOf(demoPid);
      // the port proxy reaches the supervisor in its container (the gateway namespace's 127.0.0.1:9180)
      assert.ok(port, 'the demo printed its port');
      // The demo saw the session back on its own; the supervisor's poller (every 2 s) may still hold the poll made
      // while bgpd restarted (no peers): up to 15 s for /metrics to show the session, then the endpoints are read.
      await waitFor(async () => PEER_UP.test(await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())), {
        timeoutMs: 15_000,
        intervalMs: 500,
        what: "the proxied /metrics to show FRR 10.7.1's session up",
      });
      for (const path of ['/metrics', '/status', '/livez', '/readyz']) {
        const r = await fetch(`http://127.0.0.1:${port}${path}`);
        endpoints[path] = { status: r.status, body: await r.text() };
      }
      process.kill(-pgid, 'SIGINT');
      await child;
      await gone(demoPid, 60_000);
    } finally {
      if (!ended) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    assert.ok(!alive(demoPid), 'the demo exited after Ctrl-C');

    const has = (re: RegExp, what: string): void => assert.ok(re.test(out), `${what}: no ${String(re)} in:\n${out.slice(-3000)}`);
    // FRR 10.7.1 on both sides, each in a container, and the image step said what it did and how long it took
    has(/^FRR 10\.7\.1 image (built|checked) in [\d.]+ s$/m, 'the image step, timed');
    has(
      /^FRR 10\.7\.1 on the gateway \(container\), FRR 10\.7\.1 on the router \(container, L3VNI in a VRF\)$/m,
      'the FRR versions on screen',
    );
    has(/gracefulRestart: true/, 'graceful restart on');
    assert.equal(
      containers.filter((n) => n.startsWith(`fsl${demoPid}s`)).length,
      1,
      `the supervisor's container ran: ${containers.join(' ')}`,
    );
    assert.equal(
      containers.filter((n) => n.startsWith(`fslrt${demoPid}-`)).length,
      1,
      `the router's container ran: ${containers.join(' ')}`,
    );
    for (const n of containers) has(new RegExp(`^removed the (gateway|router)'s container ${n}$`, 'm'), `${n} removed`);
    has(/converged: session Established and type-5 routes both ways/, 'converged');
    has(/traffic flows both ways through the gateway/, 'traffic');
    has(/gateway <- router {2}192\.168\.100\.0\/24/, 'type-5 route from the router');
    has(/router {2}<- gateway 10\.17\.0\.0\/16/, 'type-5 route from the gateway');
    // the live table counts the startup apart from the steady state
    has(/^ {4}startup \(first \d+ s, before the routes\) +sent +\d+ +received +\d+ +lost +\d+$/m, 'the startup counted apart');
    has(/^ {4}steady state \(since converged\) +sent +\d+ +received +\d+ +lost +\d+ +longest gap [\d.]+ ms$/m, 'the steady state');
    // the change went through the config volume, was applied, and its cost was measured
    const change =
      /config change \(BgpConf timers 90s\/30s -> 60s\/20s, through the config volume\): applied in (\d+) ms, restarted ([a-z, ]+), session back in ([\d.]+) s, (\d+) packets lost \(([^;]*); longest gap ([\d.]+) ms\)/.exec(
        out,
      );
    assert.ok(change, `no config change report in:\n${out.slice(-3000)}`);
    process.stdout.write(`measured by the demo: ${change[0]}\n`);
    assert.match(change[2] ?? '', /bgpd/);
    const changeLost = new Map([...(change[5] ?? '').matchAll(/(\S+) (\d+)/g)].map((x) => [x[1] ?? '', Number(x[2])]));
    assert.equal(changeLost.size, 2, change[5]);
    assert.equal(
      Number(change[4]),
      [...changeLost.values()].reduce((a, b) => a + b, 0),
      'the total is the sum of the flows',
    );
    // Ctrl-C: the totals per phase, then the whole teardown
    const totals = /traffic totals \(lost of sent, per phase\): (.*)/.exec(out)?.[1] ?? '';
    const flows = [...totals.matchAll(/(\S+) startup (\d+) of (\d+), steady state (\d+) of (\d+), config change (\d+) of (\d+)/g)];
    assert.equal(flows.length, 2, `both flows in the totals: ${totals}`);
    for (const f of flows) {
      const [, label = '', , , , steadySent, changeLostHere] = f;
      assert.ok(Number(steadySent) > 5000, `${label}: the steady state counted probes: ${totals}`);
      // the change's window was closed when its cost was printed: the totals count the same probes
      assert.equal(Number(changeLostHere), changeLost.get(label), `${label}: the change's loss, in its line and in the totals`);
    }
    has(/tearing down/, 'teardown');
    has(/frr-supervisor exited with code 0/, 'the supervisor drained and exited');
    has(/lab removed/, 'the teardown ran to its end');
    assert.equal(endpoints['/metrics']?.status, 200);
    assert.match(endpoints['/metrics']?.body ?? '', /^frr_supervisor_config_valid 1$/m, 'the proxied /metrics answered');
    assert.match(endpoints['/metrics']?.body ?? '', PEER_UP, "the metrics show FRR 10.7.1's session up");
    assert.equal(endpoints['/status']?.status, 200);
    const status = JSON.parse(endpoints['/status']?.body ?? '{}') as { config?: { valid?: boolean } };
    assert.equal(status.config?.valid, true, 'the proxied /status');
    assert.deepEqual(
      [endpoints['/livez']?.status, endpoints['/readyz']?.status],
      [200, 200],
      `the proxied /livez and /readyz: ${endpoints['/readyz']?.body ?? ''}`,
    );

    await assertNothingLeft(demoPid);
  },
);

/** Nothing of the demo left: containers, namespaces (listed, or as names in /run/netns), processes, mounts, FRR run dirs, temp dirs. */
async function assertNothingLeft(demoPid: number): Promise<void> {
  assert.deepEqual(await containersOf(demoPid), [], 'no container left (podman ps -a)');
  const mine = (n: string): boolean => n.startsWith(`fsl-${demoPid}-`) || n.startsWith(`fsl${demoPid}`);
  const listed = (await execa('ip', ['netns', 'list'], { all: true })).all ?? '';
  assert.deepEqual(
    listed.split('\n').filter((l) => mine(l.trim())),
    [],
    'no namespace left in ip netns list',
  );
  assert.deepEqual(list('/run/netns').filter(mine), [], 'no namespace name left in /run/netns');
  assert.deepEqual(processesOf(demoPid), [], 'no process of the demo left (FRR daemons, supervisor, agents)');
  assert.deepEqual(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(`fsl${demoPid}`) || l.includes(`fsl-${demoPid}-`)),
    [],
    'no mount left',
  );
  assert.deepEqual(list('/var/run/frr').filter(mine), [], 'no FRR run directory left');
  assert.deepEqual(list(tmpdir()).filter(mine), [], 'no temp dir left');
}

/** Waits until a pid is gone (at most timeoutMs). */
async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; alive(pid) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 200));
  return !alive(pid);
}

test(
  'DEMO_FRR=host `npm run demo | tee LOG` and Ctrl-C: the host FRR on both sides converges; the teardown outlives the pipe (tee is gone before its messages) and leaves nothing behind',
  { timeout: 240_000 },
  async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'demo-tee-')), 'demo.log');
    // sh is the group leader, as a terminal's job with a pipeline: SIGINT reaches npm, the demo and tee at once
    const child = execa('sh', ['-c', `npm run demo 2>&1 | tee ${log} >/dev/null`], {
      cwd: REPO,
      env: { DEMO_CHANGE_AFTER: '600', DEMO_PORT: '0', DEMO_FRR: 'host' },
      detached: true,
      reject: false,
      stdin: 'ignore',
    });
    const pgid = child.pid ?? 0;
    let demoPid: number;
    try {
      const text = (): string => (existsSync(log) ? readFileSync(log, 'utf8') : '');
      for (const deadline = Date.now() + 150_000; !/steady state \(since converged\)/.test(text()) && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 500));
      assert.match(text(), /steady state \(since converged\)/, `converged:\n${text().slice(-2000)}`);
      const hostFrr = /version (\S+)/.exec((await execa('/usr/lib/frr/zebra', ['--version'])).stdout)?.[1] ?? '?';
      assert.ok(
        text().includes(`FRR ${hostFrr} on the gateway (host), FRR ${hostFrr} on the router (host, L3VNI in its default VRF)`),
        `the host's FRR ${hostFrr} on screen:\n${text().slice(0, 2000)}`,
      );
      demoPid = groupPids(pgid).find((p) => /^\S*node --import tsx scripts\/demo\.ts/.test(cmdline(p))) ?? 0;
      assert.ok(demoPid > 0, `the demo's node process in process group ${pgid}`);
      process.kill(-pgid, 'SIGINT');
      await child;
      assert.ok(await gone(demoPid, 60_000), 'the demo exited after Ctrl-C');
    } finally {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
      rmSync(dirname(log), { recursive: true, force: true });
    }
    await assertNothingLeft(demoPid);
  },
);
