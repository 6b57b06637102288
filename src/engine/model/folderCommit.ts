// One atomic commit of a model folder: how TinyMem checkpoints and edited Hugging Face folders are written, whole.
// Every file goes into a hidden temporary sibling folder (`.NAME.tmp-PID-HEX`, saveLeftovers.ts), each one fsynced;
// the manifest (tinymem.json) is written last and records each file's sha256, size and mtime; the folder is fsynced;
// then it is swapped in: the previous folder is renamed aside (`.NAME.old-PID-HEX`), the new one renamed in, the old
// one removed. A reader sees the previous folder or the new one, never a mix, and a re-save leaves no file of the old
// content. A failed write removes the temporary folder and leaves the previous folder untouched.
//
// On load, verifyFolder checks the manifest's version and the recorded files: a missing file (an incomplete folder),
// a different size or content (changed after the save) or a newer manifest version is refused, naming the file.
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync,
  rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { contentHash } from './safetensors';
import { fsyncDir, writeChunksSync, writeFileAtomicSync } from '../../shared/atomicWrite';
import { cleanStaleLeftovers, staleLeftovers, tempSibling } from '../../shared/saveLeftovers';
import { asWriteError, writeError } from '../../shared/writeError';
import { isObject } from '../../shared/schemaParts';

/** The manifest version this tinymem writes; a manifest with a higher one is refused on load. */
export const MANIFEST_VERSION = 1;
export const MANIFEST_NAME = 'tinymem.json';
/**
 * Files up to this size are re-hashed on every load. Larger ones (weights of real models: sha256 runs at about
 * 1 GB/s here) are re-hashed only when their size or mtime differs from the record, or when asked (verifyHash).
 */
export const ALWAYS_HASH_BYTES = 64 * 1024 * 1024;

export interface FolderFile {
  name: string;
  chunks: readonly Uint8Array[];
}

export interface FileRecord {
  hash: string;
  bytes: number;
  mtimeMs: number;
}

const json = (v: unknown): Uint8Array[] => [Buffer.from(`${JSON.stringify(v, null, 2)}\n`, 'utf8')];

/** The manifest with the records of the files it describes: `contentHashes` (sha256) and `fileStats` (size, mtime). */
function withRecords(manifest: Record<string, unknown>, records: Map<string, FileRecord>): Record<string, unknown> {
  return {
    ...manifest,
    contentHashes: Object.fromEntries([...records].map(([n, r]) => [n, r.hash])),
    fileStats: Object.fromEntries([...records].map(([n, r]) => [n, { bytes: r.bytes, mtimeMs: r.mtimeMs }])),
  };
}

