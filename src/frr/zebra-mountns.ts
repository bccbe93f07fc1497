/**
 * zebra with the netns VRF backend (`-n`) treats every entry of /run/netns as a VRF, other people's
 * namespaces included. It is therefore started in a private mount namespace whose /run/netns is a tmpfs
 * holding only the VRF namespaces, made with util-linux tools (argument arrays, no shell):
 *   HOLDER is bind-mounted on itself with private propagation (like ip-netns does for /run/netns);
 *   `unshare --mount=HOLDER/zebra.mnt --propagation private true` persists a new mount namespace there;
 *   inside it (nsenter --mount): each VRF namespace file is bind-mounted to HOLDER/stage/NAME, a tmpfs is
 *   mounted on /run/netns and each staged file bound back to /run/netns/NAME;
 *   zebra runs as `nsenter --mount=HOLDER/zebra.mnt -- zebra ...` (nsenter execs: the pid is zebra's).
 *
 * HOLDER lives in the instance run dir, which user frr owns (the daemons write there): a compromised daemon
 * could plant links there. So HOLDER is a root-owned 0700 directory, re-created when it is anything else
 * (src/frr/safe-fs.ts); the supervisor's own mount commands reach it through an open descriptor
 * (/proc/PID/fd/N, with `--no-canonicalize`, so mount(8) does not resolve it back to a name); once bind-mounted
 * on itself it cannot be renamed or replaced (EBUSY), and the bind is checked to be that same directory.
 * zebra.mnt and the stage files are created O_NOFOLLOW inside it. The descriptor stays open while zebra may be
 * started with it (until releaseZebraMountNs).
 */
import type { FileHandle } from 'node:fs/promises';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { childEnv } from '../child-env.ts';
import { ensureEmptyFile, ensureRootDir, fdPath, openDirNoFollow } from './safe-fs.ts';

const NETNS_DIR = '/run/netns';

async function run(argv: string[]): Promise<void> {
  const [file = '', ...args] = argv;
  const r = await execa(file, args, { reject: false, timeout: 5000, stdin: 'ignore', extendEnv: false, env: childEnv() });
  if (r.exitCode !== 0) {
    const out = (r.stderr || r.stdout).trim();
    // Seen in a container without SYS_CHROOT: setns(CLONE_NEWNS) needs CAP_SYS_CHROOT besides CAP_SYS_ADMIN.
    const hint = /reassociate to namespace 'ns\/mnt' failed: Operation not permitted/.test(out)
      ? " (entering a mount namespace needs the SYS_CHROOT capability besides SYS_ADMIN: add SYS_CHROOT to the container's capabilities for vrfBackend netns, see deploy/reference-gateway.yaml)"
      : '';
    throw new Error(`preparing zebra's mount namespace: ${argv.join(' ')} failed (exit ${String(r.exitCode)}): ${out}${hint}`);
  }
}

/** Whether a path is a mount point (compared after resolving symlinks: /var/run is /run). */
async function isMountPoint(path: string): Promise<boolean> {
  const real = await realpath(path).catch(() => path);
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === real);
}

/** Each prepared holder, open (inside its bind mount), by its path. */
const holders = new Map<string, FileHandle>();

