/**
 * The external router as FRR 10.3 (Debian trixie) in a container, inside a lab namespace: for the replica lab's EVPN
 * mode, where the lab's own FRR 8.4.4 is a bad router. FRR 8.4.4's zebra loses the router-MAC and next-hop entries
 * of the VTEPs that stay when an ECMP type-5 route changes its set of next hops (FRRouting/frr issue 14108; the
 * fix, "zebra: fix evpn rmac nh list cmp function", PR 13854, reached 9.0): every replica's traffic is then
 * black-holed while one replica restarts. A router that keeps router MACs per next hop is what users peer with
 * (a data-centre switch, or any FRR >= 9.0), so the replica tests that count lost packets in EVPN mode run this one.
 *
 * The image (`localhost/frr-supervisor-lab-router:10.3`) is Debian's frr, iproute2 and nodejs on the debian:trixie-slim
 * base that scripts/image-base.sh makes (no registry); {@link ensureRouterImage} builds it once from
 * lab/router-image/Containerfile and keeps it (a later run reuses it; a changed Containerfile makes a new one). With
 * Node.js it also runs the supervisor from source as a gateway on FRR 10.3 (test/image/frr103.test.ts). The container runs in the namespace
 * (`--network ns:/run/netns/NAME`), privileged (zebra programs the namespace's routes, neighbours and FDB), with
 * /etc/frr from the lab's temp dir (frr.conf, daemons, vtysh.conf) and FRR's own init script. Its name carries the
 * test process's pid; {@link ContainerRouter.stop} removes it, an exit handler removes what is left, and a later
 * run removes containers whose process is gone.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownContainer, podman, ULIMITS } from './podman.ts';
import { pidAlive, waitFor } from './lab.ts';

export const ROUTER_IMAGE = 'localhost/frr-supervisor-lab-router:10.3';
/**
 * FRR 10.7.1 (Debian forky's frr on trixie, lab/frr107-image/Containerfile), with Node.js: the lab's FRR 10.7 router,
 * and the runtime of a supervisor run from the repository's source as the lab's gateway (lab/supervisor-process.ts).
 */
export const FRR107_IMAGE = 'localhost/frr-supervisor-lab-frr:10.7';
/** The lab's container FRR versions: the image and the directory of its Containerfile. */
export const LAB_FRR_IMAGES = {
  '10.3': { image: ROUTER_IMAGE, dir: fileURLToPath(new URL('./router-image/', import.meta.url)) },
  '10.7': { image: FRR107_IMAGE, dir: fileURLToPath(new URL('./frr107-image/', import.meta.url)) },
} as const;
export type LabFrr = keyof typeof LAB_FRR_IMAGES;
const NAME_PREFIX = 'fslrt';

let seq = 0;

/** The label a lab FRR image carries: the hash of the Containerfile it was built from. */
const CONTAINERFILE_LABEL = 'org.frr-supervisor.containerfile';

const containerfileHash = (frr: LabFrr): string =>
  createHash('sha256')
    .update(readFileSync(`${LAB_FRR_IMAGES[frr].dir}Containerfile`))
    .digest('hex')
    .slice(0, 16);

/** Whether a lab FRR image is here and built from its Containerfile as it is now (else {@link ensureRouterImage} builds it). */
export async function routerImageCurrent(frr: LabFrr = '10.3'): Promise<boolean> {
  const { image } = LAB_FRR_IMAGES[frr];
  const have = await podman(['image', 'inspect', '--format', `{{ index .Labels "${CONTAINERFILE_LABEL}" }}`, image], { reject: false });
  return have.exitCode === 0 && have.stdout.trim() === containerfileHash(frr);
}

/**
 * Builds a lab FRR image when it is missing or was built from another version of its Containerfile (the 10.3 one
 * about 16 s, the 10.7 one about 16 s with Debian's mirror reachable; both on the debian:trixie-slim base of
 * scripts/image-base.sh). Returns its FRR version ("10.3", "10.7.1").
 */
export async function ensureRouterImage(frr: LabFrr = '10.3'): Promise<string> {
  const { image, dir } = LAB_FRR_IMAGES[frr];
  if (!(await routerImageCurrent(frr))) {
    const want = containerfileHash(frr);
    const label = ['--label', `${CONTAINERFILE_LABEL}=${want}`];
    const r = await podman(['build', '--network', 'host', '--pull=never', ...ULIMITS.slice(0, 2), ...label, '-t', image, dir], {
      reject: false,
      timeoutMs: 900_000,
    });
    if (r.exitCode !== 0) throw new Error(`building ${image} failed:\n${`${r.stdout}\n${r.stderr}`.split('\n').slice(-30).join('\n')}`);
  }
  const v = await podman(['run', '--rm', ...ULIMITS, '--network', 'none', '--entrypoint', '/usr/lib/frr/zebra', image, '--version']);
  return /version (\S+)/.exec(v.stdout)?.[1] ?? 'unknown';
}

/** Removes router containers left by test processes that are gone (a killed run). */
export async function sweepRouterContainers(): Promise<void> {
  const r = await podman(['ps', '-a', '--format', '{{.Names}}'], { reject: false });
  for (const name of r.stdout.split('\n')) {
    const pid = Number(new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!pidAlive(pid)) await podman(['rm', '-f', '-t', '0', name], { reject: false });
  }
}

/**
 * `vtysh --dryrun` of every golden rendering (test/golden/NAME/frr.conf) in a container of a lab FRR image, and of a
 * config with a bad line: `ok NAME` or `FAIL NAME` (with vtysh's output) per golden, then `bad rejected` (or
 * `bad accepted`).
 */
