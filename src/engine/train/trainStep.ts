// One training step as one ONNX graph (forward + backward + AdamW), compiled once per shape signature, and the
// Trainer that feeds it: it swaps in the parameters and optimizer state each run returns. On the CPU they are
// Float32Arrays; on WebGPU the new:* outputs stay on the device and are fed back as the next run's inputs, so only
// the batch goes in and the loss (and the loss builder's extra outputs) come out; the state is copied to the host
// only when asked (hostState: checkpoints, snapshots, the result).
import { F, Graph, type Shape, type Tensor, type TensorSpec, compileGraph, gradients, numel } from '../graph/index';
import type { CompiledModel } from '../graph/onnx/writer';
import { type DeviceTensor, type HostArray, type Runtime, isDeviceTensor } from '../runtime/session';
import type { AdamWHyperParams, TrainState } from '../../shared/engineMessages';
import { adamwUpdate, resolveAdamW } from './adamw';
import { type MultiStepResult, runSteps } from './multiStep';

/**
 * Traces a model's scalar loss from its parameters and one batch. It may also return extra outputs of the step
 * graph (e.g. per-sequence losses for loss truncation), measured before the update and returned by Trainer.step.
 */
export type LossBuilder = (g: Graph, params: Record<string, Tensor>, batch: Record<string, Tensor>) =>
  Tensor | LossWithOutputs;

export interface LossWithOutputs {
  loss: Tensor;
  outputs: Record<string, Tensor>;
}

/** The batch tensors, fixed or as a function of the number of rows (an epoch's last batch may be smaller). */
export type BatchSpecs = Record<string, TensorSpec> | ((rows: number) => Record<string, TensorSpec>);

export interface TrainStepSpec {
  /** Names the loss function in the session cache (e.g. the model name and its config); shapes are added to it. */
  key: string;
  params: Record<string, Shape>;
  batch: BatchSpecs;
  loss: LossBuilder;
  hyper?: AdamWHyperParams;
  /**
   * Float32 tensors carried from step to step outside autodiff (e.g. power-iteration vectors): the loss builder gets
   * each as a batch tensor and must return its next value as the extra output `new:NAME`; the trainer feeds it back
   * (on the device with WebGPU). They are not part of the saved training state.
   */
  carry?: Record<string, { shape: Shape; init: Float32Array }>;
}

/**
 * ONNX value names of the step graph. Inputs: each parameter under its own name, `m:NAME`, `v:NAME`, the batch
 * tensors, `adamw:step` (float32 t) and `adamw:lr` (float32). Outputs: `new:NAME`, `new:m:NAME`, `new:v:NAME`, `loss`.
 */
export const stepNames = {
  m: (p: string) => `m:${p}`,
  v: (p: string) => `v:${p}`,
  newParam: (p: string) => `new:${p}`,
  newM: (p: string) => `new:m:${p}`,
  newV: (p: string) => `new:v:${p}`,
  step: 'adamw:step',
  lr: 'adamw:lr',
  loss: 'loss',
} as const;

const RESERVED = /^(m:|v:|new:|adamw:)|^loss$/;

function resolveBatch(batch: BatchSpecs, rows: number | undefined): Record<string, TensorSpec> {
  if (typeof batch !== 'function') return batch;
  if (rows === undefined) throw new Error(
    'this trainer builds its batch shapes from a row count: pass `rows` to step()');
  return batch(rows);
}

