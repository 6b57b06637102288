// Progress output for the CLI: a bar on a terminal, a line every few seconds otherwise (logs, CI), and notes.
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number, total: number | null, text: string): void;
  stop(): void;
}

export function progress(label: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} {text}`, stream: process.stderr, hideCursor: true,
        etaBuffer: 50 });
    let started = false;
    return {
      update(done, total, text) {
        if (!started) {
          bar.start(total ?? done + 1, 0, { text: '' });
          started = true;
        }
        if (total !== null) bar.setTotal(total);
        bar.update(done, { text });
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = 0;
  return {
    update(done, total, text) {
      const now = Date.now();
      if (now - last < 5000 && done !== total) return;
      last = now;
      process.stderr.write(`${label} ${done}${total !== null ? `/${total}` : ''} ${text}\n`);
    },
    stop() {},
  };
}

/** A note the engine passes on while it works (e.g. a stale output lock taken over), as one stderr line. */
export const note = (message: string): void => void process.stderr.write(`tinymem: note: ${message}\n`);
