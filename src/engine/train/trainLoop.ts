// The training loop: `runTraining` runs a job in the calling thread (CLI, tests, and the worker itself);
// `startTraining` runs it in a worker thread, because `session.run` blocks its thread for a whole step. Progress
// streams back as events; cancel() is honoured between steps and returns the state reached so far.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Rng, deriveSeed } from '../data/rng';
import { Runtime } from '../runtime/session';
import { disableOrtTelemetry } from '../runtime/ort';
import {
  CONTROL_CANCEL,
  CONTROL_SLOTS,
  CONTROL_STEPS,
  type StartMessage,
  type TrainJob,
  type TrainProgress,
  type TrainResult,
  type TrainSnapshot,
  type TrainState,
  type WorkerEvent,
} from '../../shared/engineMessages';
import { getModel } from './models';
import { openDataSource } from './dataSources';
import { type StepResult, Trainer, type TrainStepSpec } from './trainStep';
import { getRegularizer, resolveHyperParams } from '../methods/registry';
import type { TrainingRegularizer } from '../methods/types';
// The regularizers a job may name register themselves on import (here, so that in-process runs have them too).
import '../methods/regularizers/index';

export type TrainOutcome = { status: 'done'; result: TrainResult } | { status: 'cancelled'; result: TrainResult };

export interface LoopHooks {
  onProgress?(p: TrainProgress): void;
  /** Checked before every step (every group of runtime.stepsPerRun steps); true ends the run with the state reached
   *  so far. */
  shouldStop?(): boolean;
  /** Called after every step with the number of steps done in this run. */
  onStep?(steps: number): void;
  /** Reuse a runtime (and its compiled sessions); by default one is made from `job.runtime` and disposed after. */
  runtime?: Runtime;
  /** Receives the copies asked for by `job.snapshotEvery`. */
  onSnapshot?(s: TrainSnapshot): void;
}

