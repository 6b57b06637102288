// Bounded reads of files a user names: a file must be a regular file (a FIFO, a device such as /dev/zero or a folder
// would block or never end) and no larger than a limit suited to its kind, both checked BEFORE any byte is read. The
// read itself stops at the limit too, so a file that grows while it is read (or that reports size 0, as /proc files
// do) cannot make it unbounded.
import { type Stats, closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { type UserError, userError } from './userError';

/** The kinds of user files and the most bytes each may hold, with what to do when one is larger. */
export const FILE_LIMITS = {
  config: { bytes: 16 << 20, what: 'a model config (config.json)',
    fix: 'a config.json holds a few KB of fields; restore the model\'s real config.json' },
  tokenizer: { bytes: 128 << 20, what: 'a tokenizer (tokenizer.json)',
    fix: 'real tokenizer.json files are a few MB; restore the model\'s own tokenizer.json' },
  manifest: { bytes: 64 << 20, what: 'a run manifest (tinymem.json)',
    fix: 'restore the tinymem.json that training wrote, or delete it to load the folder as a plain ' +
      'Hugging Face model' },
  index: { bytes: 64 << 20, what: 'a shard index (model.safetensors.index.json)',
    fix: 'restore the index the export wrote' },
  tokens: { bytes: 256 << 20, what: 'a token file',
    fix: 'tinymem uses at most a few thousand sequences: pass a smaller sample' },
  text: { bytes: 256 << 20, what: 'a text file',
    fix: 'tinymem uses at most 1632 chunks of text: pass a smaller sample (e.g. `head -c 10M FILE > sample.txt`)' },
  notebook: { bytes: 256 << 20, what: 'a notebook',
    fix: 'clear large outputs in VS Code or remove them from the file' },
} as const;
export type FileKind = keyof typeof FILE_LIMITS;

/** "1.0 GB", "512 KB": sizes in messages. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device (such as /dev/zero)';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The file's stats after checking it is a regular file (symlinks followed). A missing file rethrows the ENOENT error
 * so callers keep their own "not found" messages.
 */
export function assertRegularFile(file: string, what: string): Stats {
  const st = statSync(file);
  if (!st.isFile()) {
    const fix = st.isDirectory() ? 'give the path of the file itself' : 'replace it with the real file';
    throw userError(file,
      `is ${kindOf(st)}, not a regular file; tinymem reads ${what} only from a regular file: ${fix}`, 'file');
  }
  return st;
}

function tooLarge(file: string, kind: FileKind, size: string): UserError {
  const l = FILE_LIMITS[kind];
  return userError(file, `is ${size}, over the ${formatBytes(l.bytes)} limit for ${l.what}; ${l.fix}`, 'file');
}

/** The bytes of a user file of `kind`, refused before reading when it is not a regular file or is over the limit. */
export function readLimited(file: string, kind: FileKind): Buffer {
  const limit = FILE_LIMITS[kind].bytes;
  const st = assertRegularFile(file, FILE_LIMITS[kind].what);
  if (st.size > limit) throw tooLarge(file, kind, formatBytes(st.size));
  const fd = openSync(file, 'r');
  try {
    // The file may have been swapped between stat and open: check what was opened.
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw userError(file,
      `is ${kindOf(opened)}, not a regular file; replace it with the real file`, 'file');
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (total > limit) throw tooLarge(file, kind, `more than ${formatBytes(limit)}`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A user file of `kind` as UTF-8 text, without a leading byte-order mark. */
export function readTextLimited(file: string, kind: FileKind): string {
  return readLimited(file, kind).toString('utf8').replace(/^\uFEFF/, '');
}
