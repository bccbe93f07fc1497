/**
 * The VM's base image, built from Debian packages and cached on the machine: a Debian trixie root filesystem
 * (debootstrap --variant=minbase) with Debian's kernel, initrd, FRR 10.7.1 (Debian forky's, pinned as
 * lab/frr107-image/Containerfile does), Node.js and iproute2 installed in it by chroot, made into an ext4 disk image. The cache key is a hash of the recipe (suite, packages, the boot
 * script baked in), so a change to any of them builds a new image; an unchanged recipe reuses the old one.
 *
 * Nothing of the project is in the base image: the project goes in on a second disk at every run (run.ts).
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, existsSync } from 'node:fs';
import { access, chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export const SUITE = 'trixie';

/** Installed in the root filesystem by chroot, no recommends (from trixie, except {@link FORKY_PACKAGES}). */
export const PACKAGES = [
  'linux-image-amd64',
  'initramfs-tools',
  'iproute2',
  'nodejs',
  // the test's own tools: ping for packets across, curl for the HTTP probes from the "node" namespace
  'iputils-ping',
  'curl',
  'procps',
];

/**
 * FRR 10.7.1 from Debian forky on the trixie base, as lab/frr107-image/Containerfile installs it: frr 10.7.1-6 needs
 * libyang5 and liblua5.5-0 (forky only), libyang5 needs libpcre2-8-0 >= 10.47 (trixie has 10.46). The rest stays
 * trixie's (forky is pinned at priority 100, and apt-get runs with `-t trixie`).
 */
export const FORKY_PACKAGES = ['frr/forky', 'libyang5/forky', 'liblua5.5-0/forky', 'libpcre2-8-0/forky'];

/**
 * forky's apt source (the same mirror as the base), pinned low: only what is named `/forky` comes from it. The
 * mirror's forky Release file may be past its Valid-Until date (a frozen mirror): Check-Valid-Until no.
 */
export function forkyApt(mirror: string): { sources: string; preferences: string } {
  return {
    sources: `Types: deb\nURIs: ${mirror}\nSuites: forky\nComponents: main\nCheck-Valid-Until: no\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
    preferences: 'Package: *\nPin: release n=forky\nPin-Priority: 100\n',
  };
}

/**
 * The kernel's init (PID 1): mounts what the test needs and the project disk, then runs the guest script from
 * it. Whatever happens, the VM powers off at the end (qemu runs with -no-reboot and panic=-1).
 */
export const BOOT_SCRIPT = `#!/bin/sh
# frr-supervisor VM test: PID 1 (kernel init=). Baked into the base image by test/vm/image.ts.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mkdir -p /opt/frr-supervisor
if mount -o ro,noload /dev/vdb /opt/frr-supervisor; then
  /bin/bash /opt/frr-supervisor/test/vm/guest/init.sh
  echo "fsvm: guest init exited with $?"
else
  echo "fsvm: cannot mount the project disk /dev/vdb" > /dev/ttyS1
fi
sync
echo o > /proc/sysrq-trigger
sleep 30
`;

export interface BaseImage {
  dir: string;
  image: string;
  kernel: string;
  initrd: string;
  key: string;
}

export type Log = (line: string) => void;

/** The Debian mirror of this machine: the first `URIs:` of /etc/apt/sources.list.d/debian.sources for Debian's main archive. */
export async function debianMirror(file = '/etc/apt/sources.list.d/debian.sources'): Promise<string> {
  const text = await readFile(file, 'utf8');
  for (const m of text.matchAll(/^URIs:\s*(\S+)/gm)) {
    const uri = m[1]!;
    if (!/security/.test(uri)) return uri;
  }
  throw new Error(`no Debian mirror (URIs: line) in ${file}`);
}

export function recipeKey(): string {
  return createHash('sha256')
    .update(JSON.stringify({ SUITE, PACKAGES, FORKY_PACKAGES, forky: forkyApt('MIRROR'), BOOT_SCRIPT, v: 2 }))
    .digest('hex')
    .slice(0, 16);
}

/** Whether an executable named `command` is in PATH or in the sbin directories (root's tools). */
export async function haveCommand(command: string): Promise<boolean> {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((d) => d !== '');
  for (const d of dirs) {
    try {
      await access(join(d, command), fsConstants.X_OK);
      return true;
    } catch {
      // not there
    }
  }
  return false;
}

/** Installs a Debian package when a command it provides is missing (apt-get update first). */
export async function ensureTool(command: string, pkg: string, log: Log): Promise<void> {
  if (await haveCommand(command)) return;
  log(`installing ${pkg} (no ${command})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await execa('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
  await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, stdio: 'inherit' });
}

async function dirBytes(dir: string): Promise<number> {
  const r = await execa('du', ['-sb', dir]);
  return Number(r.stdout.split(/\s/)[0]);
}

/** Runs argv in the chroot with /proc and /sys mounted (debootstrap's /dev is enough); unmounts them whatever happens. */
async function inChroot(root: string, argv: string[], log: Log): Promise<void> {
  const mounts: string[] = [];
  try {
    for (const [what, where, type] of [
      ['proc', 'proc', 'proc'],
      ['sysfs', 'sys', 'sysfs'],
    ] as const) {
      const target = join(root, where);
      await execa('mount', ['-t', type, what, target]);
      mounts.push(target);
    }
    log(`chroot: ${argv.join(' ')}`);
    await execa('chroot', [root, ...argv], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8' },
      extendEnv: false,
      stdout: 'inherit',
      stderr: 'inherit',
    });
  } finally {
    for (const m of mounts.reverse()) await execa('umount', ['-l', m], { reject: false });
  }
}

