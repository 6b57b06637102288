// Durable file writes: a new file written and fsynced in one go, and the atomic replace (temp sibling, fsync, rename)
// that every checkpoint, result and notebook write goes through.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { cleanStaleLeftovers, tempSibling } from './saveLeftovers';
import { asWriteError } from './writeError';

/** Writes chunks to a new file (fails if it exists), fsyncs it, and returns its size and content hash. */
export function writeChunksSync(path: string, chunks: readonly Uint8Array[]): { bytes: number; contentHash: string } {
  const hash = createHash('sha256');
  let total = 0;
  const fd = openSync(path, 'wx');
  try {
    for (const chunk of chunks) {
      for (let done = 0; done < chunk.length;) done += writeSync(fd, chunk, done,
        Math.min(chunk.length - done, 1 << 30));
      hash.update(chunk);
      total += chunk.length;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { bytes: total, contentHash: `sha256:${hash.digest('hex')}` };
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directories cannot be opened/fsynced on every platform (Windows); the rename itself is still atomic.
  }
}

/**
 * Atomic write: temp file in the same folder, fsync, rename. Readers see the old file or the new one, never half;
 * a failure names the target (never the temporary name) and removes the temporary file.
 */
export function writeFileAtomicSync(target: string, chunks: readonly Uint8Array[]): { bytes: number;
  contentHash: string; } {
  cleanStaleLeftovers(dirname(target), basename(target));
  const tmp = tempSibling(target, 'tmp');
  let written: { bytes: number; contentHash: string };
  try {
    written = writeChunksSync(tmp, chunks);
    renameSync(tmp, target);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* never created */ }
    throw asWriteError(target, e, `${basename(target)} is unchanged`);
  }
  fsyncDir(dirname(target));
  return written;
}
