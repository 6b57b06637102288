// Talks to the engine process: starts it on first use (child_process.fork), sends cells, routes its messages to the
// waiting runs, and reports a crash to every run in flight; the next run then starts a fresh process. `restart` ends
// the process on purpose (its runs end with a message saying so). Listeners see every run start, report progress and
// end (the status bar). Nothing here imports vscode, so tests drive it from plain Node.
import { type ChildProcess, fork } from 'node:child_process';
import type { CellIssueData, EngineSettings, ExportFormat, FromEngine, NotebookStateData,
  ToEngine } from '../shared/engineProtocol';
import type { NotebookFile } from '../shared/notebookFormat';
import type { ViewOutput } from '../shared/viewPayloads';

export interface EngineClientOptions {
  /** dist/engineProcess.js (or src/worker/engineProcess.ts with execArgv ['--import', 'tsx'] in tests). */
  modulePath: string;
  execArgv?: string[];
  /** Seconds to wait after Stop before the process is killed (a step that never checks for Stop). */
  killAfterStopSeconds?: number;
  log?(line: string): void;
}

export interface RunRequest {
  /** Where the run comes from, for the status bar (e.g. "cell 2"); not sent to the engine. */
  label?: string;
  source: string;
  baseDir: string;
  /** The folder the cell's paths must stay in (default: baseDir). */
  workspaceDir?: string;
  state: NotebookStateData;
  settings: EngineSettings;
}

export type RunOutcome =
  | { kind: 'done'; outputs: ViewOutput[]; provider: string; stopped: boolean; state: NotebookStateData;
    seconds: number; }
  | { kind: 'error'; message: string; issues?: CellIssueData[]; stopped: boolean; state: NotebookStateData }
  | { kind: 'crashed'; message: string };

export interface RunHandle {
  readonly outcome: Promise<RunOutcome>;
  cancel(): void;
}

export interface RunProgress {
  message: string;
  fraction?: number;
  outputs?: ViewOutput[];
  provider?: string;
}

/** What the engine is doing, for the status bar: a run started, reported progress, or ended. */
export type EngineActivity =
  | { kind: 'start'; id: string; source: string; label?: string }
  | { kind: 'progress'; id: string; progress: RunProgress }
  | { kind: 'end'; id: string };

interface Pending {
  child: ChildProcess;
  resolve(o: RunOutcome): void;
  onProgress(p: RunProgress): void;
  killTimer?: NodeJS.Timeout;
}

/** How a run ends when the user restarts the engine under it. */
export const RESTARTED_MESSAGE = 'Stopped: the TinyMem engine was restarted (TinyMem: Restart Engine) while this ' +
  'cell ran. Checkpoints written before stay valid; run the cell again to run it in the fresh engine.';
/** After a restart, how long the old process has to stop its cells (training saves its checkpoint) before SIGKILL. */
const RESTART_GRACE_MS = 3000;

export class EngineClient {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Checks and exports waiting for their one answer; `answer(undefined)` when their process goes. */
  private readonly requests = new Map<string, { child: ChildProcess; answer(m: FromEngine | undefined): void }>();
  private readonly listeners = new Set<(a: EngineActivity) => void>();
  private nextId = 1;
  /** How many processes were started (a crash makes the next run start another). */
  starts = 0;

