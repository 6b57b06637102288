// The engine host process: the extension forks it (child_process.fork) and sends it cells to run, so ONNX Runtime's
// blocking session.run and any native crash stay out of the extension host. It runs each cell with the same
// executors as the headless `tinymem run`, streams progress and outputs back as JSON messages, and stops a cell when
// asked (training stops after the current step and keeps its checkpoint). It also checks cells as they are typed,
// so the editor's diagnostics come from the engine's own validator without the extension host loading the engine.
process.env.ORT_DISABLE_TELEMETRY = '1';
import { runCellSource } from '../engine/notebook/runCell';
import { describeError } from '../engine/notebook/errors';
import { parseStep } from '../engine/notebook/parseStep';
import { checkProviders } from '../engine/runtime/providers';
import type { NotebookState } from '../engine/notebook/context';
import { exportNotebook } from '../engine/report/exportNotebook';
import type { CellIssueData, FromEngine, ToEngine } from '../shared/engineProtocol';

const running = new Map<string, AbortController>();

function send(m: FromEngine): void {
  // After the parent has gone there is nobody to tell (shutDown exits once the running cells have finished).
  if (!process.connected) return;
  process.send!(m);
}

async function run(m: Extract<ToEngine, { type: 'run' }>): Promise<void> {
  const ac = new AbortController();
  running.set(m.id, ac);
  const state: NotebookState = { ...m.state };
  const started = Date.now();
  try {
    const r = await runCellSource(m.source, {
      baseDir: m.baseDir,
      workspaceDir: m.workspaceDir,
      allowOutsideWorkspace: m.settings.allowOutsideWorkspace === true,
      state,
      runtime: { providers: checkProviders(m.settings.providers, 'tinymem.executionProviders'),
        threads: m.settings.threads, stepsPerRun: m.settings.stepsPerRun },
      seed: m.settings.seed,
      signal: ac.signal,
      onProgress: (p) => send({ type: 'progress', id: m.id, message: p.message, fraction: p.fraction,
        outputs: p.outputs, provider: p.provider }),
    });
    send({ type: 'done', id: m.id, outputs: r.outputs, provider: r.provider, stopped: r.stopped, state,
      seconds: (Date.now() - started) / 1000 });
  } catch (e) {
    const d = describeError(e);
    const stopped = ac.signal.aborted;
    send({ type: 'error', id: m.id, message: stopped ? 'Stopped before the step finished; nothing was written.'
      : d.message, issues: d.issues, stopped, state });
  } finally {
    running.delete(m.id);
  }
}

/** A cell's problems as it is typed. A validator that throws must not take the running cells down: running the cell
 *  reports what went wrong. */
function check(source: string): CellIssueData[] {
  try {
    return parseStep(source).issues;
  } catch {
    return [];
  }
}

/** Exports a notebook; a failure is reported to the one request, never taking running cells down. */
async function exportFile(m: Extract<ToEngine, { type: 'export' }>): Promise<void> {
  try {
    send({ type: 'exported', id: m.id, text: await exportNotebook(m.notebook, m.format, m.name) });
  } catch (e) {
    send({ type: 'exportFailed', id: m.id, message: describeError(e).message });
  }
}

/** Longest wait for running cells to stop (training stops within one step and saves) before exiting anyway. */
const SHUTDOWN_GRACE_MS = 60_000;
let shuttingDown = false;

/**
 * SIGTERM, or the extension going away, stops like Stop: every running cell is aborted (training ends after its
 * current step and writes a valid checkpoint marked incomplete), and the process exits once they have finished.
 */
function shutDown(): void {
  if (shuttingDown) return;
  shuttingDown = true;
  for (const ac of running.values()) ac.abort();
  const started = Date.now();
  const poll = setInterval(() => {
    if (running.size === 0 || Date.now() - started > SHUTDOWN_GRACE_MS) {
      clearInterval(poll);
      process.exit(0);
    }
  }, 50);
}

process.on('message', (raw: unknown) => {
  const m = raw as ToEngine;
  if (m?.type === 'run' && !shuttingDown) void run(m);
  else if (m?.type === 'cancel') running.get(m.id)?.abort();
  else if (m?.type === 'check') send({ type: 'checked', id: m.id, issues: check(m.source) });
  else if (m?.type === 'export') void exportFile(m);
});
process.on('disconnect', shutDown);
process.on('SIGTERM', shutDown);
send({ type: 'ready', pid: process.pid });