/** Traces and compiles the step graph for one batch shape. */
export function buildTrainStep(spec: TrainStepSpec, batch: Record<string, TensorSpec>): CompiledModel {
  const names = Object.keys(spec.params);
  if (names.length === 0) throw new Error('a training step needs at least one parameter');
  for (const n of [...names, ...Object.keys(batch)]) {
    if (RESERVED.test(n)) throw new Error(`"${n}" cannot be a parameter or batch name: names starting with m:, v:, ` +
      `new:, adamw: and "loss" are reserved`);
  }
  for (const n of Object.keys(batch)) if (n in spec.params) throw new Error(
    `"${n}" is both a parameter and a batch tensor`);
  const carry = spec.carry ?? {};

  const g = new Graph();
  const params: Record<string, Tensor> = {};
  for (const n of names) params[n] = g.input(n, 'float32', spec.params[n]!);
  const m = names.map((n) => g.input(stepNames.m(n), 'float32', spec.params[n]!));
  const v = names.map((n) => g.input(stepNames.v(n), 'float32', spec.params[n]!));
  const batchTensors: Record<string, Tensor> = {};
  for (const [n, s] of Object.entries(batch)) batchTensors[n] = g.input(n, s.dtype, s.shape);
  for (const [n, c] of Object.entries(carry)) batchTensors[n] = g.input(n, 'float32', c.shape);
  const step = g.input(stepNames.step, 'float32', []);
  const lr = g.input(stepNames.lr, 'float32', []);

  const built = spec.loss(g, params, batchTensors);
  const { loss, outputs: extra } = 'outputs' in built ? built : { loss: built, outputs: {} };
  const carried = (n: string) => n.startsWith('new:') && n.slice(4) in carry;
  for (const n of Object.keys(extra)) {
    if ((RESERVED.test(n) && !carried(n)) || n in spec.params || n in batch) throw new Error(
      `"${n}" cannot be an extra output of the loss: it is reserved or names a parameter or batch tensor`);
  }
  for (const n of Object.keys(carry)) if (!(`new:${n}` in extra)) throw new Error(
    `the loss returns no "new:${n}" for the carried tensor "${n}"`);
  if (loss.size !== 1 || loss.dtype !== 'float32') throw new Error(`the loss must be a float32 scalar, got ${loss}`);
  const ps = names.map((n) => params[n]!);
  const grads = gradients(loss, ps);
  const { lr: _lr, ...hyper } = spec.hyper ?? {};
  const upd = adamwUpdate(ps, grads, { m, v }, step, { ...hyper, lr });

  const outputs: Record<string, Tensor> = { ...extra, [stepNames.loss]: F.reshape(loss, []) };
  names.forEach((n, i) => {
    outputs[stepNames.newParam(n)] = upd.params[i]!;
    outputs[stepNames.newM(n)] = upd.m[i]!;
    outputs[stepNames.newV(n)] = upd.v[i]!;
  });
  return compileGraph(g, outputs, `train:${spec.key}`);
}

/** The session cache key: the loss's key, every shape, and the hyper-parameters baked into the graph. */
function sessionKey(spec: TrainStepSpec, batch: Record<string, TensorSpec>): string {
  const o = resolveAdamW(spec.hyper);
  const shapes = Object.entries(spec.params).map(([n, s]) => `${n}[${s.join(',')}]`);
  const batchSig = Object.entries(batch).map(([n, s]) => `${n}:${s.dtype}[${s.shape.join(',')}]`);
  return `train|${spec.key}|${shapes.join(';')}|${batchSig.join(';')}|` +
    `b=${o.betas.join(',')};eps=${o.eps};wd=${o.weightDecay}`;
}

/** The loss became NaN or ±Inf; the trainer keeps the last finite state. */
export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly loss: number) {
    super(`the loss became ${loss} at step ${step}; the weights of step ${step - 1} are kept. ` +
      'Try a lower learning rate.');
    this.name = 'NonFiniteLossError';
  }
}

/** Zero-filled AdamW state for `params`, or a check that a given state fits their shapes. */
export function initialState(shapes: Record<string, Shape>, params: Record<string, Float32Array>,
  from?: Partial<TrainState>): TrainState {
  const check = (what: string, arrays: Record<string, Float32Array>) => {
    for (const [n, shape] of Object.entries(shapes)) {
      const a = arrays[n];
      if (!(a instanceof Float32Array)) throw new Error(`${what}: no Float32Array for parameter "${n}"`);
      if (a.length !== numel(shape)) throw new Error(
        `${what}: "${n}" has ${a.length} values; its shape [${shape.join(', ')}] needs ${numel(shape)}`);
    }
    for (const n of Object.keys(arrays)) if (!(n in shapes)) throw new Error(`${what}: unknown parameter "${n}"`);
  };
  check('params', params);
  const zeros = () => Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, new Float32Array(numel(s))]));
  const m = from?.m ?? zeros();
  const v = from?.v ?? zeros();
  check('optimizer state m', m);
  check('optimizer state v', v);
  const step = from?.step ?? 0;
  if (!Number.isSafeInteger(step) || step < 0) throw new Error(
    `optimizer step must be a non-negative integer, got ${step}`);
  return { params, m, v, step };
}

