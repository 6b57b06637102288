// The edge-popup machinery shared by Subnet and BalancedSubnet (spec §4.E; Ramanujan et al., "What's hidden in a
// randomly weighted neural network?"): every MLP weight matrix gets a score tensor of its shape; the forward pass
// uses W ⊙ mask, where mask zeroes the ⌊ratio·numel⌋ entries with the smallest |score| of that matrix; the gradient
// reaches the scores straight through the mask; SGD with momentum and weight decay trains the scores only. The
// weights stay constant graph inputs. At the end the mask is baked into the weights.
//
// One training step (forward, backward, SGD update of scores and momentum buffers) is one compiled ONNX graph per
// batch shape. Both methods share that graph: the loss is Σ_i c_i·ℓ_i over the batch's per-sequence LM losses ℓ_i
// with per-row coefficients c_i fed at run time (Subnet: c_i = −1/B; BalancedSubnet: see balancedSubnet.ts).
//
// Score tensors are sized from the model's config. The reference hard-codes the TinyMem (128↔512) and Pythia-6.9B
// (4096↔16384) MLP shapes (spec §7.12); the intended behaviour, one score per weight of whatever model is edited, is
// what this file does.
import { F, Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { Rng, deriveSeed } from '../../data/rng';
import type { TokenMatrix } from '../../data/tokenMatrix';
import { type ModelConfig, configKey, contextField, declareParams, dims, mlpMatrices, modelForward, nextTokenTargets } from '../../model/architecture';
import type { Runtime } from '../../runtime/session';
import { tokensOf, throwIfAborted } from '../shared/batches';
import { applyMasks, keepMask, pruneCount, topKIndices } from '../shared/pruning';
import type { Params, UnlearnContext, UnlearnResult } from '../types';

/** SGD settings of the Subnet methods (spec §4.C "fixed values"; torch.optim.SGD semantics, dampening 0, no Nesterov). */
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
export function subnetMatrices(c: ModelConfig): { name: string; layer: number; role: 'up' | 'down'; shape: [number, number] }[] {
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
  if (!Number.isInteger(pruned) || pruned < 0 || pruned > n) throw new RangeError(`cannot prune ${pruned} of ${n} entries`);
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

/** ONNX names of the step graph's score and momentum tensors. */
export const subnetNames = {
  score: (n: string) => `score:${n}`,
  buf: (n: string) => `momentum:${n}`,
  newScore: (n: string) => `new:score:${n}`,
  newBuf: (n: string) => `new:momentum:${n}`,
} as const;

/**
 * Traces one edge-popup step for a batch of `rows` sequences of `cols` tokens. Inputs: every GPT-2 weight (constant
 * during training), `score:NAME` and `momentum:NAME` per MLP matrix, `tokens` [rows, cols] int64, `coef` [rows]
 * (the per-row loss coefficients), scalars `lr`, `mu`, `wd`. Outputs: `new:score:NAME`, `new:momentum:NAME`, the
 * objective `loss` (before the update) and the per-sequence LM losses `rowLoss` [rows].
 */
export function buildSubnetStep(c: ModelConfig, rows: number, cols: number, pruned: ReadonlyMap<string, number>) {
  const g = new Graph();
  const P = declareParams(g, c);
  const mats = subnetMatrices(c);
  const scores = mats.map((m) => g.input(subnetNames.score(m.name), 'float32', m.shape));
  const bufs = mats.map((m) => g.input(subnetNames.buf(m.name), 'float32', m.shape));
  const tokens = g.input('tokens', 'int64', [rows, cols]);
  const coef = g.input('coef', 'float32', [rows]);
  const [lr, mu, wd] = ['lr', 'mu', 'wd'].map((n) => g.input(n, 'float32', []));

  const weightMasks: { up?: Tensor; down?: Tensor }[] = Array.from({ length: dims(c).layers }, () => ({}));
  mats.forEach((m, i) => {
    weightMasks[m.layer]![m.role] = traceMask(scores[i]!, pruned.get(m.name) ?? 0);
  });
  const { logits } = modelForward(c, P, tokens, { weightMasks });
  const rowLoss = F.crossEntropy(logits, nextTokenTargets(tokens), { reduction: 'sequence' });
  const loss = F.reduceSum(F.mul(rowLoss, coef));
  const grads = gradients(loss, scores);
  const upd = sgdMomentumUpdate(scores, grads, bufs, { lr: lr!, momentum: mu!, weightDecay: wd! });

  const outputs: Record<string, Tensor> = { loss, rowLoss };
  mats.forEach((m, i) => {
    outputs[subnetNames.newScore(m.name)] = upd.params[i]!;
    outputs[subnetNames.newBuf(m.name)] = upd.bufs[i]!;
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
export function masksFromScores(scores: ReadonlyMap<string, Float32Array>, pruned: ReadonlyMap<string, number>): Map<string, Uint8Array> {
  const masks = new Map<string, Uint8Array>();
  for (const [name, s] of scores) {
    const negMag = Float32Array.from(s, (v) => -Math.abs(v));
    masks.set(name, keepMask(s.length, topKIndices(negMag, pruned.get(name) ?? 0)));
  }
  return masks;
}

/**
 * Trains the scores for `t.epochs` epochs, one graph run per batch, then bakes the final masks into a copy of the
 * weights. Reports the objective after every batch and honours the abort signal between batches.
 */
export async function trainSubnet(ctx: UnlearnContext, t: SubnetTraining): Promise<UnlearnResult & { scores: Map<string, Float32Array> }> {
  const { config: c, runtime: rt } = ctx;
  const sgd = t.sgd ?? SUBNET_SGD;
  const pruned = pruneCounts(c, t.ratio);
  const mats = subnetMatrices(c);
  for (const m of mats) if (!ctx.params.has(m.name)) throw new Error(`${t.id}: the model has no tensor "${m.name}"`);
  let scores: Map<string, Float32Array> = initScores(c, ctx.seed);
  let bufs = new Map<string, Float32Array>(mats.map((m) => [m.name, new Float32Array(m.shape[0] * m.shape[1])]));
  const weights = Object.fromEntries(ctx.params);
  const prunedKey = mats.map((m) => pruned.get(m.name)).join(',');

  let done = 0;
  let total = 0;
  let lastLoss: number | undefined;
  throwIfAborted(ctx.signal);
  for (let e = 0; e < t.epochs; e++) {
    const batches = t.epoch(e);
    if (e === 0) total = batches.length * t.epochs;
    for (const b of batches) {
      throwIfAborted(ctx.signal);
      const rows = b.rows.length;
      const cols = b.data.cols;
      const session = await subnetSession(rt, c, rows, cols, pruned, prunedKey);
      const feeds: Record<string, Float32Array | BigInt64Array> = { ...weights, tokens: tokensOf(b.data, b.rows), coef: b.coef };
      for (const m of mats) {
        feeds[subnetNames.score(m.name)] = scores.get(m.name)!;
        feeds[subnetNames.buf(m.name)] = bufs.get(m.name)!;
      }
      feeds.lr = Float32Array.of(sgd.lr);
      feeds.mu = Float32Array.of(sgd.momentum);
      feeds.wd = Float32Array.of(sgd.weightDecay);
      const { outputs } = await session.run(feeds);
      const loss = (outputs.loss as Float32Array)[0]!;
      if (!Number.isFinite(loss)) throw new Error(`${t.id}: the loss became ${loss} at batch ${done + 1}; the scores diverged`);
      scores = new Map(mats.map((m) => [m.name, outputs[subnetNames.newScore(m.name)] as Float32Array]));
      bufs = new Map(mats.map((m) => [m.name, outputs[subnetNames.newBuf(m.name)] as Float32Array]));
      lastLoss = loss;
      done++;
      ctx.onProgress?.({ stage: t.stage, done, total, loss });
    }
  }
  const masks = masksFromScores(scores, pruned);
  const params: Params = applyMasks(ctx.params, masks);
  const notes = [
    `${mats.length} MLP matrices, ⌊${t.ratio}·numel⌋ = ${[...new Set(pruned.values())].join('/')} entries pruned per matrix`,
    `${done} SGD steps on the scores (lr ${sgd.lr}, momentum ${sgd.momentum}, weight decay ${sgd.weightDecay})` +
      (lastLoss === undefined ? '' : `, final objective ${lastLoss.toFixed(4)}`),
  ];
  return { params, masks, notes, scores };
}

function subnetSession(rt: Runtime, c: ModelConfig, rows: number, cols: number, pruned: ReadonlyMap<string, number>, prunedKey: string) {
  return rt.session(`methods:subnet-step:${configKey(c)}:${rows}x${cols}:pruned=${prunedKey}`, () => buildSubnetStep(c, rows, cols, pruned));
}

/** Checks shared by both methods: a non-empty forget set that fits the model, matching retain columns. */
export function checkSets(id: string, c: ModelConfig, forget: TokenMatrix, retain?: TokenMatrix): void {
  if (forget.rows === 0) throw new Error(`${id}: the forget set is empty (no memorized sequences): there is nothing to unlearn`);
  if (forget.cols > dims(c).context) throw new Error(`${id}: forget sequences have ${forget.cols} tokens, more than the model's context ${contextField(c)}`);
  if (retain && retain.rows > 0 && retain.cols !== forget.cols) {
    throw new Error(`${id}: retain sequences have ${retain.cols} tokens but forget sequences ${forget.cols}; they must have the same length`);
  }
}
