// One lock per output folder, so that two writers (two `tinymem train --out X`, a notebook cell and a CLI run) can
// never interleave their files. The lock is a small JSON file next to the folder (`.NAME.tinymem-lock` in the same
// parent, so it survives the folder being replaced whole) holding the holder's pid, host and start time. It is
// created atomically (written to a private file, then hard-linked into place, which fails when the lock exists),
// released when the work ends, on error, and at process exit; a lock whose pid is no longer running on this host is
// stale and taken over with a note.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { userError } from '../../shared/userError';
import { pidAlive } from '../../shared/saveLeftovers';
import { asWriteError } from '../../shared/writeError';

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  command?: string;
}

export interface OutputLock {
  /** The lock file. */
  readonly file: string;
  /** Removes the lock file if this process still holds it; safe to call more than once. */
  release(): void;
}

/** Lock files this process holds (removed at exit if a caller never released them). */
const held = new Set<string>();
let exitHook = false;

export function lockFileOf(folder: string): string {
  const dir = path.resolve(folder);
  return path.join(path.dirname(dir), `.${path.basename(dir)}.tinymem-lock`);
}

function readHolder(file: string): { text: string; holder: LockHolder | null } | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(h.pid) && (h.pid as number) > 0 && typeof h.host === 'string') return { text,
      holder: h as LockHolder };
  } catch {
    // An unreadable lock file (truncated, edited) names no holder.
  }
  return { text, holder: null };
}

/**
 * Releases held locks at process exit, and on SIGINT/SIGTERM/SIGHUP when nothing else handles the signal (the
 * signal is then raised again, so the process still ends as it would have). A command with its own handler (train's
 * graceful Ctrl-C) keeps its behaviour; it ends through exit, which releases too.
 */
function releaseAtExit(): void {
  if (exitHook) return;
  exitHook = true;
  const releaseAll = () => {
    for (const f of [...held]) removeIfOurs(f);
  };
  process.on('exit', releaseAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      releaseAll();
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

function removeIfOurs(file: string): void {
  held.delete(file);
  const now = readHolder(file);
  if (now?.holder?.pid === process.pid && now.holder.host === os.hostname()) {
    try {
      fs.unlinkSync(file);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Takes the lock of an output folder (whose parent must exist). Refuses with a message naming the folder and the
 * holder's pid when another live process holds it; takes over a stale one and reports it through `onNote`.
 */
export function lockOutputFolder(folder: string,
  o: { onNote?(message: string): void; flag?: string } = {}): OutputLock {
  const dir = path.resolve(folder);
  const file = lockFileOf(dir);
  const me: LockHolder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(),
    command: process.argv.slice(1).join(' ').slice(0, 300) };
  const text = JSON.stringify(me) + '\n';
  const flag = o.flag ?? '--out';
  for (let attempt = 0; attempt < 4; attempt++) {
    const mine = `${file}.${process.pid}.${Date.now()}.${attempt}`;
    try {
      fs.writeFileSync(mine, text, { flag: 'wx' });
    } catch (e) {
      // A full disk or a foreign folder fails here first: name the output folder, not the lock's private file.
      fs.rmSync(mine, { force: true });
      throw asWriteError(dir, e, 'nothing was written');
    }
    try {
      fs.linkSync(mine, file);
      held.add(file);
      releaseAtExit();
      let released = false;
      return {
        file,
        release: () => {
          if (released) return;
          released = true;
          removeIfOurs(file);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(mine, { force: true });
    }
    const seen = readHolder(file);
    if (!seen) continue; // released between the two calls: try again
    const h = seen.holder;
    if (h && h.host !== me.host) {
      throw userError(dir, `is being written by pid ${h.pid} on host ${h.host} (since ${h.started}); wait for it to ` +
        `finish or choose another ${flag} (if no tinymem runs there any more, remove ${file})`, 'locked');
    }
    if (h && (h.pid === process.pid ? held.has(file) : pidAlive(h.pid))) {
      const who = h.pid === process.pid ? 'another step of this process'
        : `another tinymem (pid ${h.pid}, since ${h.started})`;
      throw userError(dir, `is being written by ${who}; wait for it to finish or choose another ${flag} (if no ` +
        `tinymem is running, remove ${file})`, 'locked');
    }
    // Stale: the holder is gone (or the file names none). Remove it only if it is still the file just read.
    const again = readHolder(file);
    if (again && again.text === seen.text) {
      fs.rmSync(file, { force: true });
      o.onNote?.(h
        ? `${dir}: took over a stale lock of pid ${h.pid} (started ${h.started}), which is no longer running`
        : `${dir}: took over an unreadable lock file ${file}`);
    }
  }
  throw userError(dir, `could not take the lock ${file}: other processes keep taking it; try again`, 'locked');
}