export interface StepResult {
  loss: number;
  provider: string;
  /** The loss builder's extra outputs, by name (empty when it returned only the loss). */
  outputs: Record<string, HostArray>;
}

/** The parameters and optimizer state as tensors on the device (WebGPU). */
interface DeviceState {
  params: Record<string, DeviceTensor>;
  m: Record<string, DeviceTensor>;
  v: Record<string, DeviceTensor>;
}

const disposeAll = (d: DeviceState | null) => {
  for (const part of d ? [d.params, d.m, d.v] : []) for (const t of Object.values(part)) t.dispose();
};

/** Runs training steps one `run` at a time. Not re-entrant: await each step before the next. */
export class Trainer {
  /** The state on the host; null while the newest state lives only on the device. */
  private current: TrainState | null;
  /** The state on the device (WebGPU), the newest when set. */
  private device: DeviceState | null = null;
  private step_ = 0;
  private busy = false;
  /** The carried tensors (TrainStepSpec.carry): host arrays, or device tensors after a step on WebGPU. */
  private carried: Record<string, DeviceTensor | HostArray>;

  /** `init.params` are taken over, not copied (they are replaced, never written to). */
  constructor(
    readonly runtime: Runtime,
    readonly spec: TrainStepSpec,
    init: Partial<TrainState> & { params: Record<string, Float32Array> },
  ) {
    resolveAdamW(spec.hyper); // fail early on bad hyper-parameters
    this.current = initialState(spec.params, init.params, init);
    this.step_ = this.current.step;
    this.carried = Object.fromEntries(Object.entries(spec.carry ?? {}).map(([n, c]) => [n, c.init]));
  }

  /**
   * The current parameters and optimizer state on the host. The arrays are replaced by each step, never mutated.
   * Throws while the state lives on the device (WebGPU): await hostState() there.
   */
  get state(): TrainState {
    if (!this.current) throw new Error('the training state is on the device: await trainer.hostState() copies it');
    return this.current;
  }

  /** Whether the newest state lives on the device (WebGPU), so that `state` needs hostState() first. */
  get onDevice(): boolean {
    return this.device !== null;
  }

  /** The current state on the host, copied from the device only when it lives there (once per step). */
  async hostState(): Promise<TrainState> {
    if (this.current) return this.current;
    const d = this.device!;
    const names = Object.keys(this.spec.params);
    const flat: Record<string, DeviceTensor> = {};
    for (const n of names) {
      flat[n] = d.params[n]!;
      flat[stepNames.m(n)] = d.m[n]!;
      flat[stepNames.v(n)] = d.v[n]!;
    }
    const h = await this.runtime.toHost(flat);
    const pick = (f: (n: string) => string) => Object.fromEntries(names.map((n) => [n, h[f(n)] as Float32Array]));
    this.current = { params: pick((n) => n), m: pick(stepNames.m), v: pick(stepNames.v), step: this.step_ };
    return this.current;
  }

  /**
   * Frees the device copy of the state without copying it: for a trainer that is done, stopped or failed. A state
   * not copied by hostState() before is gone, and the trainer with it.
   */
  dispose(): void {
    disposeAll(this.device);
    this.device = null;
    for (const t of Object.values(this.carried)) if (isDeviceTensor(t)) t.dispose();
  }

