/** The quick start's first command: the demo converges (session, type-5 routes both ways), serves, and leaves nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

test('the demo converges, serves /metrics on localhost, and tears everything down', { timeout: 180_000 }, async () => {
  const child = execa(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: REPO, env: { DEMO_SECONDS: '25', DEMO_PORT: '0' }, reject: false, all: true, buffer: true });
  let port: number | undefined;
  let metrics = '';
  child.stdout?.on('data', (d: Buffer) => {
    const m = /serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(d.toString());
    if (m?.[1] && port === undefined) {
      port = Number(m[1]);
      fetch(`http://127.0.0.1:${port}/metrics`).then(async (r) => (metrics = await r.text())).catch(() => undefined);
    }
  });
  const r = await child;
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /converged: session Established and type-5 routes both ways/);
  assert.match(r.all ?? '', /gateway <- router {2}192\.168\.100\.0\/24/);
  assert.match(r.all ?? '', /router {2}<- gateway 10\.17\.0\.0\/16/);
  assert.match(r.all ?? '', /frr-supervisor exited with code 0/);
  assert.match(metrics, /^frr_supervisor_config_valid 1$/m, 'the proxied /metrics answered');
  // the demo's lab names embed its pid (other test processes may run labs at the same time)
  const after = (await execa('ip', ['netns', 'list'])).stdout;
  const leaked = after.split('\n').filter((l) => l.startsWith(`fsl-${child.pid}-`) || l.startsWith(`fsl${child.pid}v`));
  assert.deepEqual(leaked, [], 'no namespace left behind');
});
