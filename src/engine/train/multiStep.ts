// K training steps in one session run: the step graph (forward, backward, AdamW) becomes the body of an ONNX Loop
// whose loop-carried state is the optimizer step t, the parameters and AdamW's moments; the K batches enter stacked
// along a new first axis and the body takes batch `iter`. The Node API has no device-resident tensors for CUDA, so a
// run copies every weight in and out: K steps per run pay that copy once per K steps. The result is the same as K
// single steps (test/multiStep.test.ts checks it on the CPU provider).
import { F, Graph, type Tensor, type TensorSpec, compileGraph, gradients } from '../graph/index';
import type { CompiledModel } from '../graph/onnx/writer';
import type { HostArray, Runtime } from '../runtime/session';
import type { TrainState } from '../../shared/engineMessages';
import { adamwUpdate, resolveAdamW } from './adamw';
import { type TrainStepSpec, stepNames } from './trainStep';

/**
 * Traces and compiles the K-step graph for one batch shape. Inputs: the parameters, `m:NAME`, `v:NAME` (as the
 * single step's), each batch tensor stacked to [K, ...shape], `adamw:step` (float32: t of the first step) and
 * `adamw:lr` (float32 [K]: each step's learning rate). Outputs: `new:NAME`, `new:m:NAME`, `new:v:NAME` after the K
 * steps, `loss` [K] (each step's loss before its update) and the loss builder's extra outputs stacked to [K, ...].
 */
export function buildMultiStep(spec: TrainStepSpec, batch: Record<string, TensorSpec>, k: number): CompiledModel {
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`steps per run must be a positive integer, got ${k}`);
  const names = Object.keys(spec.params);
  if (names.length === 0) throw new Error('a training step needs at least one parameter');
  const g = new Graph();
  const params = names.map((n) => g.input(n, 'float32', spec.params[n]!));
  const m = names.map((n) => g.input(stepNames.m(n), 'float32', spec.params[n]!));
  const v = names.map((n) => g.input(stepNames.v(n), 'float32', spec.params[n]!));
  const stacked = Object.entries(batch).map(([n, s]) => [n, g.input(n, s.dtype, [k, ...s.shape])] as const);
  const step = g.input(stepNames.step, 'float32', []);
  const lrs = g.input(stepNames.lr, 'float32', [k]);
  const { lr: _lr, ...hyper } = spec.hyper ?? {};
  const P = names.length;
  let extraNames: string[] = [];

  const out = F.loop(k, [step, ...params, ...m, ...v], (b, iter, [t, ...state]) => {
    const ps = state.slice(0, P);
    const pick = (x: Tensor) => F.gather(b.capture(x), iter);
    const batchTensors = Object.fromEntries(stacked.map(([n, x]) => [n, pick(x)]));
    const built = spec.loss(b, Object.fromEntries(names.map((n, i) => [n, ps[i]!])), batchTensors);
    const { loss, outputs: extra } = 'outputs' in built ? built : { loss: built, outputs: {} };
    if (loss.size !== 1 || loss.dtype !== 'float32') throw new Error(`the loss must be a float32 scalar, got ${loss}`);
    extraNames = Object.keys(extra);
    const upd = adamwUpdate(ps, gradients(loss, ps), { m: state.slice(P, 2 * P), v: state.slice(2 * P) }, t!,
      { ...hyper, lr: pick(lrs) });
    return { carried: [F.add(t!, F.scalar(b, 1, 'float32')), ...upd.params, ...upd.m, ...upd.v],
      scans: [F.reshape(loss, []), ...extraNames.map((n) => extra[n]!)] };
  });
  const outputs: Record<string, Tensor> = { [stepNames.loss]: out.scans[0]! };
  extraNames.forEach((n, i) => (outputs[n] = out.scans[i + 1]!));
  names.forEach((n, i) => {
    outputs[stepNames.newParam(n)] = out.carried[1 + i]!;
    outputs[stepNames.newM(n)] = out.carried[1 + P + i]!;
    outputs[stepNames.newV(n)] = out.carried[1 + 2 * P + i]!;
  });
  return compileGraph(g, outputs, `train${k}:${spec.key}`);
}

