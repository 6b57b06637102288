// The edge-popup machinery shared by Subnet and BalancedSubnet (spec §4.E; Ramanujan et al., "What's hidden in a
// randomly weighted neural network?"): every MLP weight matrix gets a score tensor of its shape; the forward pass
// uses W ⊙ mask, where mask zeroes the ⌊ratio·numel⌋ entries with the smallest |score| of that matrix; the gradient
// reaches the scores straight through the mask; SGD with momentum and weight decay trains the scores only. The
// weights stay constant graph inputs. At the end the mask is baked into the weights.
//
// One training step is one compiled ONNX graph per batch shape (forward, backward to the scores) plus an SGD update
// of scores and momentum buffers done in place on the host. Both methods share that graph: the loss is Σ_i c_i·ℓ_i
// over the batch's per-sequence LM losses ℓ_i with per-row coefficients c_i fed at run time (Subnet: c_i = −1/B;
// BalancedSubnet: see balancedSubnet.ts).
//
// Why the update is not in the graph: onnxruntime-node copies every output into a fresh ArrayBuffer, and the CPU
// arena keeps its own copy of each output until it is reused. New scores and momentum as outputs cost 4× the score
// size per step on top of the inputs (old and new generations coexist until V8 collects them), which grew a 410M
// model's step from 11 to 18 GiB between steps 0 and 1. Gradients as the only large output, applied in place, cost
// 2× the score size, transient, and the same every step (measured in bench/prod.bench.ts).
//
// Score tensors are sized from the model's config. The reference hard-codes the TinyMem (128↔512) and Pythia-6.9B
// (4096↔16384) MLP shapes (spec §7.12); the intended behaviour, one score per weight of whatever model is edited, is
// what this file does.
import { F, Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { Rng, deriveSeed } from '../../data/rng';
import type { TokenMatrix } from '../../data/tokenMatrix';
import { type ModelConfig, configKey, contextField, countParams, declareParams, dims, mlpMatrices, modelForward,
} from '../../model/architecture';
import { type CompiledSession, LARGE_MODEL_INPUT_BYTES, type Runtime, forceGc } from '../../runtime/session';
import { tokensOf, throwIfAborted } from '../shared/batches';
import { applyMasks, pruneCount } from '../shared/pruning';
import { DeviceSubnet, usesDeviceStep } from './deviceStep';
import type { Params, UnlearnContext, UnlearnResult } from '../types';
import { nextTokenLoss } from '../../model/nextTokenLoss';

/** SGD settings of the Subnet methods (spec §4.C "fixed values"; torch.optim.SGD semantics, dampening 0, no
 * Nesterov). */
export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export const SUBNET_SGD: Readonly<SgdOptions> = Object.freeze({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
/** The TinyMem driver hard-codes batch 64 for the Subnet loaders (spec §4.C). */
export const SUBNET_BATCH = 64;

/**
 * The matrices that get scores: every layer's MLP up and down weights (GPT-2 c_fc/c_proj, [in, out] Conv1D;
 * GPT-NeoX dense_h_to_4h/dense_4h_to_h, [out, in] Linear), with their stored shapes.
 */
export function subnetMatrices(c: ModelConfig): { name: string; layer: number; role: 'up' | 'down';
  shape: [number, number]; }[] {
  return mlpMatrices(c);
}

/**
 * Score initialisation as torch's kaiming_uniform_(a = √5) on a tensor of the weight's shape: U(−b, b) with
 * b = gain·√(3/fan_in), gain = √(2/(1 + a²)) = √(1/3), so b = 1/√fan_in. Like torch, fan_in is the tensor's size along
 * dimension 1 (for the [in, out] Conv1D layout that is the output width, exactly what the reference's score tensors
 * get). Each matrix draws from its own stream derived from `seed` and its name.
 */
export function initScores(c: ModelConfig, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const { name, shape } of subnetMatrices(c)) {
    const r = new Rng(deriveSeed(seed, `subnet-scores:${name}`));
    const bound = 1 / Math.sqrt(shape[1]);
    out.set(name, Float32Array.from({ length: shape[0] * shape[1] }, () => (2 * r.float() - 1) * bound));
  }
  return out;
}

/**
 * The forward mask of one matrix, traced: 0 at the `pruned` entries with the smallest |score| (ONNX TopK with
 * largest = 0 over the flattened |scores|, then a scatter of zeros at its indices, so exactly `pruned` zeros even
 * with ties), 1 elsewhere. Backward: straight through to |score| (the hard mask's gradient is handed to |score|
 * unchanged), hence ∂L/∂score = sign(score) ⊙ ∂L/∂mask, as in the reference (GetSubnet applied to scores.abs()).
 */
export function traceMask(scores: Tensor, pruned: number): Tensor {
  const g = scores.graph;
  const n = scores.size;
  if (!Number.isInteger(pruned) || pruned < 0 || pruned > n) throw new RangeError(
    `cannot prune ${pruned} of ${n} entries`);
  const mag = F.abs(scores);
  const ones = F.add(F.zeros(g, [n], scores.dtype), 1);
  let hard = ones;
  if (pruned > 0) {
    const smallest = F.topK(F.reshape(mag, [n]), pruned, -1, false).indices;
    hard = F.scatterElements(ones, smallest, F.zeros(g, [pruned], scores.dtype), 0);
  }
  return F.straightThrough(F.reshape(hard, [...scores.shape]), mag);
}

/**
 * The step graph's mask: the same forward value and straight-through gradient as traceMask, but the 0/1 pattern is
 * a bool input `keep` computed on the host by fillKeepMask. Why not traceMask in the step: ONNX Runtime constant-folds
 * its all-ones tensor (and the zeros it scatters) into initializers, one score-sized tensor per matrix held by the
 * session for its lifetime (measured: +256 MB per 64M entries at session creation; 2 GB on a 1B model), and its
 * TopK over a whole matrix took a third of a small step's time.
 */
export function inputMask(scores: Tensor, keep: Tensor): Tensor {
  if (keep.dtype !== 'bool' || keep.shape.join() !== scores.shape.join()) throw new Error(
    `inputMask: keep ${keep} must be bool of the scores' shape ${scores}`);
  return F.straightThrough(F.cast(keep, scores.dtype), F.abs(scores));
}

/**
 * Fills `keep` (1 = kept) with the mask of `scores`: 0 at the `pruned` entries with the smallest |score|, ties at the
 * threshold pruned in ascending index order (ONNX TopK's order, and masksFromScores'). The threshold is found by
 * quickselect on `scratch` (at least scores.length long, overwritten), so a 16M-entry matrix takes a fraction of a
 * second and no allocation.
 */
export function fillKeepMask(scores: Float32Array, pruned: number, keep: Uint8Array, scratch: Float32Array): void {
  const n = scores.length;
  if (!Number.isInteger(pruned) || pruned < 0 || pruned > n) throw new RangeError(
    `cannot prune ${pruned} of ${n} entries`);
  if (keep.length !== n || scratch.length < n) throw new RangeError(
    `fillKeepMask: ${n} scores, ${keep.length} mask entries, ${scratch.length} scratch entries`);
  if (pruned === 0) {
    keep.fill(1);
    return;
  }
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(scores[i]!);
  const threshold = kthSmallest(scratch, n, pruned - 1);
  let below = 0;
  for (let i = 0; i < n; i++) if (Math.abs(scores[i]!) < threshold) below++;
  let ties = pruned - below; // entries equal to the threshold still to prune, lowest index first
  for (let i = 0; i < n; i++) {
    const a = Math.abs(scores[i]!);
    if (a < threshold) keep[i] = 0;
    else if (a === threshold && ties > 0) {
      keep[i] = 0;
      ties--;
    } else keep[i] = 1;
  }
}

/** The value of rank `k` (0-based) among a[0..n) in ascending order; reorders a. Hoare quickselect, median of three. */
function kthSmallest(a: Float32Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three as the pivot, so sorted or constant runs do not go quadratic.
    let x = a[lo]!;
    let y = a[mid]!;
    let z = a[hi]!;
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * One torch.optim.SGD step, traced (PyTorch's order: weight decay into the gradient, then momentum, then the step):
 *   d = grad + wd·p;  buf ← μ·buf + d;  p ← p − lr·buf
 * With buf starting at 0 the first step gives buf = d, as torch's lazily created buffer does. `lr`, `momentum`,
 * `weightDecay` are scalar tensors (graph inputs) so that one compiled graph serves every setting.
 */
export function sgdMomentumUpdate(
  params: readonly Tensor[],
  grads: readonly Tensor[],
  bufs: readonly Tensor[],
  hp: { lr: Tensor; momentum: Tensor; weightDecay: Tensor },
): { params: Tensor[]; bufs: Tensor[] } {
  if (grads.length !== params.length || bufs.length !== params.length) {
    throw new Error(`sgdMomentumUpdate: ${params.length} params, ${grads.length} grads, ${bufs.length} buffers`);
  }
  const out = { params: [] as Tensor[], bufs: [] as Tensor[] };
  params.forEach((p, i) => {
    const d = F.add(grads[i]!, F.mul(p, hp.weightDecay));
    const buf = F.add(F.mul(bufs[i]!, hp.momentum), d);
    out.params.push(F.sub(p, F.mul(buf, hp.lr)));
    out.bufs.push(buf);
  });
  return out;
}

/**
 * The same torch.optim.SGD step as sgdMomentumUpdate, in place on host arrays: p and buf are overwritten. Every
 * operation is rounded to float32 as ONNX Runtime's separate Mul/Add/Sub kernels round, so the result is bit-for-bit
 * what the traced update gives.
 */
export function sgdMomentumStepInPlace(p: Float32Array, grad: Float32Array, buf: Float32Array, o: SgdOptions): void {
  if (grad.length !== p.length || buf.length !== p.length) throw new Error(
    `sgdMomentumStepInPlace: ${p.length} params, ${grad.length} grads, ${buf.length} buffer entries`);
  const f = Math.fround;
  const lr = f(o.lr);
  const mu = f(o.momentum);
  const wd = f(o.weightDecay);
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    const d = f(grad[i]! + f(pi * wd));
    const b = f(f(buf[i]! * mu) + d);
    buf[i] = b;
    p[i] = f(pi - f(b * lr));
  }
}

/** ONNX names of the step graph's score inputs and gradient outputs. */
export const subnetNames = {
  score: (n: string) => `score:${n}`,
  keep: (n: string) => `keep:${n}`,
  grad: (n: string) => `grad:score:${n}`,
} as const;

/**
 * The edge-popup objective of one batch, Σ coef_i·ℓ_i, with each MLP matrix of `mats` multiplied by its mask
 * (`masks[i]` for `mats[i]`); returns it with the per-sequence LM losses ℓ (`rowLoss`). Shared by the host-path
 * step (masks fed from the host) and the device step (masks traced from the scores).
 */
export function subnetObjective(c: ModelConfig, P: Parameters<typeof modelForward>[1],
  mats: ReturnType<typeof subnetMatrices>, masks: readonly Tensor[], tokens: Tensor,
  coef: Tensor): { loss: Tensor; rowLoss: Tensor } {
  const weightMasks: { up?: Tensor; down?: Tensor }[] = Array.from({ length: dims(c).layers }, () => ({}));
  mats.forEach((m, i) => {
    weightMasks[m.layer]![m.role] = masks[i]!;
  });
  const { logits } = modelForward(c, P, tokens, { weightMasks });
  const rowLoss = nextTokenLoss(logits, tokens, 'sequence');
  return { loss: F.reduceSum(F.mul(rowLoss, coef)), rowLoss };
}

/**
 * Traces one edge-popup step for a batch of `rows` sequences of `cols` tokens. Inputs: every model weight (constant
 * during training), `score:NAME` and its bool mask `keep:NAME` (fillKeepMask of the scores) per MLP matrix, `tokens`
 * [rows, cols] int64, `coef` [rows] (the per-row loss coefficients). Outputs: `grad:score:NAME` (∂objective/∂score, for
 * sgdMomentumStepInPlace), the objective `loss`
 * and the per-sequence LM losses `rowLoss` [rows].
 */
export function buildSubnetStep(c: ModelConfig, rows: number, cols: number) {
  const g = new Graph();
  const P = declareParams(g, c);
  const mats = subnetMatrices(c);
  const scores = mats.map((m) => g.input(subnetNames.score(m.name), 'float32', m.shape));
  const keeps = mats.map((m) => g.input(subnetNames.keep(m.name), 'bool', m.shape));
  const tokens = g.input('tokens', 'int64', [rows, cols]);
  const coef = g.input('coef', 'float32', [rows]);

  const { loss, rowLoss } = subnetObjective(c, P, mats, mats.map((_, i) => inputMask(scores[i]!, keeps[i]!)), tokens,
    coef);
  const grads = gradients(loss, scores);

  const outputs: Record<string, Tensor> = { loss, rowLoss };
  mats.forEach((m, i) => {
    outputs[subnetNames.grad(m.name)] = grads[i]!;
  });
  return compileGraph(g, outputs, 'subnet-step');
}

/** A batch of the edge-popup loop: rows of `data` and their loss coefficients. */
export interface SubnetBatch {
  data: TokenMatrix;
  rows: readonly number[];
  coef: Float32Array;
}

export interface SubnetTraining {
  /** Method id, for messages. */
  id: string;
  ratio: number;
  epochs: number;
  /** The batches of one epoch (called once per epoch; may shuffle). */
  epoch: (e: number) => SubnetBatch[];
  /** Progress label, e.g. "training scores on the forget set". */
  stage: string;
  sgd?: SgdOptions;
}

/** Per-matrix prune counts ⌊ratio·numel⌋. */
export function pruneCounts(c: ModelConfig, ratio: number): Map<string, number> {
  return new Map(subnetMatrices(c).map((m) => [m.name, pruneCount(ratio, m.shape[0] * m.shape[1])]));
}

/** The final 0/1 masks: per matrix, 0 at the ⌊ratio·numel⌋ smallest |score| (ties: the lower index is pruned first). */
export function masksFromScores(scores: ReadonlyMap<string, Float32Array>,
  pruned: ReadonlyMap<string, number>): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  const scratch = new Float32Array(Math.max(0, ...[...scores.values()].map((s) => s.length)));
  for (const [name, s] of scores) {
    const keep = new Uint8Array(s.length);
    fillKeepMask(s, pruned.get(name) ?? 0, keep, scratch);
    masks.set(name, keep);
  }
  return masks;
}

/**
 * Trains the scores for `t.epochs` epochs, one graph run per batch, then bakes the final masks into a copy of the
 * weights. Reports the objective after every batch and honours the abort signal between batches.
 */
export async function trainSubnet(ctx: UnlearnContext, t: SubnetTraining): Promise<UnlearnResult & {
  scores: Map<string, Float32Array>; }> {
  const { config: c, runtime: rt } = ctx;
  const sgd = t.sgd ?? SUBNET_SGD;
  const pruned = pruneCounts(c, t.ratio);
  const mats = subnetMatrices(c);
  for (const m of mats) if (!ctx.params.has(m.name)) throw new Error(`${t.id}: the model has no tensor "${m.name}"`);
  // On the CPU (and for large models) scores, momentum and masks are updated in place on the host: one copy of each
  // for the whole run. With a device provider first (WebGPU) the whole step runs there (deviceStep.ts).
  const onDevice = usesDeviceStep(rt, c);
  let st: SubnetState | null = onDevice ? null : createSubnetState(c, ctx.params, ctx.seed, t.ratio, sgd);
  let device: DeviceSubnet | null = null;

  let done = 0;
  let total = 0;
  let lastLoss: number | undefined;
  let scores: Map<string, Float32Array>;
  try {
    if (onDevice) device = await DeviceSubnet.create(rt, c, ctx.params, initScores(c, ctx.seed), pruned, sgd);
    throwIfAborted(ctx.signal);
    for (let e = 0; e < t.epochs; e++) {
      const batches = t.epoch(e);
      if (e === 0) total = batches.length * t.epochs;
      for (const b of batches) {
        throwIfAborted(ctx.signal);
        const tokens = tokensOf(b.data, b.rows);
        const loss = device ? await device.step(tokens, b.coef, b.data.cols)
          : await subnetStep(rt, c, st!, tokens, b.coef, b.data.cols);
        if (!Number.isFinite(loss)) throw new Error(
          `${t.id}: the loss became ${loss} at batch ${done + 1}; the scores diverged`);
        lastLoss = loss;
        done++;
        ctx.onProgress?.({ stage: t.stage, done, total, loss });
      }
    }
    scores = device ? await device.hostScores() : st!.scores;
  } finally {
    device?.dispose(); // the device state (WebGPU), whether the run finished, was stopped or failed
  }
  st = null; // momentum and step masks are done with: let them go before the masked weights are allocated
  const masks = masksFromScores(scores, pruned);
  const params: Params = applyMasks(ctx.params, masks);
  const notes = [
    `${mats.length} MLP matrices, ⌊${t.ratio}·numel⌋ = ${[...new Set(pruned.values())].join('/')} entries ` +
      'pruned per matrix',
    `${done} SGD steps on the scores (lr ${sgd.lr}, momentum ${sgd.momentum}, weight decay ${sgd.weightDecay})` +
      (lastLoss === undefined ? '' : `, final objective ${lastLoss.toFixed(4)}`),
  ];
  return { params, masks, notes, scores };
}

/** What one edge-popup training run keeps between steps; every array is updated in place. */
export interface SubnetState {
  mats: { name: string; shape: [number, number] }[];
  scores: Map<string, Float32Array>;
  /** SGD momentum buffers (zeros at the start, as torch's lazily created buffers). */
  bufs: Map<string, Float32Array>;
  /** Step masks (1 = kept), refilled from the scores before every step: one byte per weight. */
  keeps: Map<string, Uint8Array>;
  /** Quickselect scratch, as long as the largest matrix. */
  scratch: Float32Array;
  pruned: ReadonlyMap<string, number>;
  sgd: SgdOptions;
  /** The feeds every step shares: weights, score:NAME and keep:NAME (the arrays above, so in-place updates show). */
  feeds: Record<string, Float32Array | Uint8Array>;
}

export function createSubnetState(c: ModelConfig, params: ReadonlyMap<string, Float32Array>, seed: number,
  ratio: number, sgd: SgdOptions = SUBNET_SGD): SubnetState {
  const mats = subnetMatrices(c);
  const scores = initScores(c, seed);
  const size = (m: { shape: [number, number] }) => m.shape[0] * m.shape[1];
  const bufs = new Map(mats.map((m) => [m.name, new Float32Array(size(m))]));
  const keeps = new Map(mats.map((m) => [m.name, new Uint8Array(size(m))]));
  const feeds: SubnetState['feeds'] = Object.fromEntries(params);
  for (const m of mats) {
    feeds[subnetNames.score(m.name)] = scores.get(m.name)!;
    feeds[subnetNames.keep(m.name)] = keeps.get(m.name)!;
  }
  return { mats, scores, bufs, keeps, scratch: new Float32Array(Math.max(0, ...mats.map(size))),
    pruned: pruneCounts(c, ratio), sgd, feeds };
}

/**
 * Rows per step-graph run. A step's ONNX Runtime memory is mostly the activations kept for the backward pass and
 * the cross-entropy's [tokens, vocab] temporaries: measured ~125 MB per 80-token row on a Pythia-410M shape, so the
 * paper's batch of 64 would need 8 GB (and a 1B model twice that). Large models therefore run a batch as several
 * runs of at most SUBNET_ACTIVATION_BUDGET and add up the score gradients (the objective Σ c_i·ℓ_i is a sum over
 * rows, so this is the same gradient up to float rounding). Small models (TinyMem) run the batch whole, as before.
 */
export function microBatchRows(c: ModelConfig, rows: number, cols: number): number {
  const d = dims(c);
  if (4 * countParams(c) <= LARGE_MODEL_INPUT_BYTES) return rows;
  // A calibrated estimate of the bytes per row: per layer ~6·C + 1.5·I + H·T floats per token, plus ~2 V for the loss.
  const perRow = 4 * cols * (d.layers * (6 * d.hidden + 1.5 * d.inner + d.heads * cols) + 2 * d.vocab);
  // Splitting costs one more score-sized array (the gradient accumulator): only worth it when it saves more.
  const gradBytes = 4 * mlpMatrices(c).reduce((n, m) => n + m.shape[0] * m.shape[1], 0);
  if (rows * perRow <= SUBNET_ACTIVATION_BUDGET + gradBytes) return rows;
  const most = Math.max(1, Math.min(rows, Math.floor(SUBNET_ACTIVATION_BUDGET / perRow)));
  return Math.ceil(rows / Math.ceil(rows / most)); // equal runs where possible: at most two compiled shapes
}

/**
 * On large models, frees the gradient arrays just dropped before the next run starts. They are ArrayBuffers that
 * onnxruntime-node allocated outside the V8 heap; V8 only collects them at its next GC, which a blocking ONNX Runtime
 * run never triggers, so without this the previous step's gradients stayed resident through the next run (measured
 * on a 410M model: peak RSS 8.7 GiB at step 0, 10.3 GiB at step 1). With a tiny V8 heap a full GC takes milliseconds.
 */
function collectGarbage(c: ModelConfig): void {
  if (4 * countParams(c) > LARGE_MODEL_INPUT_BYTES) forceGc();
}

/** Activation memory one step-graph run may use on a large model (see microBatchRows). */
export const SUBNET_ACTIVATION_BUDGET = 2 ** 30;

/**
 * One training step on a batch (`tokens` [rows, cols] int64, per-row coefficients `coef`): refills the masks from the
 * scores, runs the step graph (in micro-batches on large models), and applies the summed score gradients in place to
 * the scores and momentum buffers. Returns the objective; a non-finite one leaves the state untouched. The gradient
 * arrays each run returns are dropped as soon as they are added and collected before the next run, so at most the
 * accumulator and one run's arrays are alive.
 */
export async function subnetStep(
  rt: Runtime,
  c: ModelConfig,
  st: SubnetState,
  tokens: BigInt64Array,
  coef: Float32Array,
  cols: number,
  /** Rows per graph run; default microBatchRows (tests force a split with it). */
  rowsPerRun?: number,
): Promise<number> {
  const rows = coef.length;
  if (tokens.length !== rows * cols) throw new Error(`subnetStep: ${tokens.length} tokens for ${rows} rows of ${cols}`);
  for (const m of st.mats) fillKeepMask(st.scores.get(m.name)!, st.pruned.get(m.name) ?? 0, st.keeps.get(m.name)!,
    st.scratch);
  const size = Math.max(1, Math.min(rows, rowsPerRun ?? microBatchRows(c, rows, cols)));
  const run = { loss: 0, acc: null as Float32Array[] | null };
  for (let s = 0; s < rows; s += size) {
    // Frees the previous step's or run's gradient arrays before this run allocates new ones.
    collectGarbage(c);
    const n = Math.min(size, rows - s);
    const feeds = n === rows ? { ...st.feeds, tokens, coef }
      : { ...st.feeds, tokens: tokens.subarray(s * cols, (s + n) * cols), coef: coef.subarray(s, s + n) };
    await runAndAccumulate(await subnetSession(rt, c, n, cols), feeds, st.mats, run);
  }
  if (!Number.isFinite(run.loss)) return run.loss;
  st.mats.forEach((m, i) => sgdMomentumStepInPlace(st.scores.get(m.name)!, run.acc![i]!, st.bufs.get(m.name)!, st.sgd));
  return run.loss;
}

/**
 * One graph run: adds its objective to run.loss and its score gradients to run.acc (the first run's arrays become
 * the accumulator). A function of its own so that the returned arrays are referenced only from this frame, which is
 * gone when it returns: a suspended async frame of the caller would keep stale references to them alive through
 * the next run, where collectGarbage could not free them.
 */
async function runAndAccumulate(
  session: CompiledSession,
  feeds: Record<string, Float32Array | BigInt64Array | Uint8Array>,
  mats: readonly { name: string }[],
  run: { loss: number; acc: Float32Array[] | null },
): Promise<void> {
  const { outputs } = await session.run(feeds);
  run.loss += (outputs.loss as Float32Array)[0]!;
  const grads = mats.map((m) => outputs[subnetNames.grad(m.name)] as Float32Array);
  if (!run.acc) {
    run.acc = grads;
    return;
  }
  grads.forEach((g, i) => {
    const a = run.acc![i]!;
    for (let j = 0; j < a.length; j++) a[j] += g[j]!;
  });
}

function subnetSession(rt: Runtime, c: ModelConfig, rows: number, cols: number) {
  return rt.session(`methods:subnet-step:${configKey(c)}:${rows}x${cols}`, () => buildSubnetStep(c, rows, cols));
}

/** Checks shared by both methods: a non-empty forget set that fits the model, matching retain columns. */
export function checkSets(id: string, c: ModelConfig, forget: TokenMatrix, retain?: TokenMatrix): void {
  if (forget.rows === 0) throw new Error(`${id}: the forget set is empty (no memorized sequences): there is nothing ` +
    `to unlearn`);
  if (forget.cols > dims(c).context) throw new Error(
    `${id}: forget sequences have ${forget.cols} tokens, more than the model's context ${contextField(c)}`);
  if (retain && retain.rows > 0 && retain.cols !== forget.cols) {
    throw new Error(`${id}: retain sequences have ${retain.cols} tokens but forget sequences ${forget.cols}; they ` +
      `must have the same length`);
  }
}