/** Prepares the mount namespace and returns the argv prefix that runs zebra inside it. */
export async function prepareZebraMountNs(holder: string, vrfs: readonly string[]): Promise<string[]> {
  await holders.get(holder)?.close();
  holders.delete(holder);
  let dir = await ensureRootDir(holder, 0o700);
  try {
    // Mounts go through the open directory (/proc/self/fd/N) where the kernel allows it; some container runtimes
    // refuse a mount on such a path ("wrong fs type": seen in the image test), and then the holder is mounted by
    // name: ensureRootDir just made it a root-owned 0700 directory, and the check below compares it after the mount.
    let byName = false;
    if (!(await isMountPoint(fdPath(dir)))) {
      try {
        await run(['mount', '--no-canonicalize', '--bind', fdPath(dir), fdPath(dir)]);
      } catch {
        byName = true;
        await run(['mount', '--no-canonicalize', '--bind', holder, holder]);
      }
      // The descriptor is below the new mount: open the mount by name, and make sure it is the same directory
      // (from now on the name cannot be renamed or replaced: it is a mount point).
      const mounted = await openDirNoFollow(holder);
      const [was, is] = [await dir.stat(), await mounted.stat()];
      await dir.close();
      dir = mounted;
      if (was.dev !== is.dev || was.ino !== is.ino)
        throw new Error(`preparing zebra's mount namespace: ${holder} was replaced while it was being bind-mounted`);
    }
    let h = byName ? holder : fdPath(dir);
    try {
      await run(['mount', '--no-canonicalize', '--make-private', h]);
    } catch (e) {
      if (byName) throw e;
      // an earlier prepare mounted it by name in such a runtime
      byName = true;
      h = holder;
      await run(['mount', '--no-canonicalize', '--make-private', h]);
    }
    const mnt = byName ? join(holder, 'zebra.mnt') : fdPath(dir, 'zebra.mnt');
    if (await isMountPoint(mnt)) await run(['umount', '--no-canonicalize', '--lazy', mnt]);
    await ensureEmptyFile(dir, 'zebra.mnt');
    // Seen here: `unshare --mount=FILE` right after the holder's bind mount can fail with EINVAL (the kernel
    // refusing the nsfs bind), a few times in a row under load (a CI run saw three immediate retries fail); a later
    // call succeeds. Retry with a growing pause (0.1 s doubling, about 3 s in all) before giving up.
    for (let attempt = 1; ; attempt++) {
      try {
        await run(['unshare', `--mount=${mnt}`, '--propagation', 'private', 'true']);
        break;
      } catch (e) {
        if (attempt >= 6) throw e;
        await sleep(100 * 2 ** (attempt - 1));
        await run(['mount', '--no-canonicalize', '--make-private', h]);
      }
    }
    // Inside zebra's namespace the supervisor's descriptor is of another mount: paths are by name there (what a
    // renamed run dir could misdirect stays inside zebra's private mount namespace).
    const inside = (argv: string[]): Promise<void> => run(['nsenter', `--mount=${mnt}`, '--', ...argv]);
    const stage = await ensureRootDir(fdPath(dir, 'stage'), 0o700);
    try {
      for (const vrf of vrfs) {
        await ensureEmptyFile(stage, vrf);
        await inside(['mount', '--bind', join(NETNS_DIR, vrf), join(holder, 'stage', vrf)]);
      }
    } finally {
      await stage.close();
    }
    await inside(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'frr-supervisor-netns', NETNS_DIR]);
    for (const vrf of vrfs) {
      await inside(['touch', join(NETNS_DIR, vrf)]);
      await inside(['mount', '--bind', join(holder, 'stage', vrf), join(NETNS_DIR, vrf)]);
    }
    holders.set(holder, dir);
    return ['nsenter', `--mount=${mnt}`, '--'];
  } catch (e) {
    await dir.close();
    throw e;
  }
}

/** Releases the persisted mount namespace (at shutdown). */
export async function releaseZebraMountNs(holder: string): Promise<void> {
  const dir = holders.get(holder);
  holders.delete(holder);
  if (!dir) {
    // never prepared by this process (a leftover): by name, as before
    const mnt = join(holder, 'zebra.mnt');
    if (await isMountPoint(mnt)) await run(['umount', '--lazy', mnt]);
    if (await isMountPoint(holder)) await run(['umount', '--lazy', holder]);
    return;
  }
  try {
    const mnt = fdPath(dir, 'zebra.mnt');
    if (await isMountPoint(mnt)) await run(['umount', '--no-canonicalize', '--lazy', mnt]);
    if (await isMountPoint(fdPath(dir))) await run(['umount', '--no-canonicalize', '--lazy', fdPath(dir)]);
  } finally {
    await dir.close();
  }
}
