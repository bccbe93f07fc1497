/**
 * #12 item 7: root never follows a link a compromised FRR daemon (uid frr) could plant in the directories it
 * can write (the instance run dir, Debian's frr-owned /etc/frr). Each test plants links the way such a daemon
 * could, runs the supervisor's code path, and checks that the link targets were not written, chowned or mounted
 * over. Needs root (chown, mount), as the supervisor does; `npm test` runs as root.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { FrrPaths, lookupUser } from '../../src/frr/paths.ts';
import { writeFileAtomic } from '../../src/supervisor/atomic-write.ts';
import { prepareZebraMountNs, releaseZebraMountNs } from '../../src/frr/zebra-mountns.ts';

const ROOT = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'frrsup-links-'));
const frr = ROOT ? await lookupUser('frr') : { uid: -1, gid: -1 };

async function mountedAt(path: string): Promise<boolean> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').some((l) => l.split(' ')[4] === path);
}

/** A fresh directory owned by frr, like /var/run/frr or Debian's /etc/frr. */
function frrOwnedDir(name: string, mode = 0o755): string {
  const d = join(base, name);
  mkdirSync(d, { mode });
  chownSync(d, frr.uid, frr.gid);
  return d;
}

/** Something of root's the planted links point at. */
function victimDir(name: string): string {
  const d = join(base, name);
  mkdirSync(d, { mode: 0o755 });
  writeFileSync(join(d, 'keep'), 'precious\n');
  return d;
}

describe(
  'no link planted in an frr-writable directory is followed',
  { skip: ROOT ? false : 'needs root (chown, mount), like the supervisor' },
  () => {
    after(() => rmSync(base, { recursive: true, force: true }));

    test('ensureDirs: a symlink at the instance run dir is replaced, its target not chowned to frr', async () => {
      const runDir = frrOwnedDir('run');
      const victim = victimDir('victim-run');
      symlinkSync(victim, join(runDir, 'ps1'));
      const paths = new FrrPaths({ runDir, configDir: join(base, 'etc-run'), pathspace: 'ps1' });
      await paths.ensureDirs();
      assert.equal(statSync(victim).uid, 0, 'the link target was chowned');
      const st = lstatSync(paths.instanceRunDir);
      assert.ok(st.isDirectory() && !st.isSymbolicLink(), 'the instance run dir is a real directory');
      assert.equal(st.uid, frr.uid, 'owned by frr (the daemons write pid files there)');
    });

    test('ensureDirs + writes: a symlink at the instance config dir is replaced; nothing is written at its target', async () => {
      const etc = frrOwnedDir('etc-a', 0o750);
      const victim = victimDir('victim-conf');
      symlinkSync(victim, join(etc, 'ps2'));
      const paths = new FrrPaths({ runDir: join(base, 'run-a'), configDir: etc, pathspace: 'ps2' });
      await paths.ensureDirs();
      await writeFileAtomic(paths.vtyshConf, 'service integrated-vtysh-config\n', 0o644);
      await writeFileAtomic(paths.frrConf, 'frr defaults traditional\n', 0o600);
      assert.deepEqual(readdirSync(victim), ['keep'], 'files were written through the planted link');
      const st = lstatSync(paths.instanceConfigDir);
      assert.ok(st.isDirectory() && !st.isSymbolicLink());
      assert.equal(st.uid, 0);
    });

    test("ensureDirs: an frr-owned config dir (Debian's /etc/frr) becomes root-owned, its group and mode kept but no group write", async () => {
      const etc = frrOwnedDir('etc-b', 0o770);
      const paths = new FrrPaths({ runDir: join(base, 'run-b'), configDir: etc });
      await paths.ensureDirs();
      const st = statSync(etc);
      assert.equal(st.uid, 0);
      assert.equal(st.gid, frr.gid);
      assert.equal(st.mode & 0o777, 0o750);
    });

    test('vtysh.conf, frr.conf, daemons: a link planted at the file name is replaced, its target untouched', async () => {
      const etc = join(base, 'etc-c');
      mkdirSync(etc, { mode: 0o755 });
      const victim = join(victimDir('victim-files'), 'keep');
      for (const name of ['vtysh.conf', 'frr.conf', 'daemons', 'bgpd-boot.conf']) {
        symlinkSync(victim, join(etc, name));
        await writeFileAtomic(join(etc, name), `written ${name}\n`, 0o644);
        assert.equal(readFileSync(victim, 'utf8'), 'precious\n', `${name}: the link target was written`);
        assert.ok(lstatSync(join(etc, name)).isFile(), `${name} is a regular file now`);
        assert.equal(readFileSync(join(etc, name), 'utf8'), `written ${name}\n`);
      }
    });

    test('writes into a directory frr can write are refused (frr could swap the file under the rename)', async () => {
      const etc = frrOwnedDir('etc-d');
      await assert.rejects(
        writeFileAtomic(join(etc, 'frr.conf'), 'x\n'),
        /refusing to write .*frr\.conf: .* is owned by uid \d+, not root/,
      );
      assert.equal(existsSync(join(etc, 'frr.conf')), false);
    });

    test("zebra's mount holder: a symlink planted at zebra-mnt is replaced; its target is not written or mounted over", async () => {
      const runDir = frrOwnedDir('run-z1');
      const victim = victimDir('victim-holder');
      const holder = join(runDir, 'zebra-mnt');
      symlinkSync(victim, holder);
      try {
        const prefix = await prepareZebraMountNs(holder, []);
        assert.equal(prefix[0], 'nsenter');
        assert.deepEqual(readdirSync(victim), ['keep'], 'zebra.mnt or stage/ were created in the link target');
        assert.equal(await mountedAt(victim), false, 'the link target was bind-mounted');
        const st = lstatSync(holder);
        assert.ok(st.isDirectory() && !st.isSymbolicLink());
        assert.equal(st.uid, 0);
        assert.equal(st.mode & 0o777, 0o700);
        assert.equal(await mountedAt(holder), true, 'the holder itself is bind-mounted');
        // zebra can be started in the namespace the prefix names
        await execa(prefix[0], [...prefix.slice(1), 'true']);
      } finally {
        await releaseZebraMountNs(holder);
      }
      assert.equal(await mountedAt(holder), false, 'released');
    });

    test("zebra's mount holder: an frr-owned holder with a planted stage file is not used; the stage link's target is not truncated", async () => {
      const runDir = frrOwnedDir('run-z2');
      const holder = join(runDir, 'zebra-mnt');
      mkdirSync(join(holder, 'stage'), { recursive: true });
      chownSync(holder, frr.uid, frr.gid);
      chownSync(join(holder, 'stage'), frr.uid, frr.gid);
      const victim = join(victimDir('victim-stage'), 'keep');
      const vrf = `fsl${process.pid}z`;
      symlinkSync(victim, join(holder, 'stage', vrf));
      await execa('ip', ['netns', 'add', vrf]);
      try {
        await prepareZebraMountNs(holder, [vrf]);
        assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the stage link target was written');
        assert.equal(lstatSync(holder).uid, 0, 'a fresh root-owned holder');
        assert.ok(lstatSync(join(holder, 'stage', vrf)).isFile(), 'the stage file is a regular file');
        assert.ok(
          readdirSync(runDir).some((n) => n.startsWith('zebra-mnt.untrusted-')),
          "frr's directory was set aside, not deleted",
        );
      } finally {
        await releaseZebraMountNs(holder);
        await execa('ip', ['netns', 'delete', vrf], { reject: false });
      }
    });
  },
);
