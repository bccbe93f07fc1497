/**
 * Files and directories the supervisor (root) creates where an FRR daemon (uid frr) can write: the instance run
 * dir is frr-owned (the daemons write pid files and sockets there), and Debian's /etc/frr is frr-owned. A
 * compromised daemon could plant symlinks there for root to follow. Nothing here follows one:
 * - a directory is opened with O_DIRECTORY|O_NOFOLLOW and checked with fstat (owner, type, mode);
 * - what is inside it is reached through /proc/PID/fd/N/NAME: the directory that was checked, whatever its name
 *   points to a moment later;
 * - files are created with O_CREAT|O_EXCL|O_NOFOLLOW (a link at the name fails instead of being followed);
 * - something that should be a root-owned directory but is not (a symlink, a file, another owner's directory)
 *   is unlinked or moved aside, never deleted recursively (a recursive delete can be steered through links).
 */
import { constants as C } from 'node:fs';
import type { Stats } from 'node:fs';
import { lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Opens a directory; a symlink at its name is an error (ELOOP/ENOTDIR), not followed. */
export function openDirNoFollow(path: string): Promise<FileHandle> {
  return open(path, DIR_FLAGS);
}

/** The path of an open directory (or of NAME inside it) that resolves through the descriptor, not the name. */
export function fdPath(dir: FileHandle, name?: string): string {
  const base = `/proc/${process.pid}/fd/${dir.fd}`;
  return name === undefined ? base : `${base}/${name}`;
}

/**
 * Why root must not trust a directory (another owner, or writable by group or others: they could plant links
 * or swap files in it); undefined when it is a root-owned directory only root can write.
 */
export function untrustedDirReason(st: Stats): string | undefined {
  if (!st.isDirectory()) return 'not a directory';
  if (st.uid !== 0) return `owned by uid ${st.uid}, not root`;
  if ((st.mode & 0o022) !== 0) return `writable by group or others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Removes what is at path without following it: a non-directory is unlinked, a directory renamed aside. */
async function setAside(path: string, st: Stats): Promise<void> {
  if (st.isDirectory()) await rename(path, `${path}.untrusted-${randomBytes(4).toString('hex')}`);
  else await unlink(path);
}

/**
 * Makes path a real directory owned by root and writable only by root (mode `mode`), and returns it open.
 * Whatever else is there (a symlink, a file, a directory of another owner or writable by others) is set aside
 * first. The parent directory must exist.
 */
export async function ensureRootDir(path: string, mode: number): Promise<FileHandle> {
  const st = await lstatOrUndefined(path);
  if (st && (st.isSymbolicLink() || untrustedDirReason(st) !== undefined)) await setAside(path, st);
  try {
    await mkdir(path, { mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const dir = await openDirNoFollow(path);
  try {
    const got = await dir.stat();
    const why = untrustedDirReason(got);
    if (why) throw new Error(`${path} is ${why} (it changed while it was being created)`);
    if ((got.mode & 0o7777) !== mode) await dir.chmod(mode);
    return dir;
  } catch (e) {
    await dir.close();
    throw e;
  }
}

/**
 * Makes path a real directory (a symlink there is replaced by one) and returns it open, with the owner and
 * mode given when they differ (fchown/fchmod on the open directory, never through a name).
 */
export async function ensureDir(path: string, opts: { uid?: number; gid?: number; clearModeBits?: number } = {}): Promise<FileHandle> {
  const st = await lstatOrUndefined(path);
  // A symlink root placed (its directory is writable by root only) is the admin's: followed, and its target is
  // then treated like the directory itself. One in a directory others can write may be a trap: replaced.
  const trustedLink = st?.isSymbolicLink() === true && untrustedDirReason(await stat(dirname(path))) === undefined;
  if (st && !st.isDirectory() && !trustedLink) await setAside(path, st);
  try {
    await mkdir(path, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const dir = trustedLink ? await open(path, C.O_RDONLY | C.O_DIRECTORY) : await openDirNoFollow(path);
  try {
    const got = await dir.stat();
    if ((opts.uid !== undefined && got.uid !== opts.uid) || (opts.gid !== undefined && got.gid !== opts.gid))
      await dir.chown(opts.uid ?? got.uid, opts.gid ?? got.gid);
    if (opts.clearModeBits !== undefined && (got.mode & opts.clearModeBits) !== 0) await dir.chmod(got.mode & 0o7777 & ~opts.clearModeBits);
    return dir;
  } catch (e) {
    await dir.close();
    throw e;
  }
}

/** Creates (or keeps) an empty regular file NAME in an open directory, never following a link at that name. */
export async function ensureEmptyFile(dir: FileHandle, name: string, mode = 0o600): Promise<void> {
  const path = fdPath(dir, name);
  const st = await lstatOrUndefined(path);
  if (st && !st.isFile()) await setAside(path, st);
  const fh = await open(path, C.O_WRONLY | C.O_CREAT | C.O_NOFOLLOW, mode);
  await fh.close();
}
