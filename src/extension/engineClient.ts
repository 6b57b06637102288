// Talks to the engine process: starts it on first use (child_process.fork), sends cells, routes its messages to the
// waiting runs, and reports a crash to every run in flight; the next run then starts a fresh process. Nothing here
// imports vscode, so tests drive it from plain Node.
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

interface Pending {
  resolve(o: RunOutcome): void;
  onProgress(p: { message: string; fraction?: number; outputs?: ViewOutput[] }): void;
  killTimer?: NodeJS.Timeout;
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly checks = new Map<string, (issues: CellIssueData[] | undefined) => void>();
  private readonly exports = new Map<string, (r: { text: string } | { error: string }) => void>();
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
      for (const [id, p] of this.pending) {
        clearTimeout(p.killTimer);
        p.resolve({
          kind: 'crashed',
          message: `The TinyMem engine process ${why} while this cell ran` +
            (signal === 'SIGKILL' && p.killTimer ? ' (it did not stop within the time allowed after Stop)' : '') +
            '. Checkpoints written before stay valid. Run the cell again: a fresh engine process starts. ' +
            'If it happens again, see the "TinyMem" output channel.',
        });
        this.pending.delete(id);
      }
      for (const resolve of this.checks.values()) resolve(undefined);
      this.checks.clear();
      for (const resolve of this.exports.values()) resolve({ error: `the TinyMem engine process ${why}; try again` });
      this.exports.clear();
    });
    this.child = child;
    return child;
  }

  private onMessage(m: FromEngine): void {
    if (m.type === 'ready') return;
    if (m.type === 'checked') {
      this.checks.get(m.id)?.(m.issues);
      this.checks.delete(m.id);
      return;
    }
    if (m.type === 'exported' || m.type === 'exportFailed') {
      this.exports.get(m.id)?.(m.type === 'exported' ? { text: m.text } : { error: m.message });
      this.exports.delete(m.id);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') p.onProgress({ message: m.message, fraction: m.fraction, outputs: m.outputs });
    else {
      clearTimeout(p.killTimer);
      this.pending.delete(m.id);
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
      pending = { resolve, onProgress };
    });
    this.pending.set(id, pending);
    const msg: ToEngine = { type: 'run', id, ...req };
    child.send(msg);
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
    const id = String(this.nextId++);
    const child = this.ensure();
    const msg: ToEngine = { type: 'check', id, source };
    return new Promise((resolve) => {
      this.checks.set(id, resolve);
      child.send(msg);
    });
  }

  /** A notebook exported as a file's text by the engine process (which draws the charts). */
  exportNotebook(format: ExportFormat, notebook: NotebookFile, name: string): Promise<{ text: string } |
    { error: string }> {
    const id = String(this.nextId++);
    const child = this.ensure();
    const msg: ToEngine = { type: 'export', id, format, notebook, name };
    return new Promise((resolve) => {
      this.exports.set(id, resolve);
      child.send(msg);
    });
  }

  dispose(): void {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null) c.kill();
  }
}