  constructor(private readonly o: EngineClientOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private ensure(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null
      && this.child.connected) return this.child;
    this.starts++;
    const child = fork(this.o.modulePath, [], {
      execArgv: this.o.execArgv ?? [],
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1', ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    child.stdout?.on('data', (d: Buffer) => this.o.log?.(d.toString().trimEnd()));
    child.stderr?.on('data', (d: Buffer) => this.o.log?.(d.toString().trimEnd()));
    child.on('message', (m: FromEngine) => this.onMessage(m));
    child.on('error', (e) => this.o.log?.(`engine process error: ${e.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const why = signal ? `was killed (${signal})` : `exited with code ${code}`;
      this.o.log?.(`engine process ${child.pid} ${why}`);
      this.endRuns(child, (p) => `The TinyMem engine process ${why} while this cell ran` +
        (signal === 'SIGKILL' && p.killTimer ? ' (it did not stop within the time allowed after Stop)' : '') +
        '. Checkpoints written before stay valid. Run the cell again: a fresh engine process starts. ' +
        'If it happens again, see the "TinyMem" output channel.');
    });
    this.child = child;
    return child;
  }

  /** Ends the runs, checks and exports of `child` (which has gone, or is going): each run with `message(run)`. */
  private endRuns(child: ChildProcess, message: (p: Pending) => string): void {
    for (const [id, p] of this.pending) {
      if (p.child !== child) continue;
      clearTimeout(p.killTimer);
      this.pending.delete(id);
      this.emit({ kind: 'end', id });
      p.resolve({ kind: 'crashed', message: message(p) });
    }
    for (const [id, r] of this.requests) {
      if (r.child !== child) continue;
      this.requests.delete(id);
      r.answer(undefined);
    }
  }

  private emit(a: EngineActivity): void {
    for (const l of this.listeners) l(a);
  }

  /** Calls `listener` on every run's start, progress and end; returns the unsubscribe function. */
  onActivity(listener: (a: EngineActivity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs in flight. */
  get running(): number {
    return this.pending.size;
  }

  private onMessage(m: FromEngine): void {
    if (m.type === 'ready') return;
    if (m.type === 'checked' || m.type === 'exported' || m.type === 'exportFailed') {
      this.requests.get(m.id)?.answer(m);
      this.requests.delete(m.id);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      const progress = { message: m.message, fraction: m.fraction, outputs: m.outputs, provider: m.provider };
      this.emit({ kind: 'progress', id: m.id, progress });
      p.onProgress(progress);
    } else {
      clearTimeout(p.killTimer);
      this.pending.delete(m.id);
      this.emit({ kind: 'end', id: m.id });
      if (m.type === 'done') p.resolve({ kind: 'done', outputs: m.outputs, provider: m.provider, stopped: m.stopped,
        state: m.state, seconds: m.seconds });
      else p.resolve({ kind: 'error', message: m.message, issues: m.issues, stopped: m.stopped, state: m.state });
    }
  }

  run(req: RunRequest, onProgress: Pending['onProgress']): RunHandle {
    const id = String(this.nextId++);
    const child = this.ensure();
    let pending!: Pending;
    const outcome = new Promise<RunOutcome>((resolve) => {
      pending = { child, resolve, onProgress };
    });
    this.pending.set(id, pending);
    const { label, ...rest } = req;
    const msg: ToEngine = { type: 'run', id, ...rest };
    child.send(msg);
    this.emit({ kind: 'start', id, source: req.source, label });
    return {
      outcome,
      cancel: () => {
        if (!this.pending.has(id) || pending.killTimer) return;
        const c: ToEngine = { type: 'cancel', id };
        if (child.connected) child.send(c);
        const secs = this.o.killAfterStopSeconds ?? 30;
        pending.killTimer = setTimeout(() => {
          if (this.pending.has(id) && this.child === child) child.kill('SIGKILL');
        }, secs * 1000);
      },
    };
  }

  /** The problems the engine's validator finds in a cell; undefined when the process went away first. */
  check(source: string): Promise<CellIssueData[] | undefined> {
    return this.request({ type: 'check', id: String(this.nextId++), source },
      (m) => (m?.type === 'checked' ? m.issues : undefined));
  }

  /**
   * Ends the engine process now; the next run or check starts a fresh one. Its running cells end at once with
   * RESTARTED_MESSAGE; the process gets SIGTERM (running training stops after its step and saves its checkpoint) and
   * SIGKILL if it has not exited within a few seconds. Returns whether a process was running.
   */
  restart(): boolean {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return false;
    this.o.log?.(`restarting: ending engine process ${c.pid}`);
    this.endRuns(c, () => RESTARTED_MESSAGE);
    const kill = setTimeout(() => c.kill('SIGKILL'), RESTART_GRACE_MS);
    c.once('exit', () => clearTimeout(kill));
    c.kill('SIGTERM');
    return true;
  }

  /** A notebook exported as a file's text by the engine process (which draws the charts). */
  exportNotebook(format: ExportFormat, notebook: NotebookFile, name: string): Promise<{ text: string } |
    { error: string }> {
    return this.request({ type: 'export', id: String(this.nextId++), format, notebook, name }, (m) => {
      if (m?.type === 'exported') return { text: m.text };
      if (m?.type === 'exportFailed') return { error: m.message };
      return { error: 'the TinyMem engine process ended during the export; try again' };
    });
  }

  /** Sends `msg` to the engine process and resolves with `result` of its answer (undefined: the process went). */
  private request<T>(msg: ToEngine & { id: string }, result: (m: FromEngine | undefined) => T): Promise<T> {
    const child = this.ensure();
    return new Promise((resolve) => {
      this.requests.set(msg.id, { child, answer: (m) => resolve(result(m)) });
      child.send(msg);
    });
  }

  dispose(): void {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null) c.kill();
  }
}