/**
 * Returns the cached base image for the current recipe, building it first when it is missing. The build goes
 * into a temporary directory beside the cache entry and is renamed into place only when complete.
 */
export async function baseImage(cacheRoot: string, log: Log): Promise<BaseImage> {
  const key = recipeKey();
  const dir = join(cacheRoot, `base-${key}`);
  const result: BaseImage = { dir, image: join(dir, 'root.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), key };
  if (existsSync(join(dir, 'complete'))) {
    log(`base image ${key}: cached in ${dir}`);
    return result;
  }
  await ensureTool('debootstrap', 'debootstrap', log);
  await ensureTool('mkfs.ext4', 'e2fsprogs', log);
  await mkdir(cacheRoot, { recursive: true });
  const work = join(cacheRoot, `build-${key}-${process.pid}`);
  const root = join(work, 'root');
  const started = Date.now();
  try {
    await removeBuildDir(work);
    await mkdir(root, { recursive: true });
    const mirror = await debianMirror();
    log(`base image ${key}: debootstrap --variant=minbase ${SUITE} from ${mirror}`);
    await execa('debootstrap', ['--variant=minbase', SUITE, root, mirror], { stdout: 'ignore', stderr: 'inherit' });
    // No service may start in the chroot (it would run on this machine): invoke-rc.d asks policy-rc.d first.
    const policy = join(root, 'usr/sbin/policy-rc.d');
    await writeFile(policy, '#!/bin/sh\nexit 101\n');
    await chmod(policy, 0o755);
    const forky = forkyApt(mirror);
    await writeFile(join(root, 'etc/apt/sources.list.d/forky.sources'), forky.sources);
    await mkdir(join(root, 'etc/apt/preferences.d'), { recursive: true });
    await writeFile(join(root, 'etc/apt/preferences.d/forky'), forky.preferences);
    await inChroot(root, ['apt-get', 'update', '-qq'], log);
    await inChroot(root, ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', '-t', SUITE, ...PACKAGES, ...FORKY_PACKAGES], log);
    await inChroot(root, ['apt-get', 'clean'], log);
    await rm(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
    await rm(policy, { force: true });
    await writeFile(join(root, 'sbin/fsvm-init'), BOOT_SCRIPT, { mode: 0o755 });
    await writeFile(join(root, 'etc/hostname'), 'fsvm\n');

    const boot = await readdir(join(root, 'boot'));
    const vmlinuz = boot.find((f) => f.startsWith('vmlinuz-'));
    const initrd = boot.find((f) => f.startsWith('initrd.img-'));
    if (vmlinuz === undefined || initrd === undefined) throw new Error(`no kernel or initrd in ${join(root, 'boot')}: ${boot.join(' ')}`);
    const out = join(work, 'out');
    await mkdir(out);
    await execa('cp', [join(root, 'boot', vmlinuz), join(out, 'vmlinuz')]);
    await execa('cp', [join(root, 'boot', initrd), join(out, 'initrd.img')]);

    // ext4 image of the tree: its size plus room for what the test writes (logs, FRR's files).
    const bytes = await dirBytes(root);
    const mib = Math.ceil(bytes / 2 ** 20 + 384);
    log(`base image ${key}: mkfs.ext4 -d (${mib} MiB)`);
    await execa('mkfs.ext4', ['-q', '-F', '-L', 'fsvm-root', '-d', root, join(out, 'root.img'), `${mib}M`]);
    await rm(root, { recursive: true, force: true });
    await writeFile(join(out, 'complete'), `${new Date().toISOString()} built in ${Math.round((Date.now() - started) / 1000)} s\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
    log(`base image ${key}: built in ${Math.round((Date.now() - started) / 1000)} s`);
    return result;
  } finally {
    await removeBuildDir(work);
  }
}

/** Removes a build directory, first unmounting anything still mounted under it (a build killed mid-chroot). */
async function removeBuildDir(work: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '');
  for (const m of mounts.filter((x) => x.startsWith(`${work}/`)).reverse()) await execa('umount', ['-l', m], { reject: false });
  if ((await readFile('/proc/mounts', 'utf8')).includes(`${work}/`)) throw new Error(`${work}: still mounted, not removed`);
  await rm(work, { recursive: true, force: true });
}

/** Removes base images of other recipes (old cache entries) and builds left by a killed run. */
export async function pruneOtherImages(cacheRoot: string, keep: string, log: Log): Promise<void> {
  for (const e of await readdir(cacheRoot).catch(() => [] as string[])) {
    const build = /^build-[0-9a-f]+-(\d+)$/.exec(e);
    if (build && !existsSync(`/proc/${build[1]}`)) {
      log(`removing the unfinished build ${join(cacheRoot, e)}`);
      await removeBuildDir(join(cacheRoot, e));
      continue;
    }
    if (e.startsWith('base-') && e !== `base-${keep}`) {
      const p = join(cacheRoot, e);
      if ((await stat(p)).isDirectory()) {
        log(`removing old base image ${p}`);
        await rm(p, { recursive: true, force: true });
      }
    }
  }
}
