/**
 * Writes a file atomically with a private mode from creation: temp file (0600, O_EXCL) + fsync + rename.
 * Never through a symlink: the directory is opened O_NOFOLLOW and the temp file and the rename go through that
 * descriptor (src/frr/safe-fs.ts); a link planted at the file's name is replaced, not followed (rename). As root,
 * a directory that another user can write is refused: that user could swap the file under the rename.
 */
import { constants as C } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fdPath, isRoot, openDirNoFollow, untrustedDirReason } from '../frr/safe-fs.ts';

export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  await (await stageFileAtomic(path, text, mode)).commit();
}

/** A file written in full beside its final name: `commit` renames it into place, `discard` removes it. */
export interface StagedFile {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * The first half of writeFileAtomic: the temp file written and synced (a full disk, a bad directory fail here), the
 * rename left for later. The change drain stages frr.conf before it withdraws anything (issue 26, defect 7).
 */
export async function stageFileAtomic(path: string, text: string, mode = 0o600): Promise<StagedFile> {
  const dirName = dirname(path);
  const dir = await openDirNoFollow(dirName).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ELOOP' || e.code === 'ENOTDIR'
      ? new Error(`refusing to write ${path}: ${dirName} is not a directory (a symlink?)`)
      : e;
  });
  const tmp = fdPath(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fh;
  try {
    if (isRoot()) {
      const why = untrustedDirReason(await dir.stat());
      if (why) throw new Error(`refusing to write ${path}: ${dirName} is ${why}; it must be a root-owned directory only root can write`);
    }
    fh = await open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
    await fh.writeFile(text, 'utf8');
    await fh.sync();
    await fh.close();
    fh = undefined;
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    await dir.close();
    throw e;
  }
  let done = false;
  const finish = async (f: () => Promise<void>): Promise<void> => {
    if (done) return;
    done = true;
    try {
      await f();
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    } finally {
      await dir.close();
    }
  };
  return {
    commit: () => finish(() => rename(tmp, fdPath(dir, basename(path)))),
    discard: () => finish(() => rm(tmp, { force: true })),
  };
}
