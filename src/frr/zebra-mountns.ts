/**
 * zebra with the netns VRF backend (`-n`) treats every entry of /run/netns as a VRF, other people's
 * namespaces included. It is therefore started in a private mount namespace whose /run/netns is a tmpfs
 * holding only the VRF namespaces, made with util-linux tools (argument arrays, no shell):
 *   HOLDER is bind-mounted on itself with private propagation (like ip-netns does for /run/netns);
 *   `unshare --mount=HOLDER/zebra.mnt --propagation private true` persists a new mount namespace there;
 *   inside it (nsenter --mount): each VRF namespace file is bind-mounted to HOLDER/stage/NAME, a tmpfs is
 *   mounted on /run/netns and each staged file bound back to /run/netns/NAME;
 *   zebra runs as `nsenter --mount=HOLDER/zebra.mnt -- zebra ...` (nsenter execs: the pid is zebra's).
 */
import { mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

const NETNS_DIR = '/run/netns';

async function run(argv: string[]): Promise<void> {
  const [file = '', ...args] = argv;
  const r = await execa(file, args, { reject: false, timeout: 5000, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    const out = (r.stderr || r.stdout).trim();
    // Seen in a container without SYS_CHROOT: setns(CLONE_NEWNS) needs CAP_SYS_CHROOT besides CAP_SYS_ADMIN.
    const hint = /reassociate to namespace 'ns\/mnt' failed: Operation not permitted/.test(out)
      ? ' (entering a mount namespace needs the SYS_CHROOT capability besides SYS_ADMIN: add SYS_CHROOT to the container\'s capabilities for vrfBackend netns, see deploy/gateway.yaml)'
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

/** Prepares the mount namespace and returns the argv prefix that runs zebra inside it. */
export async function prepareZebraMountNs(holder: string, vrfs: readonly string[]): Promise<string[]> {
  await mkdir(join(holder, 'stage'), { recursive: true });
  if (!(await isMountPoint(holder))) await run(['mount', '--bind', holder, holder]);
  await run(['mount', '--make-private', holder]);
  const mnt = join(holder, 'zebra.mnt');
  if (await isMountPoint(mnt)) await run(['umount', '--lazy', mnt]);
  await writeFile(mnt, '');
  // Seen here: the very first `unshare --mount=FILE` after the holder's bind mount can fail with EINVAL
  // (the kernel refusing the nsfs bind); the same call succeeds right after. Retry a couple of times.
  for (let attempt = 1; ; attempt++) {
    try {
      await run(['unshare', `--mount=${mnt}`, '--propagation', 'private', 'true']);
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      await run(['mount', '--make-private', holder]);
    }
  }
  const inside = (argv: string[]): Promise<void> => run(['nsenter', `--mount=${mnt}`, '--', ...argv]);
  for (const vrf of vrfs) {
    const staged = join(holder, 'stage', vrf);
    await writeFile(staged, '');
    await inside(['mount', '--bind', join(NETNS_DIR, vrf), staged]);
  }
  await inside(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'frr-supervisor-netns', NETNS_DIR]);
  for (const vrf of vrfs) {
    await inside(['touch', join(NETNS_DIR, vrf)]);
    await inside(['mount', '--bind', join(holder, 'stage', vrf), join(NETNS_DIR, vrf)]);
  }
  return ['nsenter', `--mount=${mnt}`, '--'];
}

/** Releases the persisted mount namespace (at shutdown). */
export async function releaseZebraMountNs(holder: string): Promise<void> {
  const mnt = join(holder, 'zebra.mnt');
  if (await isMountPoint(mnt)) await run(['umount', '--lazy', mnt]);
  if (await isMountPoint(holder)) await run(['umount', '--lazy', holder]);
}
