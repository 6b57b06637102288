// The engine host process: the extension forks it (child_process.fork) and sends it cells to run, so ONNX Runtime's
// blocking session.run and any native crash stay out of the extension host. It runs each cell with the same
// executors as the headless `tinymem run`, streams progress and outputs back as JSON messages, and stops a cell when
// asked (training stops after the current step and keeps its checkpoint).
process.env.ORT_DISABLE_TELEMETRY = '1';
import { runCellSource } from '../engine/notebook/runCell';
import { describeError } from '../engine/notebook/errors';
import type { NotebookState } from '../engine/notebook/context';
import type { FromEngine, ToEngine } from '../shared/engineProtocol';

const running = new Map<string, AbortController>();

function send(m: FromEngine): void {
  // After the parent has gone there is nobody to tell; exit quietly.
  if (!process.connected) process.exit(0);
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
      runtime: { providers: m.settings.providers, threads: m.settings.threads },
      seed: m.settings.seed,
      signal: ac.signal,
      onProgress: (p) => send({ type: 'progress', id: m.id, message: p.message, fraction: p.fraction, outputs: p.outputs }),
    });
    send({ type: 'done', id: m.id, outputs: r.outputs, provider: r.provider, stopped: r.stopped, state, seconds: (Date.now() - started) / 1000 });
  } catch (e) {
    const d = describeError(e);
    const stopped = ac.signal.aborted;
    send({ type: 'error', id: m.id, message: stopped ? 'Stopped before the step finished; nothing was written.' : d.message, issues: d.issues, stopped, state });
  } finally {
    running.delete(m.id);
  }
}

process.on('message', (raw: unknown) => {
  const m = raw as ToEngine;
  if (m?.type === 'run') void run(m);
  else if (m?.type === 'cancel') running.get(m.id)?.abort();
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