/** One array holding `parts` one after another, of the first part's kind. */
function stack(parts: readonly (HostArray | ArrayLike<number>)[]): HostArray | number[] {
  const first = parts[0]!;
  if (!ArrayBuffer.isView(first)) return parts.flatMap((p) => Array.from(p as ArrayLike<number>));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const Ctor = (first as HostArray).constructor as new (n: number) => HostArray;
  const out = new Ctor(total);
  let at = 0;
  for (const p of parts) {
    if (p.constructor !== Ctor) throw new Error('the batches of one run must hold the same kinds of arrays');
    (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(p as ArrayLike<unknown>, at);
    at += p.length;
  }
  return out;
}

export interface MultiStepResult {
  /** The state after all K steps (t advanced by K). */
  state: TrainState;
  /** Each step's loss, before its update. */
  losses: number[];
  provider: string;
  /** Each step's extra outputs of the loss builder, by name. */
  outputs: Record<string, HostArray>[];
}

/** The session cache key of the K-step graph. */
function sessionKey(spec: TrainStepSpec, batch: Record<string, TensorSpec>, k: number): string {
  const o = resolveAdamW(spec.hyper);
  const shapes = Object.entries(spec.params).map(([n, s]) => `${n}[${s.join(',')}]`);
  const batchSig = Object.entries(batch).map(([n, s]) => `${n}:${s.dtype}[${s.shape.join(',')}]`);
  return `train*${k}|${spec.key}|${shapes.join(';')}|${batchSig.join(';')}|` +
    `b=${o.betas.join(',')};eps=${o.eps};wd=${o.weightDecay}`;
}

/**
 * Runs `batches.length` optimizer steps from `state` in one session run. Does not check the losses: a caller that
 * finds a non-finite one repeats the steps one at a time to stop at the right step.
 */
export async function runSteps(runtime: Runtime, spec: TrainStepSpec, specs: Record<string, TensorSpec>,
  state: TrainState, batches: readonly Record<string, HostArray | ArrayLike<number>>[],
  lr = resolveAdamW(spec.hyper).lr): Promise<MultiStepResult> {
  const k = batches.length;
  const session = await runtime.session(sessionKey(spec, specs, k), () => buildMultiStep(spec, specs, k));
  const feeds: Record<string, HostArray | ArrayLike<number>> = {};
  for (const n of Object.keys(specs)) {
    const parts = batches.map((b, i) => {
      if (b[n] === undefined) throw new Error(`batch ${i}: tensor "${n}" is missing`);
      return b[n]!;
    });
    feeds[n] = stack(parts);
  }
  for (const n of Object.keys(spec.params)) {
    feeds[n] = state.params[n]!;
    feeds[stepNames.m(n)] = state.m[n]!;
    feeds[stepNames.v(n)] = state.v[n]!;
  }
  feeds[stepNames.step] = Float32Array.of(state.step + 1);
  feeds[stepNames.lr] = new Float32Array(k).fill(lr);
  const { outputs, provider } = await session.run(feeds);
  const next: TrainState = { params: {}, m: {}, v: {}, step: state.step + k };
  for (const n of Object.keys(spec.params)) {
    next.params[n] = outputs[stepNames.newParam(n)] as Float32Array;
    next.m[n] = outputs[stepNames.newM(n)] as Float32Array;
    next.v[n] = outputs[stepNames.newV(n)] as Float32Array;
  }
  const per: Record<string, HostArray>[] = Array.from({ length: k }, () => ({}));
  for (const [n, a] of Object.entries(outputs)) {
    if (n.startsWith('new:') || n === stepNames.loss) continue;
    const w = a.length / k;
    per.forEach((o, i) => (o[n] = a.slice(i * w, (i + 1) * w) as HostArray));
  }
  return { state: next, losses: Array.from(outputs[stepNames.loss] as Float32Array), provider, outputs: per };
}