export async function dryrunGoldens(frr: LabFrr, goldenDir: string): Promise<string[]> {
  const r = await podman([
    'run',
    '--rm',
    ...ULIMITS,
    '--network',
    'none',
    '-v',
    `${goldenDir}:/g:ro`,
    '--entrypoint',
    '/bin/sh',
    LAB_FRR_IMAGES[frr].image,
    '-c',
    'for d in /g/*/; do vtysh --dryrun -f "$d/frr.conf" >/tmp/out 2>&1 && echo "ok $(basename "$d")" || { echo "FAIL $(basename "$d")"; cat /tmp/out; }; done; ' +
      "printf 'router bgp 1\\n no such command\\n' >/tmp/bad.conf; vtysh --dryrun -f /tmp/bad.conf >/dev/null 2>&1 && echo 'bad accepted' || echo 'bad rejected'",
  ]);
  return r.stdout.trim().split('\n');
}

export interface ContainerRouterOptions {
  /** The lab namespace the router runs in. */
  ns: string;
  /** frr.conf. */
  config: string;
  /** Daemons besides zebra, mgmtd and staticd (default bgpd). */
  daemons?: Array<'bgpd' | 'bfdd'>;
  /** A directory of the lab's (its temp dir) for /etc/frr. */
  dir: string;
  /** The FRR version (default 10.3; {@link ensureRouterImage} first). */
  frr?: LabFrr;
  /** Shell commands run in the container before FRR starts (e.g. a VRF namespace: {@link evpnVrfRouter}). */
  prelude?: string;
  /** More zebra options (e.g. `-n`, the netns VRF backend). */
  zebraOptions?: string;
}

/** FRR 10.3 (or 10.7) in a container in a lab namespace; `vtysh()` as the lab's own FRR instances have it. */
export class ContainerRouter {
  private constructor(
    readonly name: string,
    readonly ns: string,
  ) {}

  static async start(o: ContainerRouterOptions): Promise<ContainerRouter> {
    await sweepRouterContainers();
    const name = ownContainer(`${NAME_PREFIX}${process.pid}-${seq++}`);
    const etc = join(o.dir, `${name}-etc`);
    await mkdir(etc, { recursive: true });
    const daemons = new Set(o.daemons ?? ['bgpd']);
    await writeFile(join(etc, 'frr.conf'), o.config);
    await writeFile(join(etc, 'vtysh.conf'), 'service integrated-vtysh-config\n');
    await writeFile(
      join(etc, 'daemons'),
      [
        `bgpd=${daemons.has('bgpd') ? 'yes' : 'no'}`,
        `bfdd=${daemons.has('bfdd') ? 'yes' : 'no'}`,
        'staticd=yes',
        'vtysh_enable=yes',
        `zebra_options=" -A 127.0.0.1 -s 90000000${o.zebraOptions ? ` ${o.zebraOptions}` : ''}"`,
        'mgmtd_options=" -A 127.0.0.1"',
        'bgpd_options=" -A 127.0.0.1"',
        'staticd_options=" -A 127.0.0.1"',
        'bfdd_options=" -A 127.0.0.1"',
        '',
      ].join('\n'),
    );
    const router = new ContainerRouter(name, o.ns);
    // FRR's init script starts the daemons (watchfrr keeps them) and loads frr.conf; the container then idles.
    await podman([
      'run',
      '-d',
      '--name',
      name,
      ...ULIMITS,
      '--privileged',
      '--network',
      `ns:/run/netns/${o.ns}`,
      '-v',
      `${etc}:/etc/frr`,
      '--entrypoint',
      '/bin/sh',
      LAB_FRR_IMAGES[o.frr ?? '10.3'].image,
      '-c',
      `set -e\n${o.prelude ?? ''}\n/usr/lib/frr/frrinit.sh start && exec sleep infinity`,
    ]);
    try {
      await waitFor(async () => (await router.vtysh('show bgp summary json').catch(() => '')).includes('{'), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `FRR ${o.frr ?? '10.3'} router ${name} answering vtysh`,
      });
    } catch (e) {
      const logs = await podman(['logs', name], { reject: false });
      await router.stop();
      throw new Error(`${(e as Error).message}\ncontainer output:\n${`${logs.stdout}\n${logs.stderr}`.split('\n').slice(-20).join('\n')}`, {
        cause: e,
      });
    }
    return router;
  }

  /** Runs vtysh commands in the container (one invocation) and returns stdout. */
  async vtysh(cmds: string[] | string): Promise<string> {
    const list = Array.isArray(cmds) ? cmds : [cmds];
    const r = await podman(['exec', this.name, 'vtysh', ...list.flatMap((c) => ['-c', c])], { reject: false, timeoutMs: 30_000 });
    if (r.exitCode !== 0)
      throw new Error(`vtysh ${list.join('; ')} in ${this.name} failed (exit ${r.exitCode ?? '?'}): ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** Runs a shell command line in the container (e.g. `ip` in its VRF namespace); rejects on a non-zero exit. */
  async sh(script: string): Promise<string> {
    return (await podman(['exec', this.name, 'sh', '-ec', script], { timeoutMs: 30_000 })).stdout;
  }

  /** Removes the container (its daemons die with it). Idempotent. */
  async stop(): Promise<void> {
    await podman(['rm', '-f', '-t', '2', this.name], { reject: false });
  }
}
