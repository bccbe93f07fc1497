// Unit tests of src/frr: path computation, leftover detection (fake /proc and a real non-FRR process), and the
// daemon / vtysh wrappers driven by fake executables (no FRR daemons, no root needed).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { pino } from 'pino';
import { FrrDaemon } from '../../src/frr/daemon.ts';
import type { DaemonExit, FrrLogger } from '../../src/frr/daemon.ts';
import { findLeftovers, isInstanceDaemon, pathspaceOf, readCmdline, stopLeftovers } from '../../src/frr/leftovers.ts';
import type { StaleEntry } from '../../src/frr/leftovers.ts';
import { FrrPaths, lookupUser, removeStaleSockets, socketAnswers } from '../../src/frr/paths.ts';
import { Vtysh, VtyshError, VtyshTimeoutError } from '../../src/frr/vtysh.ts';

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'frr-unit-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((c) => c.destroy());
    srv.once('error', reject);
    srv.listen(path, () => resolve(srv));
  });
}

/** Writes an executable node script (shebang = this node binary; no shell involved). */
async function fakeExe(path: string, body: string): Promise<string> {
  await writeFile(path, `#!${process.execPath}\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

function memLogger(): FrrLogger & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg: msg ?? '' });
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

describe('FrrPaths', () => {
  it('uses FRR defaults without a pathspace', () => {
    const p = new FrrPaths();
    assert.equal(p.instanceRunDir, '/var/run/frr');
    assert.equal(p.instanceConfigDir, '/etc/frr');
    assert.equal(p.frrConf, '/etc/frr/frr.conf');
    assert.equal(p.binary('zebra'), '/usr/lib/frr/zebra');
    assert.equal(p.pidFile('bgpd'), '/var/run/frr/bgpd.pid');
    assert.equal(p.vtySocket('staticd'), '/var/run/frr/staticd.vty');
    assert.equal(p.customRunDir, false);
    assert.deepEqual(p.daemonArgs('bgpd'), ['-i', '/var/run/frr/bgpd.pid']);
    assert.deepEqual(p.vtyshArgs(), ['--config_dir', '/etc/frr']);
  });

  it('puts a pathspace instance in RUNDIR/NAME and CONFDIR/NAME like FRR does', () => {
    const p = new FrrPaths({ pathspace: 'gw1' });
    assert.equal(p.instanceRunDir, '/var/run/frr/gw1');
    assert.equal(p.instanceConfigDir, '/etc/frr/gw1');
    assert.equal(p.frrConf, '/etc/frr/gw1/frr.conf');
    assert.equal(p.vtyshConf, '/etc/frr/gw1/vtysh.conf');
    assert.equal(p.vtySocket('bgpd'), '/var/run/frr/gw1/bgpd.vty');
    assert.equal(p.zservSocket, '/var/run/frr/gw1/zserv.api');
    assert.deepEqual(p.daemonArgs('zebra'), ['-N', 'gw1', '-i', '/var/run/frr/gw1/zebra.pid']);
    assert.deepEqual(p.vtyshArgs(), ['-N', 'gw1', '--config_dir', '/etc/frr']);
  });

  it('adds --vty_socket and -z for a non-default run dir (vtysh gets the base dir: it appends the pathspace)', () => {
    const p = new FrrPaths({ binDir: '/opt/frr', configDir: '/cfg', runDir: '/r/run/', pathspace: 'x' });
    assert.equal(p.customRunDir, true);
    assert.equal(p.instanceRunDir, '/r/run/x');
    assert.deepEqual(p.daemonArgs('bgpd'), ['-N', 'x', '-i', '/r/run/x/bgpd.pid', '--vty_socket', '/r/run/x', '-z', '/r/run/x/zserv.api']);
    assert.deepEqual(p.vtyshArgs(), ['-N', 'x', '--vty_socket', '/r/run/', '--config_dir', '/cfg']);
    assert.equal(p.binary('bgpd'), '/opt/frr/bgpd');
    const q = new FrrPaths({ runDir: '/r/run' });
    assert.deepEqual(q.daemonArgs('zebra'), ['-i', '/r/run/zebra.pid', '--vty_socket', '/r/run', '-z', '/r/run/zserv.api']);
    assert.deepEqual(q.vtyshArgs(), ['--vty_socket', '/r/run', '--config_dir', '/etc/frr']);
  });

  it('rejects pathspaces that are not a single safe path component', () => {
    for (const bad of ['a/b', '..', '.x', 'a b', 'x;rm']) assert.throws(() => new FrrPaths({ pathspace: bad }), /invalid FRR pathspace/);
    assert.equal(new FrrPaths({ pathspace: '' }).pathspace, undefined);
  });

  it('looks up the frr user in a passwd file', async () => {
    const f = join(tmp, 'passwd');
    await writeFile(f, 'root:x:0:0:root:/root:/bin/bash\nfrr:x:102:106:Frr routing suite,,,:/nonexistent:/usr/sbin/nologin\n');
    assert.deepEqual(await lookupUser('frr', f), { uid: 102, gid: 106 });
    await assert.rejects(lookupUser('nobody-here', f), /user nobody-here not found/);
  });

  it('ensureDirs creates the dirs and removes only sockets nothing answers on', async () => {
    const base = join(tmp, 'ensure');
    const p = new FrrPaths({ configDir: join(base, 'etc'), runDir: join(base, 'run'), pathspace: 'e1' });
    await mkdir(p.instanceRunDir, { recursive: true });
    const live = await listen(p.vtySocket('zebra'));
    try {
      await writeFile(p.vtySocket('bgpd'), ''); // not a socket: stale
      const dead = await listen(p.zservSocket);
      await new Promise((r) => dead.close(r)); // node unlinks it on close; recreate as a plain stale file
      await writeFile(p.zservSocket, '');
      await writeFile(join(p.instanceRunDir, 'keep.txt'), 'x');
      await p.ensureDirs();
      assert.ok(existsSync(p.instanceConfigDir));
      assert.ok(existsSync(p.vtySocket('zebra')), 'live socket removed');
      assert.equal(await socketAnswers(p.vtySocket('zebra')), true);
      assert.equal(existsSync(p.vtySocket('bgpd')), false, 'stale bgpd.vty kept');
      assert.equal(existsSync(p.zservSocket), false, 'stale zserv.api kept');
      assert.ok(existsSync(join(p.instanceRunDir, 'keep.txt')));
      assert.deepEqual(await removeStaleSockets(join(base, 'missing')), []);
    } finally {
      await new Promise((r) => live.close(r));
    }
  });
});

describe('leftover pid check', () => {
  it('parses -N in all its spellings', () => {
    assert.equal(pathspaceOf(['/usr/lib/frr/bgpd', '-N', 'a', '-f', '/dev/null']), 'a');
    assert.equal(pathspaceOf(['/usr/lib/frr/bgpd', '-Nb']), 'b');
    assert.equal(pathspaceOf(['/usr/lib/frr/bgpd', '--pathspace', 'c']), 'c');
    assert.equal(pathspaceOf(['/usr/lib/frr/bgpd', '--pathspace=d']), 'd');
    assert.equal(pathspaceOf(['/usr/lib/frr/bgpd', '-f', '/dev/null']), undefined);
    assert.equal(pathspaceOf(['-N']), undefined);
  });

  it('accepts only the matching binary in binDir with the same pathspace', () => {
    const p = new FrrPaths({ pathspace: 'ps' });
    assert.equal(isInstanceDaemon(['/usr/lib/frr/bgpd', '-N', 'ps'], 'bgpd', p), true);
    assert.equal(isInstanceDaemon(['/usr/lib/frr/bgpd', '-N', 'other'], 'bgpd', p), false);
    assert.equal(isInstanceDaemon(['/usr/lib/frr/bgpd'], 'bgpd', p), false);
    assert.equal(isInstanceDaemon(['/usr/lib/frr/zebra', '-N', 'ps'], 'bgpd', p), false);
    assert.equal(isInstanceDaemon(['/tmp/bgpd', '-N', 'ps'], 'bgpd', p), false);
    assert.equal(isInstanceDaemon(['/usr/bin/sleep', '-N', 'ps'], 'bgpd', p), false);
    const q = new FrrPaths();
    assert.equal(isInstanceDaemon(['/usr/lib/frr/zebra', '-f', '/dev/null'], 'zebra', q), true);
    assert.equal(isInstanceDaemon(['/usr/lib/frr/zebra', '-N', 'ps'], 'zebra', q), false);
  });

  it('finds live daemons through a fake /proc and removes stale pid files', async () => {
    const base = join(tmp, 'fakeproc');
    const proc = join(base, 'proc');
    const p = new FrrPaths({ runDir: join(base, 'run'), configDir: join(base, 'etc'), pathspace: 'ps1' });
    await mkdir(p.instanceRunDir, { recursive: true });
    const fakeProc = async (pid: number, argv: string[]): Promise<void> => {
      await mkdir(join(proc, String(pid)), { recursive: true });
      await writeFile(join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    };
    await fakeProc(4_000_001, ['/usr/lib/frr/zebra', '-N', 'ps1', '-f', '/dev/null', '-i', p.pidFile('zebra')]);
    await fakeProc(4_000_002, ['/usr/bin/sleep', '100']);
    await fakeProc(4_000_004, ['/usr/lib/frr/bgpd', '-N', 'someone-else']);
    await writeFile(p.pidFile('zebra'), '4000001\n');
    await writeFile(p.pidFile('staticd'), '4000002\n'); // pid reused by another program
    await writeFile(p.pidFile('bgpd'), '4000003\n'); // dead
    const stale: StaleEntry[] = [];
    const found = await findLeftovers(p, ['zebra', 'staticd', 'bgpd'], { procRoot: proc, onStale: (e) => stale.push(e) });
    assert.deepEqual(found, [{ name: 'zebra', pid: 4_000_001 }]);
    assert.deepEqual(
      stale.map((s) => [s.name, s.pid]),
      [
        ['staticd', 4_000_002],
        ['bgpd', 4_000_003],
      ],
    );
    assert.match(stale[0]?.reason ?? '', /another program: \/usr\/bin\/sleep/);
    assert.ok(existsSync(p.pidFile('zebra')));
    assert.equal(existsSync(p.pidFile('staticd')), false);
    assert.equal(existsSync(p.pidFile('bgpd')), false);

    await writeFile(p.pidFile('bgpd'), '4000004\n'); // FRR bgpd, other pathspace
    await writeFile(p.pidFile('staticd'), 'garbage\n');
    assert.deepEqual(await findLeftovers(p, ['bgpd', 'staticd'], { procRoot: proc }), []);
    assert.equal(existsSync(p.pidFile('bgpd')), false);
    assert.equal(existsSync(p.pidFile('staticd')), false);
    assert.deepEqual(await findLeftovers(p, ['bgpd'], { procRoot: proc }), []); // no pid file: nothing
  });

  it('never signals a live process whose cmdline is not the FRR daemon', async () => {
    const base = join(tmp, 'realproc');
    const p = new FrrPaths({ runDir: join(base, 'run'), configDir: join(base, 'etc'), pathspace: 'ps2' });
    await mkdir(p.instanceRunDir, { recursive: true });
    const sleeper = execa('sleep', ['30'], { reject: false, stdin: 'ignore' });
    try {
      const pid = sleeper.pid;
      assert.ok(pid !== undefined);
      const argv = await readCmdline(pid);
      assert.equal(argv?.[1], '30');
      await writeFile(p.pidFile('bgpd'), `${pid}\n`);
      const stopped = await stopLeftovers(p, ['bgpd'], { timeoutMs: 200 });
      assert.deepEqual(stopped, []);
      assert.equal(existsSync(p.pidFile('bgpd')), false, 'stale pid file kept');
      process.kill(pid, 0); // still alive: throws otherwise
    } finally {
      sleeper.kill('SIGTERM');
    }
    const r = await sleeper;
    assert.equal(r.signal, 'SIGTERM', 'the sleep process was signalled by someone else');
  });
});

describe('FrrDaemon with fake executables', () => {
  let bin: string;
  let runDir: string;
  before(async () => {
    bin = join(tmp, 'fakebin');
    runDir = join(tmp, 'fakerun');
    await mkdir(bin, { recursive: true });
    // staticd: prints its environment and a fatal error, exits 3.
    await fakeExe(
      join(bin, 'staticd'),
      `console.log('2026/01/01 10:00:00 STATIC: env ' + Object.keys(process.env).sort().join(','));
console.error('bgp_socket: no usable addresses please check other programs usage of specified port 179');
process.exit(3);`,
    );
    // zebra: never opens its socket.
    await fakeExe(join(bin, 'zebra'), `setInterval(() => {}, 1000);`);
    // bgpd: listens on the --vty_socket dir like FRR, logs, exits 0 on SIGTERM unless told to ignore it.
    await fakeExe(
      join(bin, 'bgpd'),
      `const net = require('node:net'); const a = process.argv;
const dir = a[a.indexOf('--vty_socket') + 1];
require('node:fs').writeFileSync(a[a.indexOf('-i') + 1], process.pid + '\\n');
const srv = net.createServer((c) => c.destroy()).listen(dir + '/bgpd.vty', () => console.log('2026/01/01 10:00:00.123 BGP: [T83RR] fake bgpd starting'));
process.on('SIGTERM', () => { if (process.env.IGNORE_TERM !== '1') { srv.close(); process.exit(0); } });`,
    );
  });

  const paths = (): FrrPaths => new FrrPaths({ binDir: bin, runDir, configDir: join(tmp, 'fakeetc'), pathspace: 'fk' });

  it('accepts a pino logger', () => {
    const logger: FrrLogger = pino({ enabled: false });
    const d = new FrrDaemon({ name: 'zebra', paths: paths(), logger, extraArgs: ['-K'] });
    assert.deepEqual(d.argv.slice(-7), ['-f', '/dev/null', '-P', '0', '--log', 'stdout', '-K']);
    assert.deepEqual(d.argv.slice(1, 3), ['-N', 'fk']);
    assert.equal(d.argv[0], join(bin, 'zebra'));
  });

  it('reports an early exit with the exit code and the last output lines, and passes a minimal env', async () => {
    process.env.FSL_UNIT_SECRET = 'do-not-leak';
    try {
      const p = paths();
      await p.ensureDirs();
      const d = new FrrDaemon({ name: 'staticd', paths: p, env: { EXTRA_VAR: '1' } });
      const exits: DaemonExit[] = [];
      d.on('exit', (e) => exits.push(e));
      await assert.rejects(d.start(), (err: Error) => {
        assert.match(err.message, /staticd \(.*\/fakebin\/staticd\) exited during start \(exit code 3\)/);
        assert.match(err.message, /port 179/);
        assert.match(err.message, /STATIC: env /);
        assert.doesNotMatch(err.message, /FSL_UNIT_SECRET/);
        assert.match(err.message, /EXTRA_VAR,LANG,PATH/);
        return true;
      });
      assert.equal(exits.length, 1);
      assert.equal(exits[0]?.expected, false);
      assert.equal(d.running, false);
    } finally {
      delete process.env.FSL_UNIT_SECRET;
    }
  });

  it('times out when the vty socket never answers, and leaves nothing running', async () => {
    const p = paths();
    await p.ensureDirs();
    const d = new FrrDaemon({ name: 'zebra', paths: p, startTimeoutMs: 300 });
    let pid: number | undefined;
    d.on('spawn', (x) => (pid = x));
    await assert.rejects(d.start(), /zebra \(.*\) did not answer on .*zebra\.vty within 300 ms/);
    assert.equal(d.running, false);
    assert.ok(pid !== undefined);
    assert.throws(() => process.kill(pid as number, 0));
  });

  it('starts, forwards log lines, stops idempotently with expected=true, and escalates to SIGKILL', async () => {
    const p = paths();
    await p.ensureDirs();
    const log = memLogger();
    const d = new FrrDaemon({ name: 'bgpd', paths: p, logger: log });
    await d.start();
    assert.equal(d.running, true);
    assert.ok(d.startedAt instanceof Date);
    assert.equal(await readFile(p.pidFile('bgpd'), 'utf8'), `${d.pid}\n`);
    assert.ok(d.argv.includes('--log') && d.argv.includes('-P') && d.argv.includes('/dev/null'));
    await assert.rejects(d.start(), /already running/);
    const exit = new Promise<DaemonExit>((resolve) => d.once('exit', resolve));
    await Promise.all([d.stop(), d.stop()]);
    const info = await exit;
    assert.equal(info.expected, true);
    assert.equal(info.code, 0);
    assert.equal(d.running, false);
    assert.equal(d.pid, undefined);
    await d.stop();
    const line = log.lines.find((l) => l.msg.includes('fake bgpd starting'));
    assert.deepEqual(line && { level: line.level, obj: line.obj, msg: line.msg }, {
      level: 'info',
      obj: { daemon: 'bgpd' },
      msg: 'BGP: [T83RR] fake bgpd starting',
    });

    const stubborn = new FrrDaemon({ name: 'bgpd', paths: p, env: { IGNORE_TERM: '1' } });
    await stubborn.start();
    const t0 = Date.now();
    const exit2 = new Promise<DaemonExit>((resolve) => stubborn.once('exit', resolve));
    await stubborn.stop({ timeoutMs: 300 });
    const info2 = await exit2;
    assert.equal(info2.signal, 'SIGKILL');
    assert.equal(info2.expected, true);
    assert.ok(Date.now() - t0 < 3000);
  });

  it('refuses to start when another process answers on the vty socket', async () => {
    const p = paths();
    await p.ensureDirs();
    const srv = await listen(p.vtySocket('bgpd'));
    try {
      const d = new FrrDaemon({ name: 'bgpd', paths: p });
      await assert.rejects(d.start(), /another bgpd is already running for pathspace fk/);
      assert.equal(d.running, false);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});

describe('Vtysh', () => {
  it('passes --config_dir and the path flags, and turns failures into VtyshError / VtyshTimeoutError', async () => {
    const dir = join(tmp, 'fakevtysh');
    await mkdir(dir, { recursive: true });
    const echo = await fakeExe(join(dir, 'vtysh-echo'), `console.log(JSON.stringify(process.argv.slice(2)));`);
    const p = new FrrPaths({ runDir: '/r', configDir: '/c', pathspace: 'n1' });
    const v = new Vtysh({ paths: p, bin: echo });
    const out = await v.run(['show version', 'show bgp summary json'], { daemon: 'bgpd' });
    assert.deepEqual(JSON.parse(out), [
      '-N',
      'n1',
      '--vty_socket',
      '/r',
      '--config_dir',
      '/c',
      '-d',
      'bgpd',
      '-c',
      'show version',
      '-c',
      'show bgp summary json',
    ]);
    assert.deepEqual(await v.json<string[]>('show x json'), ['-N', 'n1', '--vty_socket', '/r', '--config_dir', '/c', '-c', 'show x json']);

    const fail = await fakeExe(join(dir, 'vtysh-fail'), `console.log('% Unknown command: show bogus'); process.exit(1);`);
    await assert.rejects(new Vtysh({ paths: p, bin: fail }).run(['show bogus']), (err: Error) => {
      assert.ok(err instanceof VtyshError);
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /Unknown command: show bogus/);
      return true;
    });

    const slow = await fakeExe(join(dir, 'vtysh-slow'), `setTimeout(() => {}, 10000);`);
    const t0 = Date.now();
    await assert.rejects(new Vtysh({ paths: p, bin: slow, timeoutMs: 200 }).run(['show version']), VtyshTimeoutError);
    assert.ok(Date.now() - t0 < 2000);

    const lostDaemon = await fakeExe(
      join(dir, 'vtysh-lost'),
      `console.error('vtysh: error reading from bgpd: Unknown error -2 (-2)Warning: closing connection to bgpd because of an I/O error!'); process.exit(0);`,
    );
    await assert.rejects(new Vtysh({ paths: p, bin: lostDaemon }).pushConfig(), /error reading from bgpd/);
    const badLine = await fakeExe(join(dir, 'vtysh-badline'), `console.error('line 3: % Unknown command[25]: foo bar'); process.exit(2);`);
    await assert.rejects(
      new Vtysh({ paths: p, bin: badLine }).pushConfig({ daemon: 'bgpd' }),
      /to bgpd failed \(exit 2\): line 3: % Unknown command/,
    );
    await new Vtysh({ paths: p, bin: echo }).pushConfig();
    await assert.rejects(new Vtysh({ paths: p, bin: join(dir, 'missing') }).run(['x']), /vtysh binary not found/);
  });

  it('dryrun checks a config file with the real vtysh', async () => {
    if (!existsSync('/usr/bin/vtysh')) {
      assert.fail('/usr/bin/vtysh is missing: install FRR (scripts/install-deps.sh)');
    }
    const good = join(tmp, 'good.conf');
    const bad = join(tmp, 'bad.conf');
    await writeFile(good, 'router bgp 65001\n neighbor 10.0.1.1 remote-as 65002\n!\n');
    await writeFile(bad, 'router bgp 65001\n neighbor 10.0.1.1 bogus-cmd\n!\n');
    const ok = await Vtysh.dryrun(good);
    assert.deepEqual(ok, { ok: true, output: '' });
    const ko = await Vtysh.dryrun(bad);
    assert.equal(ko.ok, false);
    assert.match(ko.output, /line 2: % Unknown command/);
  });
});

it('removePidFiles: a directory planted at a pid file name is reported, not thrown; the other pid files go', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'frrsup-pid-'));
  try {
    const paths = new FrrPaths({ runDir: tmp, pathspace: 'pidtest' });
    await mkdir(paths.instanceRunDir, { recursive: true });
    await writeFile(paths.pidFile('zebra'), '1\n');
    await mkdir(paths.pidFile('bgpd'));
    const problems = await paths.removePidFiles(['zebra', 'staticd', 'bgpd']);
    assert.deepEqual(problems, [`${paths.pidFile('bgpd')}: is not a file`]);
    assert.equal(existsSync(paths.pidFile('zebra')), false);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
