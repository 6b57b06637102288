// Errors of writing a file, named by the file the user asked for (never the hidden temporary name it was staged
// under) with the cause in words and what to do next. ENOSPC, EFBIG, EROFS, EACCES/EPERM and EDQUOT are the faults a
// save meets in practice: a full disk, a file-size limit, a read-only or foreign folder, a quota.
import { type UserError, userError } from './userError';

/** A write error: the file or folder that could not be written, and why. */
export const writeError = (target: string, message: string): UserError => userError(target, message, 'write');

const CAUSES: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC); free some space',
  EDQUOT: 'the disk quota is used up (EDQUOT); free some space',
  EFBIG: 'the file is larger than this process may write (EFBIG: a file-size limit, see `ulimit -f`); raise the limit',
  EROFS: 'the file system is read-only (EROFS)',
  EACCES: 'permission denied (EACCES); check the folder\'s permissions',
  EPERM: 'the operation is not permitted (EPERM); check the folder\'s permissions',
  ENOTDIR: 'a part of the path is a file, not a folder (ENOTDIR)',
  EISDIR: 'a folder is in the way (EISDIR)',
};

/**
 * `e` as a write error naming `target`; `after` is appended (e.g. what stayed intact). Errors that are not file-system
 * errors (a bug, a bad argument) pass through unchanged.
 */
export function asWriteError(target: string, e: unknown, after = ''): unknown {
  if ((e as UserError | undefined)?.kind === 'write') return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  const cause = CAUSES[code] ?? `${(e as Error).message.replace(/,.*$/, '')}`;
  return writeError(target, `cannot be written: ${cause}, or choose another folder${after ? `; ${after}` : ''}`);
}