/** A deep copy of a state (the trainer's arrays may move to another thread or be reused). */
export function copyState(s: TrainState): TrainState {
  const copy = (g: Record<string, Float32Array>) =>
    Object.fromEntries(Object.entries(g).map(([k, a]) => [k, a.slice()]));
  return { params: copy(s.params), m: copy(s.m), v: copy(s.v), step: s.step };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function checkJob(job: TrainJob): void {
  if (!job || typeof job !== 'object') throw new Error('the training job is missing');
  if (typeof job.model?.name !== 'string') throw new Error('model.name: expected the name of a registered model');
  if (!isCount(job.seed)) throw new Error(`seed: expected a non-negative integer, got ${job.seed}`);
  if (!isCount(job.batchSize) || job.batchSize === 0) throw new Error(
    `batchSize: expected a positive integer, got ${job.batchSize}`);
  if ((job.steps === undefined) === (job.epochs === undefined)) throw new Error(
    'steps, epochs: give exactly one of them');
  if (job.steps !== undefined && !isCount(job.steps)) throw new Error(
    `steps: expected a non-negative integer, got ${job.steps}`);
  if (job.epochs !== undefined && !isCount(job.epochs)) throw new Error(
    `epochs: expected a non-negative integer, got ${job.epochs}`);
  if (job.progressEvery !== undefined && (!isCount(job.progressEvery) || job.progressEvery === 0)) {
    throw new Error(`progressEvery: expected a positive integer, got ${job.progressEvery}`);
  }
  const k = job.runtime?.stepsPerRun;
  if (k !== undefined && (!isCount(k) || k === 0)) throw new Error(
    `runtime.stepsPerRun: expected a positive integer, got ${k}`);
  if (job.snapshotEvery !== undefined && (!isCount(job.snapshotEvery) || job.snapshotEvery === 0)) {
    throw new Error(`snapshotEvery: expected a positive integer, got ${job.snapshotEvery}`);
  }
  const r = job.regularizer;
  if (r !== undefined) {
    if (!r || typeof r.id !== 'string') throw new Error(
      'regularizer.id: expected the id of a regularizer (see `tinymem methods`)');
    if (r.hp !== undefined && (r.hp === null || typeof r.hp !== 'object' || Array.isArray(r.hp))) throw new Error(
      'regularizer.hp: expected an object of hyper-parameters');
  }
}

/** Runs `f`, prefixing its error message with the job field it concerns. */
function naming<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`${field}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The job's regularizer set up for this run, or null; errors name the job field. */
function openRegularizer(job: TrainJob, config: unknown,
  paramShapes: TrainStepSpec['params']): TrainingRegularizer | null {
  const r = job.regularizer;
  if (!r) return null;
  const method = naming('regularizer.id', () => getRegularizer(r.id));
  const hp = naming('regularizer.hp', () => resolveHyperParams(method, r.hp ?? {}));
  return method.create({ modelName: job.model.name, config, paramShapes, seed: job.seed, hp });
}

/** Runs a job in this thread. Deterministic for a fixed job (seed included) on the same machine and provider. */
export async function runTraining(job: TrainJob, hooks: LoopHooks = {}): Promise<TrainOutcome> {
  checkJob(job);
  const started = performance.now();
  const def = getModel(job.model.name);
  const config = def.resolveConfig ? def.resolveConfig(job.model.config) : job.model.config;
  const source = openDataSource(job.data);
  const paramShapes = def.paramShapes(config);
  const reg = openRegularizer(job, config, paramShapes);
  const spec: TrainStepSpec = {
    key: `${job.model.name}:${JSON.stringify(config)}${reg ? `|${reg.key}` : ''}`,
    params: paramShapes,
    batch: (rows) => ({ ...def.batchSpec(config, rows), ...reg?.batchSpec?.(rows) }),
    loss: reg ? reg.loss(def.loss(config)) : def.loss(config),
    hyper: job.hyper,
    carry: reg?.carry,
  };
  const tokensPerRow = def.tokensPerRow?.(config) ?? 1;
  const runtime = hooks.runtime ?? new Runtime(job.runtime);
  let made: Trainer | undefined; // freed in `finally`
  try {
    const trainer = made = new Trainer(runtime, spec, job.init ?? { params: def.init(config, job.seed) });
    const rng = job.shuffle === false ? null : new Rng(deriveSeed(job.seed, 'batch-order'));
    let order = source.epochOrder(rng);
    const perEpoch = job.dropLast ? Math.floor(order.length / job.batchSize) : Math.ceil(order.length / job.batchSize);
    if (perEpoch === 0) throw new Error(`data: ${order.length} rows do not make one batch of ${job.batchSize} ` +
      `(dropLast is set)`);
    const total = job.steps ?? job.epochs! * perEpoch;
    const every = job.progressEvery ?? 1;

    const losses: number[] = [];
    let provider = '';
    let batchInEpoch = 0;
    let windowStart = performance.now();
    let windowTokens = 0;
    // The state comes from the device (WebGPU) only here, for snapshots and for regularizers that read weights.
    const result = async (): Promise<TrainResult> => ({
      state: await trainer.hostState(),
      steps: losses.length,
      epochs: losses.length / perEpoch,
      losses,
      provider,
      seconds: (performance.now() - started) / 1000,
      ...(reg?.summary ? { regularizer: reg.summary() } : {}),
    });

    // Steps run in groups of up to `perRun` in one session run: a group never crosses an epoch's end (so snapshots
    // and the next epoch's order stay where they were) and holds batches of one row count. A regularizer's host
    // state between steps (its feeds, afterStep) needs one step per run.
    const perRun = reg?.feeds || reg?.carry || reg?.afterStep ? 1 : (job.runtime?.stepsPerRun ?? 1);
    while (losses.length < total) {
      if (hooks.shouldStop?.()) return { status: 'cancelled', result: await result() };
      if (batchInEpoch === perEpoch) {
        order = source.epochOrder(rng);
        batchInEpoch = 0;
      }
      const group: Uint32Array[] = [];
      while (group.length < perRun && losses.length + group.length < total && batchInEpoch + group.length < perEpoch) {
        const from = (batchInEpoch + group.length) * job.batchSize;
        const rows = order.subarray(from, Math.min(from + job.batchSize, order.length));
        if (group.length > 0 && rows.length !== group[0]!.length) break;
        group.push(rows);
      }
      let results: StepResult[];
      if (group.length === 1) {
        // A row's index in the source is its stable example id (the same row in every epoch).
        const rows = group[0]!;
        const extra = reg?.feeds?.({ exampleIds: rows }) ?? {};
        results = [await trainer.step({ ...source.batch(rows), ...extra }, { rows: rows.length })];
        reg?.afterStep?.(results[0]!.outputs);
      } else results = await trainer.steps(group.map((rows) => source.batch(rows)), { rows: group[0]!.length });
      // Throughput over the window up to this group's end; every progress event of the group reports it.
      windowTokens += group.reduce((t, rows) => t + rows.length * tokensPerRow, 0);
      const now = performance.now();
      const secs = (now - windowStart) / 1000;
      const tokensPerSec = secs > 0 ? windowTokens / secs : 0;
      let reported = false;
      for (const r of results) {
        batchInEpoch++;
        losses.push(r.loss);
        provider = r.provider;
        hooks.onStep?.(losses.length);
        if (losses.length % every === 0 || losses.length === total) {
          reported = true;
          hooks.onProgress?.({ type: 'progress', step: losses.length, epoch: losses.length / perEpoch, loss: r.loss,
            tokensPerSec, provider });
        }
      }
      if (reported) {
        windowStart = now;
        windowTokens = 0;
      }
      const epochsDone = losses.length / perEpoch;
      if (job.snapshotEvery && batchInEpoch === perEpoch && epochsDone % job.snapshotEvery === 0
        && losses.length < total) {
        hooks.onSnapshot?.(
          { type: 'snapshot', epoch: epochsDone, step: losses.length, state: copyState(await trainer.hostState()) });
      }
    }
    return { status: 'done', result: await result() };
  } finally {
    // The result holds the host copy: the device state (WebGPU) is freed however the loop ended, since a shared
    // runtime (the engine process's) outlives it.
    made?.dispose();
    if (!hooks.runtime) await runtime.dispose();
  }
}

/**
 * The worker's entry file and the Node flags it needs. From TypeScript sources (dev and tests: this module's own
 * file ends in .ts) it is worker.ts next to this file, run through tsx; in a bundle it is `trainWorker.js` next to
 * the bundle, where esbuild.js must emit it. `--require tsx/cjs` rather than `--import tsx`: on Node 20 the --import
 * hooks do not apply to a worker's own entry file (ERR_UNKNOWN_FILE_EXTENSION), the CommonJS hook does.
 */
export function workerEntry(): { file: string; execArgv: string[] } {
  const tsxHook = 'tsx/cjs'; // a variable, so that bundlers leave this dev-only dependency alone
  if (__filename.endsWith('.ts')) return { file: path.join(__dirname, 'worker.ts'),
    execArgv: ['--require', require.resolve(tsxHook)] };
  return { file: path.join(__dirname, 'trainWorker.js'), execArgv: [] };
}

export interface StartOptions {
  onProgress?(p: TrainProgress): void;
  onSnapshot?(s: TrainSnapshot): void;
  /** Modules the worker loads first, to register models or data sources that are not built in (absolute paths). */
  modules?: string[];
  /** Overrides workerEntry(). */
  worker?: { file: string; execArgv: string[] };
}

export interface TrainingHandle {
  /** Settles once: done, or cancelled with the partial state; rejects with the worker's error message. */
  readonly result: Promise<TrainOutcome>;
  /** Asks the worker to stop before its next step. Returns the steps completed when the request was made: the run
   *  ends with that many steps, or one more group (one step, or up to runtime.stepsPerRun) if one was running. */
  cancel(): number;
  /** Stops the worker at once, even mid-step (the result rejects). For shutdown, not for Stop. */
  terminate(): Promise<void>;
}

/** Runs a job in a worker thread. */
export function startTraining(job: TrainJob, opts: StartOptions = {}): TrainingHandle {
  const control = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const flags = new Int32Array(control);
  const entry = opts.worker ?? workerEntry();
  disableOrtTelemetry();
  const worker = new Worker(entry.file, { execArgv: entry.execArgv });
  let settled = false;
  // An error thrown by a callback (a periodic checkpoint that cannot be written) must not escape the message handler:
  // it would end the process while the worker is inside ONNX Runtime (a native abort). The worker is asked to stop
  // after its current step instead, and the run rejects with that error once it has.
  let callbackError: unknown;
  const guarded = (f: () => void) => {
    if (callbackError !== undefined) return;
    try {
      f();
    } catch (e) {
      callbackError = e ?? new Error('a training callback failed');
      Atomics.store(flags, CONTROL_CANCEL, 1);
    }
  };
  const result = new Promise<TrainOutcome>((resolve, reject) => {
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      if (callbackError !== undefined) reject(callbackError);
      else f();
      void worker.terminate();
    };
    worker.on('message', (ev: WorkerEvent) => {
      if (ev.type === 'progress') {
        if (!settled) guarded(() => opts.onProgress?.(ev));
      } else if (ev.type === 'snapshot') {
        if (!settled) guarded(() => opts.onSnapshot?.(ev));
      } else if (ev.type === 'done') finish(() => resolve({ status: 'done', result: ev.result }));
      else if (ev.type === 'cancelled') finish(() => resolve({ status: 'cancelled', result: ev.partial }));
      else finish(() => reject(new Error(ev.message)));
    });
    worker.on('error', (e) => finish(() => reject(new Error(`training worker failed: ${e.message}`))));
    worker.on('exit',
      (code) => finish(() => reject(new Error(`training worker exited (code ${code}) before finishing`))));
  });
  const start: StartMessage = { type: 'start', job, control, modules: opts.modules };
  worker.postMessage(start);
  return {
    result,
    cancel() {
      Atomics.store(flags, CONTROL_CANCEL, 1);
      return Atomics.load(flags, CONTROL_STEPS);
    },
    async terminate() {
      result.catch(() => undefined); // the caller chose to stop it: its rejection is not an unhandled error
      await worker.terminate();
    },
  };
}
