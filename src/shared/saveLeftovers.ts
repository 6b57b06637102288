// The hidden names a save works under, next to its target: `.NAME.tmp-PID-HEX` (a file or folder being written) and
// `.NAME.old-PID-HEX` (the previous folder, moved aside while the new one is renamed in). A killed save leaves them
// behind; they are never checkpoints, and the next save next to them removes those whose process is gone.
// Earlier versions staged new folders as `.NAME.tmp-XXXXXX` (mkdtemp, no process id): such a folder is taken for a
// leftover only when it holds nothing but checkpoint files and is older than this process.
import { randomBytes } from 'node:crypto';
import { type Dirent, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const LEFTOVER = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]{8}$/;
const LEGACY_TMP = /^\.(.+)\.tmp-[A-Za-z0-9]{6}$/;

/** What a save's hidden name stands for (pid null: an earlier version's folder), or null when `name` is not one. */
export function parseLeftover(name: string): { target: string; kind: 'tmp' | 'old'; pid: number | null } | null {
  const m = LEFTOVER.exec(name);
  if (m) return { target: m[1]!, kind: m[2] as 'tmp' | 'old', pid: Number(m[3]) };
  const legacy = LEGACY_TMP.exec(name);
  return legacy ? { target: legacy[1]!, kind: 'tmp', pid: null } : null;
}

/** True for the temporary files and folders of a save. */
export const isSaveLeftover = (name: string): boolean => parseLeftover(name) !== null;

/** Whether a process with this pid runs on this machine (EPERM: it runs under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const CHECKPOINT_FILES = new Set(['config.json', 'model.safetensors', 'tinymem.json', 'masks.safetensors',
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']);

/** A hidden sibling name for `target` owned by this process. */
export function tempSibling(target: string, kind: 'tmp' | 'old'): string {
  return join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** An earlier version's staging folder: only checkpoint files inside, last changed before this process started. */
function staleLegacyFolder(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() && st.mtimeMs < performance.timeOrigin
      && readdirSync(path).every((f) => CHECKPOINT_FILES.has(f));
  } catch {
    return false;
  }
}

/**
 * A leftover is stale when its process is gone, or when it is this process's own: saves run synchronously, so one
 * found before a save starts is from an earlier save of this process that failed.
 */
const stale = (pid: number): boolean => pid === process.pid || !pidAlive(pid);

/** The stale leftovers in `dir` (of saves to `dir/of` only, when `of` is given). */
export function staleLeftovers(dir: string, of?: string): { path: string; target: string; kind: 'tmp' | 'old' }[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: { path: string; target: string; kind: 'tmp' | 'old' }[] = [];
  for (const e of entries) {
    const l = parseLeftover(e.name);
    if (!l || (of !== undefined && l.target !== of)) continue;
    if (l.pid === null ? staleLegacyFolder(join(dir, e.name)) : stale(l.pid)) out.push(
      { path: join(dir, e.name), target: l.target, kind: l.kind });
  }
  return out;
}

/**
 * Removes the stale leftovers in `dir` (of saves to `dir/of` only, when `of` is given). A moved-aside previous folder
 * (`old`) is kept while its target is missing: a save killed between its two renames left the previous checkpoint
 * only there.
 */
export function cleanStaleLeftovers(dir: string, of?: string): void {
  for (const l of staleLeftovers(dir, of)) {
    if (l.kind === 'old' && !existsSync(join(dir, l.target))) continue;
    try {
      rmSync(l.path, { recursive: true, force: true });
    } catch {
      // best effort: a leftover that cannot be removed now is tried again by the next save
    }
  }
}