  /** One optimizer step on a batch. `rows` picks the batch shape when the spec's batch is a function of it. */
  async step(batch: Record<string, HostArray | ArrayLike<number>>,
    opts: { rows?: number; lr?: number } = {}): Promise<StepResult> {
    if (this.busy) throw new Error('Trainer.step called while a step is running');
    this.busy = true;
    try {
      const specs = resolveBatch(this.spec.batch, opts.rows);
      const session = await this.runtime.session(sessionKey(this.spec, specs), () => buildTrainStep(this.spec, specs),
        { deviceOutputs: (n) => n.startsWith('new:') });
      const s = this.device ?? this.current!;
      const t = this.step_ + 1;
      const feeds: Record<string, HostArray | ArrayLike<number> | DeviceTensor> = {};
      for (const n of Object.keys(specs)) {
        if (batch[n] === undefined) throw new Error(`batch tensor "${n}" is missing`);
        feeds[n] = batch[n]!;
      }
      Object.assign(feeds, this.carried);
      for (const n of Object.keys(this.spec.params)) {
        feeds[n] = s.params[n]!;
        feeds[stepNames.m(n)] = s.m[n]!;
        feeds[stepNames.v(n)] = s.v[n]!;
      }
      feeds[stepNames.step] = Float32Array.of(t);
      feeds[stepNames.lr] = Float32Array.of(opts.lr ?? resolveAdamW(this.spec.hyper).lr);
      const { outputs, device, provider } = await session.run(feeds);
      const extra: Record<string, HostArray> = {};
      for (const [n, a] of Object.entries(outputs)) if (!n.startsWith('new:') && n !== stepNames.loss) extra[
        n] = a as HostArray;
      const loss = (outputs[stepNames.loss] as Float32Array)[0]!;
      const carried = Object.fromEntries(Object.keys(this.carried).map((n) => [n, device[`new:${n}`] ??
        outputs[`new:${n}`] as HostArray]));
      // The replaced tensors are freed after a finite step, the new ones after a step whose result is discarded.
      for (const t of Object.values(Number.isFinite(loss) ? this.carried : carried)) if (isDeviceTensor(t)) t.dispose();
      if (Number.isFinite(loss)) this.carried = carried;
      const names = Object.keys(this.spec.params);
      if (Object.keys(device).length > 0) {
        const next: DeviceState = { params: {}, m: {}, v: {} };
        for (const n of names) {
          next.params[n] = device[stepNames.newParam(n)]!;
          next.m[n] = device[stepNames.newM(n)]!;
          next.v[n] = device[stepNames.newV(n)]!;
        }
        if (!Number.isFinite(loss)) {
          disposeAll(next);
          throw new NonFiniteLossError(t, loss);
        }
        disposeAll(this.device);
        this.device = next;
        this.current = null;
      } else {
        if (!Number.isFinite(loss)) throw new NonFiniteLossError(t, loss);
        const next: TrainState = { params: {}, m: {}, v: {}, step: t };
        for (const n of names) {
          next.params[n] = outputs[stepNames.newParam(n)] as Float32Array;
          next.m[n] = outputs[stepNames.newM(n)] as Float32Array;
          next.v[n] = outputs[stepNames.newV(n)] as Float32Array;
        }
        this.current = next;
      }
      this.step_ = t;
      return { loss, provider, outputs: extra };
    } finally {
      this.busy = false;
    }
  }

  /**
   * `batches.length` optimizer steps in one session run (multiStep.ts), each on its own batch of `opts.rows` rows.
   * When a loss is not finite the steps are repeated one at a time, so that the error and the kept state are those
   * of single steps.
   */
  async steps(batches: readonly Record<string, HostArray | ArrayLike<number>>[],
    opts: { rows?: number; lr?: number } = {}): Promise<StepResult[]> {
    // Carried tensors are not Loop-carried: one run per step.
    if (batches.length === 1 || this.spec.carry) return this.oneByOne(batches, opts);
    if (this.busy) throw new Error('Trainer.steps called while a step is running');
    this.busy = true;
    let r: MultiStepResult;
    try {
      // The Loop runs on the host's copy of the state (no provider keeps Loop-carried state on the device).
      const from = await this.hostState();
      r = await runSteps(this.runtime, this.spec, resolveBatch(this.spec.batch, opts.rows), from, batches,
        opts.lr ?? resolveAdamW(this.spec.hyper).lr);
    } finally {
      this.busy = false;
    }
    if (r.losses.every(Number.isFinite)) {
      disposeAll(this.device);
      this.device = null;
      this.current = r.state;
      this.step_ = r.state.step;
      return r.losses.map((loss, i) => ({ loss, provider: r.provider, outputs: r.outputs[i]! }));
    }
    return this.oneByOne(batches, opts);
  }

  private async oneByOne(batches: readonly Record<string, HostArray | ArrayLike<number>>[],
    opts: { rows?: number; lr?: number }): Promise<StepResult[]> {
    const done: StepResult[] = [];
    for (const b of batches) done.push(await this.step(b, opts));
    return done;
  }
}
