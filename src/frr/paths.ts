// Where one FRR instance keeps its files, and the path-related command-line flags its daemons and vtysh need.
//
// FRR facts this module encodes (FRR 8.4.4):
// - With `-N NAME` the daemons and vtysh use RUNDIR/NAME for sockets and CONFDIR/NAME for configuration.
// - When the run dir is not the compiled-in default (/var/run/frr), every daemon needs `--vty_socket DIR` (the
//   daemons take DIR literally, the pathspace is NOT appended) and `-z DIR/zserv.api` (zebra: where to listen;
//   staticd/bgpd: where to find zebra). vtysh also takes `--vty_socket`, but vtysh DOES append the pathspace,
//   so it is given the base run dir.
// - Even with `--vty_socket`, the daemons create an (empty) /var/run/frr/NAME directory for a pathspace.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { DaemonName } from './daemon.ts';
import { ensureDir, isRoot, openDirNoFollow } from './safe-fs.ts';

/** FRR's compiled-in defaults on Debian. */
export const FRR_DEFAULT_BIN_DIR = '/usr/lib/frr';
export const FRR_DEFAULT_CONFIG_DIR = '/etc/frr';
export const FRR_DEFAULT_RUN_DIR = '/var/run/frr';

/** Options of {@link FrrPaths}; every field has FRR's default. */
export interface FrrPathsOptions {
  binDir?: string;
  configDir?: string;
  runDir?: string;
  /** FRR pathspace (`-N`); must be a single path component. */
  pathspace?: string;
}

/** Options of {@link FrrPaths.ensureDirs}. */
export interface EnsureDirsOptions {
  /** passwd file used to find user `frr` (default /etc/passwd). */
  passwdFile?: string;
  /** User that must own the instance run dir (default `frr`). */
  user?: string;
}

const PATHSPACE_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Computed paths and path flags of one FRR instance. Pure except for {@link FrrPaths.ensureDirs}. */
export class FrrPaths {
  readonly binDir: string;
  readonly configDir: string;
  readonly runDir: string;
  readonly pathspace: string | undefined;

  constructor(opts: FrrPathsOptions = {}) {
    this.binDir = opts.binDir ?? FRR_DEFAULT_BIN_DIR;
    this.configDir = opts.configDir ?? FRR_DEFAULT_CONFIG_DIR;
    this.runDir = opts.runDir ?? FRR_DEFAULT_RUN_DIR;
    this.pathspace = opts.pathspace === '' ? undefined : opts.pathspace;
    if (this.pathspace !== undefined && (!PATHSPACE_RE.test(this.pathspace) || this.pathspace.startsWith('.'))) {
      throw new Error(`invalid FRR pathspace ${JSON.stringify(this.pathspace)} (letters, digits, _ . - only)`);
    }
  }

  /** True when the run dir differs from FRR's compiled-in default, so socket flags must be passed. */
  get customRunDir(): boolean {
    return this.runDir.replace(/\/+$/, '') !== FRR_DEFAULT_RUN_DIR;
  }

  /** The directory holding this instance's sockets and pid files (runDir/pathspace with a pathspace). */
  get instanceRunDir(): string {
    return this.pathspace === undefined ? this.runDir : join(this.runDir, this.pathspace);
  }

  /** The directory vtysh reads frr.conf and vtysh.conf from (configDir/pathspace with a pathspace). */
  get instanceConfigDir(): string {
    return this.pathspace === undefined ? this.configDir : join(this.configDir, this.pathspace);
  }

  /** The value for vtysh's `--config_dir` (vtysh appends the pathspace itself). */
  get vtyshConfigDir(): string {
    return this.configDir;
  }

  /** The integrated config file `vtysh -b` pushes. */
  get frrConf(): string {
    return join(this.instanceConfigDir, 'frr.conf');
  }

  /** vtysh's own config file (should hold `service integrated-vtysh-config`). */
  get vtyshConf(): string {
    return join(this.instanceConfigDir, 'vtysh.conf');
  }

  /** zebra's ZAPI socket. */
  get zservSocket(): string {
    return join(this.instanceRunDir, 'zserv.api');
  }

  /** The daemon's executable. */
  binary(name: DaemonName): string {
    return join(this.binDir, name);
  }

