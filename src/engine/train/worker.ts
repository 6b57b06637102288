// The training worker thread: receives one start message, runs the job with runTraining and posts progress and the
// final state back. The cancel flag lives in shared memory because this thread is blocked inside `session.run` for
// most of its life and would not see a posted message until the run ends.
import { parentPort } from 'node:worker_threads';
import { CONTROL_CANCEL, CONTROL_STEPS, type StartMessage, type TrainState,
  type WorkerEvent } from '../../shared/engineMessages';
import { runTraining } from './trainLoop';
import './tinymemData';

/** The state's buffers, each once: they move to the caller instead of being copied. */
function transferables(s: TrainState): ArrayBuffer[] {
  const bufs = new Set<ArrayBuffer>();
  for (const group of [s.params, s.m, s.v]) for (const a of Object.values(group)) if (
    a.buffer instanceof ArrayBuffer) bufs.add(a.buffer);
  return [...bufs];
}

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread (see startTraining)');

port.once('message', async (msg: StartMessage) => {
  const post = (ev: WorkerEvent, transfer: ArrayBuffer[] = []) => port.postMessage(ev, transfer);
  try {
    if (msg?.type !== 'start') throw new Error(`expected a start message, got ${JSON.stringify(msg?.type)}`);
    const control = new Int32Array(msg.control);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const m of msg.modules ?? []) require(m);
    const out = await runTraining(msg.job, {
      shouldStop: () => Atomics.load(control, CONTROL_CANCEL) !== 0,
      onStep: (n) => Atomics.store(control, CONTROL_STEPS, n),
      onProgress: (p) => post(p),
      onSnapshot: (snap) => post(snap, transferables(snap.state)),
    });
    const transfer = transferables(out.result.state);
    if (out.status === 'done') post({ type: 'done', result: out.result }, transfer);
    else post({ type: 'cancelled', partial: out.result }, transfer);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
});