function writeRecorded(file: string, chunks: readonly Uint8Array[]): FileRecord {
  const w = writeChunksSync(file, chunks);
  const fd = openSync(file, 'r');
  try {
    return { hash: w.contentHash, bytes: w.bytes, mtimeMs: fstatSync(fd).mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `files` (and `manifest`, last, as tinymem.json with the files' records) as the folder `dir`, replacing a
 * previous folder there as a whole. Returns the records of the files written.
 */
export function commitFolder(dir: string, files: readonly FolderFile[],
  manifest?: Record<string, unknown>): Map<string, FileRecord> {
  let target = resolve(dir);
  const parent = dirname(target);
  try {
    mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw asWriteError(parent, e);
  }
  // A symlinked folder is replaced where it points, so the link stays.
  if (existsSync(target)) {
    target = realpathSync(target);
    if (!statSync(target).isDirectory()) throw writeError(target,
      'exists and is not a folder; pick a folder path for the checkpoint');
  }
  // Leftovers of killed saves next to the folder (of this folder or its siblings) go first.
  cleanStaleLeftovers(dirname(target));

  const tmp = tempSibling(target, 'tmp');
  const records = new Map<string, FileRecord>();
  const intact = existsSync(target) ? 'the folder\'s previous contents are unchanged' : 'nothing was written';
  try {
    mkdirSync(tmp);
    for (const f of files) {
      if (f.name === MANIFEST_NAME) throw new Error(
        `${MANIFEST_NAME} is written from the manifest argument, not as a file`);
      try {
        records.set(f.name, writeRecorded(join(tmp, f.name), f.chunks));
      } catch (e) {
        throw asWriteError(join(target, f.name), e, intact);
      }
    }
    if (manifest) {
      try {
        writeChunksSync(join(tmp, MANIFEST_NAME), json(withRecords(manifest, records)));
      } catch (e) {
        throw asWriteError(join(target, MANIFEST_NAME), e, intact);
      }
    }
    // The new folder keeps the permissions of the one it replaces.
    if (existsSync(target)) chmodSync(tmp, statSync(target).mode & 0o7777);
    fsyncDir(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw asWriteError(target, e, intact);
  }
  swapIn(tmp, target);
  return records;
}

/**
 * rename(2), retried briefly on Windows, where a folder that another program (a file watcher, an indexer) has open
 * cannot be renamed for a moment (EPERM, EACCES, EBUSY).
 */
function rename(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (process.platform !== 'win32' || attempt >= 20 || !['EPERM', 'EACCES', 'EBUSY'].includes(code ?? '')) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

/** Renames the complete folder `tmp` to `target`, moving a previous folder aside first and removing it after. */
function swapIn(tmp: string, target: string): void {
  const previous = existsSync(target) ? tempSibling(target, 'old') : null;
  try {
    if (previous) rename(target, previous);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw asWriteError(target, e, 'the folder\'s previous contents are unchanged');
  }
  try {
    rename(tmp, target);
  } catch (e) {
    if (previous) rename(previous, target);
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (!previous && (code === 'ENOTEMPTY' || code === 'EEXIST')) {
      throw writeError(target, 'another process created this folder while the checkpoint was being saved; save ' +
        'again or pick another folder');
    }
    throw asWriteError(target, e, previous ? 'the folder\'s previous contents are unchanged' : 'nothing was written');
  }
  fsyncDir(dirname(target));
  try {
    if (previous) rmSync(previous, { recursive: true, force: true });
  } catch {
    // The new folder is in place; a previous one that cannot be removed now (a file held open on Windows) is a
    // leftover the next save next to it removes.
  }
}

/**
 * Rewrites the manifest of a committed folder (e.g. with the metrics of an evaluation), keeping the file records on
 * disk: the one file of the folder that is replaced on its own, atomically.
 */
export function rewriteManifest(dir: string, manifest: Record<string, unknown>): Record<string, unknown> {
  const file = join(resolve(dir), MANIFEST_NAME);
  const onDisk = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const next = { ...manifest, contentHashes: onDisk.contentHashes, fileStats: onDisk.fileStats };
  try {
    writeFileAtomicSync(file, json(next));
  } catch (e) {
    throw asWriteError(file, e, 'the checkpoint itself is unchanged');
  }
  return next;
}

/** Why a folder that is not there may be: a save killed between its renames, or one killed while writing. */
export function missingFolderHint(dir: string): string {
  const target = resolve(dir);
  const left = staleLeftovers(dirname(target), basename(target));
  const old = left.find((l) => l.kind === 'old');
  if (old) return `; a save into it was interrupted: the previous checkpoint is in ${old.path}, rename it back to ` +
    `${basename(target)}`;
  if (left.length > 0) return `; a save into it was interrupted before it finished (${left[
    0]!.path} is its incomplete temporary folder); run the step that writes it again`;
  return '';
}

/** Refuses a manifest newer than this tinymem reads, naming the file, the version and what to do. */
export function checkManifestVersion(manifest: Record<string, unknown>, file: string,
  fail: (message: string) => Error): void {
  const v = manifest.version;
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw fail(
    `"version" must be a positive integer, got ${JSON.stringify(v)}; ` +
      `fix ${MANIFEST_NAME} or save the checkpoint again`);
  if (v > MANIFEST_VERSION) {
    throw fail(`is manifest version ${v}, newer than this tinymem reads (version ${MANIFEST_VERSION}); update ` +
      `tinymem to open this checkpoint, or re-create it with this version`);
  }
}

/**
 * Checks the files a manifest records (contentHashes, fileStats) against the folder. `full` re-hashes every file;
 * otherwise files over ALWAYS_HASH_BYTES whose size and mtime match the record are trusted.
 */
export function verifyFolder(dir: string, manifest: Record<string, unknown>, fail: (file: string, message: string) =>
  Error, full = false): void {
  const root = resolve(dir);
  const manifestFile = join(root, MANIFEST_NAME);
  const hashes = manifest.contentHashes;
  if (hashes === undefined) return;
  if (!isObject(hashes)) throw fail(manifestFile,
    `"contentHashes" must be an object {file: "sha256:…"}, got ${JSON.stringify(hashes)}; ` +
      `fix ${MANIFEST_NAME} or save the checkpoint again`);
  const stats = isObject(manifest.fileStats) ? manifest.fileStats : {};
  for (const [name, recorded] of Object.entries(hashes)) {
    if (typeof recorded !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(recorded) || name !== basename(name)
      || name === '..' || name === '.') {
      throw fail(manifestFile, `contentHashes["${name}"] must name a file of this folder with a "sha256:<64 hex ` +
        `digits>" hash, got ${JSON.stringify(recorded)}; fix ${MANIFEST_NAME} or save the checkpoint again`);
    }
    const file = join(root, name);
    if (!existsSync(file)) {
      throw fail(file, `is missing, but ${MANIFEST_NAME} records it: the folder is incomplete (a save was ` +
        `interrupted, or the file was deleted); run the step that wrote the checkpoint again`);
    }
    const st = statSync(file);
    const rec = stats[name];
    const bytes = isObject(rec) && typeof rec.bytes === 'number' ? rec.bytes : undefined;
    const edited = `was changed after the checkpoint was saved (edited by hand, or written by an interrupted save); ` +
      `run the step that wrote it again, or, to keep the edit, remove "${name}" from contentHashes in ${manifestFile}`;
    if (bytes !== undefined && bytes !== st.size) throw fail(file,
      `has ${st.size} bytes but ${MANIFEST_NAME} records ${bytes}: it ${edited}`);
    const sameStat = bytes === st.size && isObject(rec) && rec.mtimeMs === st.mtimeMs;
    if (!full && sameStat && st.size > ALWAYS_HASH_BYTES) continue;
    const actual = contentHash(file);
    if (actual !== recorded) throw fail(file, `content hash ${actual} differs from ${recorded} recorded in ` +
      `${MANIFEST_NAME}: it ${edited}`);
  }
}