  /** The daemon's pid file (`-i`). */
  pidFile(name: DaemonName): string {
    return join(this.instanceRunDir, `${name}.pid`);
  }
  /**
   * Removes the daemons' pid files (at shutdown, after they stopped). Never throws: what cannot be removed (a
   * directory planted at the name, a permission problem) is returned, one line each, for the caller to log.
   */
  async removePidFiles(names: readonly DaemonName[]): Promise<string[]> {
    const problems: string[] = [];
    for (const name of names) {
      const file = this.pidFile(name);
      try {
        await unlink(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT')
          problems.push(`${file}: ${code === 'EISDIR' || code === 'EPERM' ? 'is not a file' : (err as Error).message}`);
      }
    }
    return problems;
  }

  /** The daemon's vty socket (what vtysh connects to). */
  vtySocket(name: DaemonName): string {
    return join(this.instanceRunDir, `${name}.vty`);
  }

  /** Path flags for a daemon: `-N`, `-i PIDFILE`, and `--vty_socket` / `-z` when the run dir is not the default. */
  daemonArgs(name: DaemonName): string[] {
    const args: string[] = [];
    if (this.pathspace !== undefined) args.push('-N', this.pathspace);
    args.push('-i', this.pidFile(name));
    if (this.customRunDir) args.push('--vty_socket', this.instanceRunDir, '-z', this.zservSocket);
    return args;
  }

  /** Path flags for vtysh: `-N`, `--vty_socket` (base run dir, when not default) and `--config_dir`. */
  vtyshArgs(): string[] {
    const args: string[] = [];
    if (this.pathspace !== undefined) args.push('-N', this.pathspace);
    if (this.customRunDir) args.push('--vty_socket', this.runDir);
    args.push('--config_dir', this.vtyshConfigDir);
    return args;
  }

  /**
   * Creates the run dir (the instance run dir owned by user `frr`, which the daemons need to write pid files
   * and sockets) and the instance config dir, and removes stale sockets (`*.vty`, `zserv.api` that no process
   * answers on) from the instance run dir. Sockets a live daemon answers on are left alone.
   *
   * As root, nothing is done through a link a daemon (uid frr) could have planted (src/frr/safe-fs.ts): the
   * directories are chowned through an O_NOFOLLOW descriptor, a symlink at the instance run or config dir's
   * name in a directory others can write is replaced by a real directory, and the instance config dir (frr.conf
   * with the password, daemons, vtysh.conf, bgpd-boot.conf: written by root) is made root-owned and writable
   * only by root (Debian's /etc/frr is frr:frr; its group keeps read access).
   */
  async ensureDirs(opts: EnsureDirsOptions = {}): Promise<void> {
    const firstCreated = await mkdir(this.runDir, { recursive: true });
    await mkdir(dirname(this.instanceConfigDir), { recursive: true });
    const owner = isRoot() ? await lookupUser(opts.user ?? 'frr', opts.passwdFile) : undefined;
    if (owner && firstCreated !== undefined && this.instanceRunDir !== this.runDir) {
      const dir = await openDirNoFollow(this.runDir);
      await dir.chown(owner.uid, owner.gid).finally(() => dir.close());
    }
    await (await ensureDir(this.instanceRunDir, owner ?? {})).close();
    await (await ensureDir(this.instanceConfigDir, owner ? { uid: 0, clearModeBits: 0o022 } : {})).close();
    await removeStaleSockets(this.instanceRunDir);
  }
}

/** uid/gid of a user, read from a passwd-format file (no shell, no NSS). Throws when the user is missing. */
export async function lookupUser(user: string, passwdFile = '/etc/passwd'): Promise<{ uid: number; gid: number }> {
  const text = await readFile(passwdFile, 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 4) {
      const uid = Number(f[2]);
      const gid = Number(f[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    }
  }
  throw new Error(`user ${user} not found in ${passwdFile} (is FRR installed?)`);
}

/** Resolves true when a unix socket accepts a connection within timeoutMs (the connection is closed at once). */
export function socketAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Removes `*.vty` and `zserv.api` sockets in dir that nothing answers on; returns the removed paths. */
export async function removeStaleSockets(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.endsWith('.vty') && entry !== 'zserv.api') continue;
    const p = join(dir, entry);
    if (await socketAnswers(p, 300)) continue;
    try {
      await unlink(p);
      removed.push(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return removed;
}
