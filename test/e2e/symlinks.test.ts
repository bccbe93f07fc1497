/**
 * #12 item 7 end to end: links planted (as a compromised bgpd, uid frr, could) in the supervisor's FRR config
 * dir and run dir between two runs of the real `frr-supervisor run` are not followed: their targets are not
 * written or chowned, and the supervisor still applies its config.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab } from '../../lab/lab.ts';
import type { Lab } from '../../lab/lab.ts';
import { startSupervisor } from '../../lab/supervisor-process.ts';
import type { SupervisorProcess } from '../../lab/supervisor-process.ts';
import { docsBgpConf, GW_PREFIX } from '../../lab/configs.ts';

const FILES = {
  'bgp-conf.yaml': docsBgpConf({ hold: '9s', keepalive: '3s', connect: '1s' }),
  'gateway.yaml': `advertise: [${GW_PREFIX}]\n`,
};

describe('planted links in the FRR dirs, against the real supervisor', { timeout: 300_000 }, () => {
  let lab: Lab;
  let sup: SupervisorProcess | undefined;

  before(async () => {
    lab = await createLab();
    await lab.exec(lab.gwNs, ['ip', 'route', 'add', 'blackhole', GW_PREFIX]);
  });
  after(async () => {
    await sup?.cleanup();
    await lab?.cleanup();
  });

  test('vtysh.conf, daemons, frr.conf and the instance run dir: the link targets are not written or chowned', async () => {
    sup = startSupervisor(lab, { files: FILES });
    const s = sup;
    await s.waitForEvent('config_applied', () => true, 30_000);
    assert.equal((await s.stop('SIGTERM')).code, 0);

    // What a compromised daemon could plant before the next start (the Pod's container restarting).
    const victims = join(lab.tmpDir, 'victims');
    mkdirSync(victims);
    const victimFile = join(victims, 'shadow');
    writeFileSync(victimFile, 'precious\n');
    const victimDir = join(victims, 'dir');
    mkdirSync(victimDir, { mode: 0o755 });
    const conf = s.paths.instanceConfigDir;
    for (const name of ['vtysh.conf', 'daemons', 'frr.conf']) {
      rmSync(join(conf, name), { force: true });
      symlinkSync(victimFile, join(conf, name));
    }
    rmSync(s.paths.instanceRunDir, { recursive: true, force: true });
    symlinkSync(victimDir, s.paths.instanceRunDir);

    s.start({ files: FILES });
    await s.waitForEvent('config_applied', () => true, 30_000);
    assert.equal(readFileSync(victimFile, 'utf8'), 'precious\n', 'a file was written through a planted link');
    for (const name of ['vtysh.conf', 'daemons', 'frr.conf'])
      assert.ok(lstatSync(join(conf, name)).isFile(), `${name} is a regular file again`);
    assert.equal(readFileSync(join(conf, 'vtysh.conf'), 'utf8'), 'service integrated-vtysh-config\n');
    assert.equal(statSync(victimDir).uid, 0, 'the run dir link target was chowned to frr');
    assert.deepEqual(readdirSync(victimDir), [], 'pid files or sockets landed in the link target');
    const run = lstatSync(s.paths.instanceRunDir);
    assert.ok(run.isDirectory() && !run.isSymbolicLink(), 'the instance run dir is a real directory again');
    assert.equal(statSync(conf).uid, 0);
  });
});
