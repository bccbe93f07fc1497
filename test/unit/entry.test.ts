/**
 * bin/: the exec probe (bin/probe.js) against the supervisor's real HTTP server, and which code
 * bin/frr-supervisor.js runs (bin/build-stamp.js): dist/ only when it was built from the sources beside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { probe } from '../../bin/probe.js';
import { createHttpServer } from '../../src/observe/http.ts';
import type { Verdict } from '../../src/observe/health.ts';
import { runCli } from '../helpers/cli.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function withSupervisorHttp(verdicts: { live: Verdict; ready: Verdict }, fn: (listen: string) => Promise<void>): Promise<void> {
  const server = createHttpServer({
    livez: () => verdicts.live,
    readyz: () => verdicts.ready,
    status: () => ({}),
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: Buffer.from('') }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test('probe live|ready: 0 for 200, 1 for 503, one line with the path, the status and the reason', async () => {
  const verdicts = { live: { ok: true, reason: 'alive' }, ready: { ok: false, reason: 'not ready: none of 1 neighbours is Established' } };
  await withSupervisorHttp(verdicts, async (listen) => {
    assert.deepEqual(await probe(['live', '--listen', listen], {}), { code: 0, out: '/livez 200: alive\n' });
    assert.deepEqual(await probe(['ready', '--listen', listen], {}), {
      code: 1,
      out: '/readyz 503: not ready: none of 1 neighbours is Established\n',
    });
    verdicts.ready = { ok: true, reason: 'ready: 1 of 1 neighbours Established' };
    verdicts.live = { ok: false, reason: 'FRR did not answer 3 polls in a row\nsecond line' };
    // FRR_SUPERVISOR_LISTEN, as `run` reads it; a reason never breaks the one line
    assert.deepEqual(await probe(['ready'], { FRR_SUPERVISOR_LISTEN: listen }), {
      code: 0,
      out: '/readyz 200: ready: 1 of 1 neighbours Established\n',
    });
    assert.deepEqual(await probe([`--listen=${listen}`, 'live'], {}), {
      code: 1,
      out: '/livez 503: FRR did not answer 3 polls in a row second line\n',
    });
    // in-process through the CLI too (the same code)
    const r = await runCli(['probe', 'ready', '--listen', listen]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, '/readyz 200: ready: 1 of 1 neighbours Established\n', '']);
  });
});

test('probe: nothing listening, a wildcard listen address asked on loopback, a silent server, usage errors', async () => {
  // a free port: bind, note it, close
  const free = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
  const refused = await probe(['ready', '--listen', `0.0.0.0:${free}`], {});
  assert.equal(refused.code, 1);
  assert.equal(refused.out, `/readyz: no answer from 127.0.0.1:${free} (ECONNREFUSED): is the supervisor running, with this --listen?\n`);
  assert.match((await probe(['live', '--listen', `[::]:${free}`], {})).out, new RegExp(`^/livez: no answer from \\[::1\\]:${free} \\(`));
  // accepts and never answers: the probe's own timeout, before kubelet's
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const port = (silent.address() as AddressInfo).port;
    const t0 = Date.now();
    const r = await probe(['live', '--listen', `127.0.0.1:${port}`, '--timeout', '300ms'], {});
    assert.deepEqual(r, { code: 1, out: `/livez: no answer from 127.0.0.1:${port} within 300 ms\n` });
    assert.ok(Date.now() - t0 < 3000);
  } finally {
    silent.close();
  }
  for (const [argv, message] of [
    [[], 'say what to probe: live or ready'],
    [['alive'], 'unexpected argument "alive"'],
    [['live', '--listen', 'nope'], '--listen: "nope" is not HOST:PORT'],
    [['live', '--timeout', '1'], '--timeout: "1" is not a duration'],
    [['live', '--listen'], '--listen needs a value'],
  ] as Array<[string[], string]>) {
    const r = await probe(argv, {});
    assert.equal(r.code, 2, argv.join(' '));
    assert.ok(r.out.startsWith(`error: ${message}`), `${argv.join(' ')}: ${r.out}`);
  }
  assert.match((await probe(['--help'], {})).out, /^Usage: frr-supervisor probe live\|ready/);
});

/** A package root in a temp dir: the real bin/, a src/ and a dist/ whose main says which ran, node_modules linked. */
function fakeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'frrsup-entry-'));
  cpSync(join(REPO, 'bin'), join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{"type": "module"}\n');
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  mkdirSync(join(root, 'src/cli'), { recursive: true });
  mkdirSync(join(root, 'dist/cli'), { recursive: true });
  writeFileSync(join(root, 'src/cli/main.ts'), "const from: string = 'src';\nconsole.log(from);\n");
  writeFileSync(join(root, 'dist/cli/main.js'), "console.log('dist');\n");
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  return root;
}

