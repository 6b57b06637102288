// Live updates (a running cell's output, the status bar) at most once per interval: the first value goes out at once,
// later ones wait for the interval to pass since the last send, and only the latest waiting value is sent, so the
// final state is never lost. Every send goes through `flush`, which records its time, and a value is sent early only
// when a whole interval has passed since then: two sends are never closer than the interval. No vscode here, so
// tests drive it with a fake clock.

/** A running cell's output and the status bar are updated at most this often (2 Hz). */
export const LIVE_UPDATE_MS = 500;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class LiveThrottle<T> {
  private last = -Infinity;
  private timer: unknown;
  private pending: { value: T } | undefined;

  constructor(private readonly intervalMs: number, private readonly send: (value: T) => void,
    private readonly clock: Clock = realClock) {}

  push(value: T): void {
    this.pending = { value };
    if (this.timer !== undefined) return;
    const wait = this.intervalMs - (this.clock.now() - this.last);
    if (wait <= 0) this.flush();
    else this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    this.last = this.clock.now();
    this.send(p.value);
  }

  /** Drops a waiting value (the cell ended: its final output replaces the live one). */
  cancel(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
