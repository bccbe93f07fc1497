/**
 * `npm run test:vm`: the kernel VRF backend end to end, in a VM with Debian's kernel (this machine's kernel has
 * no VRF devices).
 *
 * 1. The base image (Debian trixie, its kernel, FRR 10.7.1 from forky, Node 20), built once and cached (image.ts).
 * 2. The project on a second disk: dist/ compiled from the sources here, bin/, frr-templates/, the production
 *    node_modules, and test/vm/guest/ (the test that runs inside).
 * 3. qemu under software emulation (KVM fails on this machine kind), no network device at all, the root disk
 *    in snapshot mode (the cached image is never written). The guest's console (ttyS0) is shown here with a
 *    `vm| ` prefix; the test's results come back on a second serial port (ttyS1) as `ok N - ...` /
 *    `not ok N - ...` lines and a final `fsvm-exit CODE`.
 * 4. Exit 0 only when the guest finished, reported no failure and at least one check passed.
 *
 * Environment: FRRSUP_VM_CACHE (default /var/cache/frr-supervisor/vm), FRRSUP_VM_TIMEOUT_S (default 2400),
 * FRRSUP_VM_SMP (default 1), FRRSUP_VM_KEEP=1 keeps the run's temporary directory.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { baseImage, ensureTool, pruneOtherImages } from './image.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE = process.env.FRRSUP_VM_CACHE ?? '/var/cache/frr-supervisor/vm';
const TIMEOUT_S = Number(process.env.FRRSUP_VM_TIMEOUT_S ?? 2400);
const SMP = process.env.FRRSUP_VM_SMP ?? '1';
const MEM_MIB = 1536;

const t0 = Date.now();
function log(line: string): void {
  console.log(`[test:vm +${((Date.now() - t0) / 1000).toFixed(0)}s] ${line}`);
}

/** The project as the VM sees it on /dev/vdb (mounted read-only at /opt/frr-supervisor). */
async function stageProject(stage: string): Promise<void> {
  log('staging the project: tsc -> dist/, production node_modules');
  await mkdir(stage, { recursive: true });
  await execa(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], {
    cwd: REPO,
    stdio: 'inherit',
  });
  for (const p of ['bin', 'frr-templates', 'package.json', 'package-lock.json', 'test/vm/guest']) {
    await cp(join(REPO, p), join(stage, p), { recursive: true });
  }
  await cp(join(REPO, 'node_modules'), join(stage, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  await execa('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: stage,
    stdout: 'ignore',
    stderr: 'inherit',
  });
  if (!existsSync(join(stage, 'dist/cli/main.js'))) throw new Error('staging: dist/cli/main.js was not built');
}

async function projectDisk(stage: string, img: string): Promise<void> {
  const du = await execa('du', ['-sb', stage]);
  const mib = Math.ceil(Number(du.stdout.split(/\s/)[0]) / 2 ** 20 + 64);
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'fsvm-proj', '-d', stage, img, `${mib}M`]);
}

interface Outcome {
  passed: string[];
  failed: string[];
  exit: number | undefined;
  timedOut: boolean;
  qemuCode: number | undefined;
}

async function boot(base: Awaited<ReturnType<typeof baseImage>>, projImg: string, work: string): Promise<Outcome> {
  const results = join(work, 'results.txt');
  const consoleLog = join(work, 'console.log');
  const argv = [
    '-accel',
    'tcg,thread=multi',
    '-cpu',
    'max',
    '-m',
    String(MEM_MIB),
    '-smp',
    SMP,
    '-nographic',
    '-no-reboot',
    '-nic',
    'none',
    '-snapshot',
    '-kernel',
    base.kernel,
    '-initrd',
    base.initrd,
    '-drive',
    `file=${base.image},format=raw,if=virtio`,
    '-drive',
    `file=${projImg},format=raw,if=virtio,readonly=on`,
    '-serial',
    'mon:stdio',
    '-serial',
    `file:${results}`,
    '-append',
    'root=/dev/vda rw console=ttyS0 init=/sbin/fsvm-init quiet panic=-1 net.ifnames=0',
  ];
  log(`booting: qemu-system-x86_64 ${argv.join(' ')}`);
  const qemu = execa('qemu-system-x86_64', argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, cleanup: true });
  const out = createWriteStream(consoleLog);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    log(`timeout after ${TIMEOUT_S} s: killing qemu (pid ${String(qemu.pid)})`);
    qemu.kill('SIGKILL');
  }, TIMEOUT_S * 1000);
  const pump = async (stream: NodeJS.ReadableStream | null): Promise<void> => {
    if (!stream) return;
    for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
      // eslint-disable-next-line no-control-regex
      const line = raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
      out.write(`${line}\n`);
      console.log(`vm| ${line}`);
    }
  };
  const onSignal = (): void => {
    qemu.kill('SIGKILL');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await Promise.all([pump(qemu.stdout), pump(qemu.stderr)]);
    const r = await qemu;
    const text = existsSync(results) ? await readFile(results, 'utf8') : '';
    const lines = text.split(/\r?\n/);
    const passed = lines.filter((l) => /^ok \d+/.test(l));
    const failed = lines.filter((l) => /^not ok \d+/.test(l));
    const m = /^fsvm-exit (\d+)/m.exec(text);
    return { passed, failed, exit: m ? Number(m[1]) : undefined, timedOut, qemuCode: r.exitCode };
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    out.end();
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('test:vm must run as root (debootstrap, chroot, mkfs)');
    return 1;
  }
  await ensureTool('qemu-system-x86_64', 'qemu-system-x86', log);
  await ensureTool('mkfs.ext4', 'e2fsprogs', log);
  const base = await baseImage(CACHE, log);
  await pruneOtherImages(CACHE, base.key, log);
  const work = await mkdtemp(join(tmpdir(), 'fsvm-'));
  try {
    const stage = join(work, 'stage');
    await stageProject(stage);
    const projImg = join(work, 'project.img');
    await projectDisk(stage, projImg);
    await rm(stage, { recursive: true, force: true });
    const bootStart = Date.now();
    const o = await boot(base, projImg, work);
    log(`VM ran ${Math.round((Date.now() - bootStart) / 1000)} s (qemu exit ${String(o.qemuCode)})`);
    for (const l of [...o.passed, ...o.failed]) console.log(l);
    const problems: string[] = [];
    if (o.timedOut) problems.push(`the VM did not finish within ${TIMEOUT_S} s`);
    if (o.exit === undefined) problems.push('the guest test reported no exit status (crashed or never ran)');
    else if (o.exit !== 0) problems.push(`the guest test exited ${o.exit}`);
    if (o.failed.length > 0) problems.push(`${o.failed.length} check(s) failed`);
    if (o.passed.length === 0) problems.push('no check passed');
    console.log(`${o.passed.length} passed, ${o.failed.length} failed`);
    for (const p of problems) console.error(`test:vm: ${p}`);
    log(`total ${Math.round((Date.now() - t0) / 1000)} s`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    if (process.env.FRRSUP_VM_KEEP === '1') log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((e: unknown) => {
  console.error(`test:vm: ${(e as Error).stack ?? String(e)}`);
  return 1;
});
