/**
 * `frr-supervisor probe live|ready`, the exec probes for Pods kubelet cannot reach over HTTP, against a supervisor
 * running real FRR: run as kubelet runs an exec probe (the executable, inside the Pod's network namespace), their
 * exit codes follow /livez and /readyz through every state: no valid config yet, applied and Established, the
 * peer gone, FRR not answering, the supervisor gone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../lab/lab.ts';
import { useGatewayLab } from '../../lab/gateway-lab.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { bgpRouterConf, docsBgpConf, RT } from '../../lab/configs.ts';

const BIN = fileURLToPath(new URL('../../bin/frr-supervisor.js', import.meta.url));
const PORT = 9187;
const LISTEN = ['--listen', `0.0.0.0:${PORT}`];
const FAST = ['--poll-interval', '1s', '--vtysh-timeout', '1s'];
const BGP = docsBgpConf({ hold: '3s', keepalive: '1s', connect: '1s', ebgpMultiHop: false, neighbours: [RT] });
const FILES = { 'bgp-conf.yaml': BGP, 'gateway.yaml': 'advertise: [10.17.0.0/16]\n' };

describe('exec probes against a supervisor running real FRR', { timeout: 300_000 }, () => {
  const fx = useGatewayLab({ advertised: '10.17.0.0/16', routerConf: bgpRouterConf({ keepalive: 1, hold: 3 }) });

  /** `frr-supervisor probe WHICH` in the gateway namespace, the supervisor's address given as the Pod would give it. */
  async function probe(which: 'live' | 'ready', how: 'flag' | 'env' = 'flag'): Promise<{ code: number; out: string }> {
    const argv =
      how === 'flag'
        ? [process.execPath, BIN, 'probe', which, '--listen', `0.0.0.0:${PORT}`]
        : ['env', `FRR_SUPERVISOR_LISTEN=0.0.0.0:${PORT}`, process.execPath, BIN, 'probe', which];
    const r = await fx.lab.exec(fx.lab.gwNs, argv, { reject: false });
    assert.equal(r.stderr, '', `nothing on stderr; got ${r.stderr}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `one line; got ${JSON.stringify(r.stdout)}`);
    return { code: r.exitCode ?? -1, out: lines[0] ?? '' };
  }

  /** Both probes agree with /livez and /readyz (asked right before and after, so a state change in between is retried). */
  async function agree(s: SupervisorProcess, want: { live: 200 | 503; ready: 200 | 503 }, what: string): Promise<void> {
    await waitFor(
      async () => {
        const [live, ready] = [(await s.http('/livez')).status, (await s.http('/readyz')).status];
        if (live !== want.live || ready !== want.ready) return false;
        const [pl, pr] = [await probe('live'), await probe('ready')];
        const [live2, ready2] = [(await s.http('/livez')).status, (await s.http('/readyz')).status];
        if (live2 !== live || ready2 !== ready) return false; // the state moved meanwhile: ask again
        assert.equal(pl.code, live === 200 ? 0 : 1, `probe live vs /livez ${live}: ${pl.out}`);
        assert.equal(pr.code, ready === 200 ? 0 : 1, `probe ready vs /readyz ${ready}: ${pr.out}`);
        assert.match(pl.out, new RegExp(`^/livez ${live}: \\S`));
        assert.match(pr.out, new RegExp(`^/readyz ${ready}: \\S`));
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 250, what },
    );
  }

  test('live/ready exit 0/1 as /livez and /readyz answer, in every state', async () => {
    // no valid config yet: alive, not ready
    const s = await fx.start({ files: { ...FILES, 'bgp-conf.yaml': 'localASN: 65002\n' }, args: [...LISTEN, ...FAST] });
    await s.waitForEvent('config_rejected');
    await agree(s, { live: 200, ready: 503 }, 'before the config is applied: live 0, ready 1');
    const notYet = await probe('ready');
    assert.match(notYet.out, /^\/readyz 503: not ready: /);

    // applied, the neighbour Established: both 0 (the address from FRR_SUPERVISOR_LISTEN too, as run reads it)
    s.volume.update(FILES);
    await s.waitForEvent('config_applied');
    await agree(s, { live: 200, ready: 200 }, 'applied and Established: live 0, ready 0');
    for (const which of ['live', 'ready'] as const) {
      const r = await probe(which, 'env');
      assert.equal(r.code, 0, r.out);
    }

    // the peer gone (the gateway's session down): live 0, ready 1
    await fx.router.stopDaemon('bgpd', 'SIGKILL');
    try {
      await agree(s, { live: 200, ready: 503 }, 'the router bgpd killed: live 0, ready 1');
      assert.match((await probe('ready')).out, /none of 1 neighbours is Established/);
    } finally {
      await fx.router.startDaemon('bgpd');
    }
    await agree(s, { live: 200, ready: 200 }, 'the router back: ready 0 again');

    // FRR not answering (the gateway's bgpd stopped): live 1
    const pid = await s.daemonPid('bgpd');
    assert.ok(pid);
    process.kill(pid, 'SIGSTOP');
    try {
      await agree(s, { live: 503, ready: 503 }, 'the gateway bgpd SIGSTOPped: live 1');
      assert.match((await probe('live')).out, /^\/livez 503: FRR did not answer \d+ polls in a row/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await agree(s, { live: 200, ready: 200 }, 'SIGCONT: live 0, ready 0');

    // the supervisor gone: nothing answers, both 1, saying so
    await s.stop();
    for (const which of ['live', 'ready'] as const) {
      const r = await probe(which);
      assert.equal(r.code, 1);
      assert.match(r.out, new RegExp(`no answer from 127\\.0\\.0\\.1:${PORT} \\(ECONNREFUSED\\)`));
    }
  });
});
