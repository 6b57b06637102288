// The one rule every writer follows (CLI train, mitigate, compare, run and the notebook steps): an existing output is
// replaced only when the user asked (`--force`, `force: true`), an output is never its own input whatever the
// spelling (paths are compared after resolving symlinks, `..` and trailing slashes), the target is checked to be
// writable before any work starts, and one lock per output folder keeps two writers apart (outputLock.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE } from '../model/checkpoint';
import { userError } from '../../shared/userError';
import { type OutputLock, lockOutputFolder } from './outputLock';

/** How the caller's user names the output and the permission to replace it (CLI flags or notebook keys). */
export interface OutputWording {
  /** e.g. "choose another --out" */
  other: string;
  /** e.g. "pass --force to replace it" */
  force: string;
  /** The flag or key that names the output, e.g. "--out". */
  flag: string;
}

export const CLI_WORDING: OutputWording = { other: 'choose another --out', force: 'pass --force to replace it',
  flag: '--out' };
export const CELL_WORDING: OutputWording = { other: 'choose another `out:`',
  force: 'add `force: true` to the cell to replace it', flag: '`out:`' };

/**
 * The path with every symlink of its existing part resolved (`..` and trailing slashes normalised); the part that
 * does not exist yet is appended as written. Two spellings of one place give the same string.
 */
export function realPath(p: string): string {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(cur), ...rest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const parent = path.dirname(cur);
      if (parent === cur) return path.resolve(p);
      rest.unshift(path.basename(cur));
      cur = parent;
    }
  }
}

/** Whether `inner` is `outer` or lies under it (both already real paths). */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** Refuses an output that is one of the run's inputs, lies inside one, or holds one. */
export function checkNotOwnInput(out: string, inputs: readonly (string | undefined)[],
  w: OutputWording = CLI_WORDING): void {
  const o = realPath(out);
  for (const input of inputs) {
    if (input === undefined) continue;
    const i = realPath(input);
    const shown = path.resolve(input);
    if (o === i) throw userError(path.resolve(out),
      `is the input ${shown} itself${o !== path.resolve(out) ? ` (it resolves to ${o})`
        : ''}; writing there would overwrite what the run reads: ${w.other}`, 'output');
    if (isWithin(o, i)) throw userError(path.resolve(out),
      `lies inside the input ${shown} (it resolves to ${o}); ${w.other} outside it`, 'output');
    if (isWithin(i, o)) throw userError(path.resolve(out),
      `holds the input ${shown}; replacing it would lose the input: ${w.other}`, 'output');
  }
}

/** Refuses folders whose contents a checkpoint write could damage; names the folder and what to do. */
export function checkOutDir(out: string, force = false, w: OutputWording = CLI_WORDING): void {
  const dir = path.resolve(out);
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw userError(dir, `exists and is not a folder; ${w.other}`, 'output');
  const entries = fs.readdirSync(dir);
  if (entries.length === 0) return;
  if (!entries.includes(MANIFEST_FILE)) throw userError(dir,
    `exists, is not empty and holds no TinyMem checkpoint; ${w.other}`, 'output');
  if (!force) throw userError(dir, `already holds a checkpoint; ${w.other} or ${w.force}`, 'output');
}

/** Refuses a folder that already holds one of `files` (e.g. compare.csv) unless `force`. */
export function checkOutFiles(out: string, files: readonly string[], force = false,
  w: OutputWording = CLI_WORDING): void {
  const dir = path.resolve(out);
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw userError(dir, `exists and is not a folder; ${w.other}`, 'output');
  const there = files.filter((f) => fs.existsSync(path.join(dir, f)));
  if (there.length && !force) throw userError(dir,
    `already holds ${there.join(' and ')} from an earlier run; ${w.other} or ${w.force}`, 'output');
}

/** Proves that new files can be created in `dir` by creating (and removing) one; works for root on read-only mounts
 * too. */
export function checkWritableFolder(dir: string, what: string): void {
  const probe = path.join(dir, `.tinymem-write-probe-${process.pid}-${Date.now()}`);
  try {
    fs.writeFileSync(probe, '', { flag: 'wx' });
  } catch (e) {
    throw userError(dir, `is not writable (${(e as NodeJS.ErrnoException).code ?? 'error'}); ${what}`, 'output');
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

/** Creates the parent of an output folder (or checks an existing one) and checks it is writable. */
function prepareParent(dir: string, w: OutputWording): void {
  const parent = path.dirname(dir);
  try {
    fs.mkdirSync(parent, { recursive: true });
  } catch (e) {
    throw userError(dir, `its folder ${parent} cannot be created (${(e as NodeJS.ErrnoException).code ?? 'error'}); ` +
      `${w.other}`, 'output');
  }
  if (!fs.statSync(parent).isDirectory()) throw userError(dir, `${parent} is not a folder; ${w.other}`, 'output');
  checkWritableFolder(fs.existsSync(dir) && fs.statSync(dir).isDirectory() ? dir : parent, w.other);
}

export interface ClaimOptions {
  /** Replace what an earlier run left there. */
  force?: boolean;
  /** The run's inputs (model folder, data files): the output may not be one of them, inside one, or hold one. */
  inputs?: readonly (string | undefined)[];
  /** 'checkpoint' (default): the folder must be empty, new, or (with force) an earlier TinyMem checkpoint; else the
   * files the run writes there. */
  files?: readonly string[];
  wording?: OutputWording;
  onNote?(message: string): void;
}

export interface ClaimedOutput {
  dir: string;
  /** Gives the folder's lock back; call when the run ends, also on error. */
  release(): void;
}

/**
 * Everything a writer checks before any work starts, in one call: not its own input, writable, locked against other
 * writers, and holding nothing the user did not ask to replace (checked under the lock, so a writer that finished
 * meanwhile is seen). Throws a UserError (kind 'output' or 'locked') naming the folder.
 */
export function claimOutputDir(out: string, o: ClaimOptions = {}): ClaimedOutput {
  const w = o.wording ?? CLI_WORDING;
  const dir = path.resolve(out);
  checkNotOwnInput(dir, o.inputs ?? [], w);
  prepareParent(dir, w);
  const lock: OutputLock = lockOutputFolder(dir, { onNote: o.onNote, flag: w.flag });
  try {
    if (o.files) checkOutFiles(dir, o.files, o.force, w);
    else checkOutDir(dir, o.force, w);
  } catch (e) {
    lock.release();
    throw e;
  }
  return { dir, release: lock.release };
}

/**
 * Checks a file the run will write at the end (`run --out`, `--html`) before anything runs: its folder exists and
 * takes new files, and the path is not a folder. Errors name the path as the user gave it.
 */
export function checkOutFile(file: string, flag: string): string {
  const target = path.resolve(file);
  const parent = path.dirname(target);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) throw userError(file,
    `${flag} names a folder; give a file path such as ${path.join(file, 'out'
    + (flag === '--html' ? '.html' : '.tinymem'))}`, 'output');
  if (!fs.existsSync(parent)) throw userError(file,
    `${flag}: the folder ${parent} does not exist; create it or choose another ${flag}`, 'output');
  if (!fs.statSync(parent).isDirectory()) throw userError(file,
    `${flag}: ${parent} is not a folder; choose another ${flag}`, 'output');
  try {
    checkWritableFolder(parent, `choose another ${flag}`);
  } catch {
    throw userError(file, `${flag}: the folder ${parent} is not writable; choose another ${flag}`, 'output');
  }
  return target;
}