test('bin/frr-supervisor.js runs dist/ only when its build stamp matches src/; `run` says so when it passes over a stale one', async () => {
  const root = fakeRoot();
  const run = async (cmd = 'run'): Promise<{ out: string; err: string }> => {
    const r = await execa('node', [join(root, 'bin/frr-supervisor.js'), cmd], { reject: false });
    assert.equal(r.exitCode, 0, r.stderr);
    return { out: r.stdout.trim(), err: r.stderr.trim() };
  };
  try {
    // a dist/ with no stamp (built before stamps, or by hand): not used silently
    let r = await run();
    assert.equal(r.out, 'src');
    assert.match(
      r.err,
      /^frr-supervisor: running src\/ through tsx: dist\/ was built from other sources \(no dist\/build-stamp\.json, src\/ now [0-9a-f]{12}\)/,
    );
    // the build's last step stamps it: dist/ runs, nothing said
    await execa('node', [join(root, 'bin/build-stamp.js')]);
    assert.match(readFileSync(join(root, 'dist/build-stamp.json'), 'utf8'), /"sourceDigest":"[0-9a-f]{64}"/);
    r = await run();
    assert.deepEqual(r, { out: 'dist', err: '' });
    // a source file changed after the build (a bench left dist/ behind, then an edit): the sources run, and it says so
    writeFileSync(join(root, 'src/cli/main.ts'), "const from: string = 'src';\nconsole.log(from); // edited\n");
    r = await run();
    assert.equal(r.out, 'src');
    assert.match(
      r.err,
      /dist\/ was built from other sources \(build stamp [0-9a-f]{12}, src\/ now [0-9a-f]{12}\); "npm run build" makes it current/,
    );
    // a one-shot command runs the sources too, and keeps its stderr for its own output
    assert.deepEqual(await run('check'), { out: 'src', err: '' });
    // a new file counts too
    await execa('node', [join(root, 'bin/build-stamp.js')]);
    assert.equal((await run()).out, 'dist');
    writeFileSync(join(root, 'src/new.ts'), 'export {};\n');
    assert.equal((await run()).out, 'src');
    // the image: only dist/ (no src/): dist/
    rmSync(join(root, 'src'), { recursive: true });
    assert.deepEqual(await run(), { out: 'dist', err: '' });
    // a checkout never built: the sources, nothing to say
    mkdirSync(join(root, 'src/cli'), { recursive: true });
    writeFileSync(join(root, 'src/cli/main.ts'), "console.log('src');\n");
    rmSync(join(root, 'dist'), { recursive: true });
    assert.deepEqual(await run(), { out: 'src', err: '' });
    // the probe's fast path loads neither: it answers even with no dist/ and a src/ that does not compile
    writeFileSync(join(root, 'src/cli/main.ts'), 'this is not TypeScript\n');
    const p = await execa('node', [join(root, 'bin/frr-supervisor.js'), 'probe', 'live', '--listen', '127.0.0.1:1'], { reject: false });
    assert.equal(p.exitCode, 1);
    assert.match(p.stdout, /^\/livez: no answer from 127\.0\.0\.1:1 /);
    unlinkSync(join(root, 'node_modules'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('npm run build ends with the stamp, and the image build stage has bin/ before it builds', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.build ?? '', /&& node bin\/build-stamp\.js$/);
  // the build stage (before `npm run build`) has bin/: the stamp script and bin/probe.d.ts, which src/cli/cli.ts needs
  const df = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const buildStage = df.slice(df.indexOf(' AS build'), df.indexOf(' AS runtime'));
  assert.ok(
    buildStage.indexOf('\nCOPY bin/ bin/\n') >= 0 && buildStage.indexOf('\nCOPY bin/ bin/\n') < buildStage.indexOf('RUN npm run build'),
  );
});
