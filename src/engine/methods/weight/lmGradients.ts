// What the weight-level methods share: the weighted language-model loss, one compiled "loss and gradients for a
// batch" session per shape, gradient accumulation over batches in memory-sized runs, and the MLP tensor names.
//
// Every objective here is a weighted sum of per-sequence losses, Σ_b w_b·ℓ_b with ℓ_b the mean next-token
// cross-entropy of sequence b (Hugging Face's causal-LM loss for one sequence). Every sequence counts the same number
// of tokens (T − 1), so w_b = 1/B gives exactly the batch's mean LM loss, w_b = −y_b/B Greedy's objective, and w_b = 0
// a padding row. That lets one compiled shape serve full and partial batches, and lets a batch that does not fit the
// memory budget run as several smaller runs whose gradients add up to the same result.
import { F, Graph, type Tensor, compileGraph, gradients } from '../../graph/index';
import { type TokenMatrix } from '../../data/tokenMatrix';
import { type ModelConfig, configKey, declareParams, dims, isMlpTensor as isMlpTensorOfModel, modelForward,
  paramShapes } from '../../model/architecture';
import type { Runtime } from '../../runtime/session';
import type { StepState } from '../../runtime/stepState';
import { modelOnDevice } from '../shared/modelFeeds';
import type { Params, UnlearnContext } from '../types';
import { throwIfAborted, tokensOf } from '../shared/batches';
import { nextTokenLoss } from '../../model/nextTokenLoss';

/** The default bound on large intermediates when the caller gives none (UnlearnContext.memoryBudget). */
export const DEFAULT_MEMORY_BUDGET = 512 * 1024 * 1024;

/**
 * The MLP tensors (GPT-2 c_fc/c_proj, GPT-NeoX dense_h_to_4h/dense_4h_to_h weights and biases): the only tensors
 * Durable, Durable-aggregate and SOU edit.
 */
export const isMlpTensor = isMlpTensorOfModel;

export function mlpTensorNames(c: ModelConfig): string[] {
  return paramShapes(c).map(([n]) => n).filter(isMlpTensor);
}

export const allTensorNames = (c: ModelConfig): string[] => paramShapes(c).map(([n]) => n);

export function tensorSizes(c: ModelConfig): Map<string, number> {
  return new Map(paramShapes(c).map(([n, s]) => [n, s.reduce((a, b) => a * b, 1)]));
}

/**
 * Rough bytes one sequence of T tokens needs for a forward and backward pass: per layer the saved activations
 * (residual, LayerNorm outputs, q/k/v, attention output and projection: ~10·C; the MLP pre-activation, activation
 * and its gradient: 3·inner; attention scores, probabilities and their gradient: 3·H·T), the logits and their
 * softmax and gradient (3·V) and the embeddings, all float32, doubled for the backward pass's temporaries.
 */
export function bytesPerRow(c: ModelConfig, T: number): number {
  const d = dims(c);
  const perToken = d.layers * (10 * d.hidden + 3 * d.inner + 3 * d.heads * T) + 3 * d.vocab + 2 * d.hidden;
  return 2 * 4 * T * perToken;
}

/** Rows per ONNX Runtime run so that one run's activations stay within `budget` bytes (at least 1, at most `max`). */
export function rowsPerRun(c: ModelConfig, T: number, max: number, budget = DEFAULT_MEMORY_BUDGET): number {
  return Math.max(1, Math.min(max, Math.floor(budget / bytesPerRow(c, T))));
}

/** The weighted loss Σ_b w_b·ℓ_b of tokens [B, T] with weights [B] (traced into `g`). */
export function weightedSequenceLoss(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor,
  weights: Tensor): Tensor {
  const { logits } = modelForward(c, P, tokens);
  const perSeq = nextTokenLoss(logits, tokens, 'sequence'); // [B]
  return F.reduceSum(F.mul(perSeq, weights));
}

/** Output name of the gradient of tensor `name`. */
export const gradName = (name: string): string => `grad:${name}`;

/** A session computing `loss` = Σ w_b·ℓ_b over tokens [R, T] and its gradient `grad:NAME` for each `wrt` tensor. */
function gradientSession(rt: Runtime, c: ModelConfig, wrt: readonly string[], R: number, T: number) {
  return rt.session(`weight-grads:${configKey(c)}:${R}x${T}:${wrt.join(',')}`, () => {
    const g = new Graph();
    const P = declareParams(g, c);
    const tokens = g.input('tokens', 'int64', [R, T]);
    const weights = g.input('weights', 'float32', [R]);
    const loss = weightedSequenceLoss(c, P, tokens, weights);
    const grads = gradients(loss, wrt.map((n) => P[n]!));
    const outputs: Record<string, Tensor> = { loss };
    wrt.forEach((n, i) => (outputs[gradName(n)] = grads[i]!));
    return compileGraph(g, outputs, 'weight-grads');
  });
}

/** Tokens and weights of rows [start, start + R) of a weighted row list, padded with weight-0 rows to R. */
export function paddedChunk(m: TokenMatrix, rows: readonly number[], weights: readonly number[], start: number,
  R: number): { tokens: BigInt64Array; weights: Float32Array } {
  const take = rows.slice(start, start + R);
  const tokens = new BigInt64Array(R * m.cols);
  tokens.set(tokensOf(m, take));
  const w = new Float32Array(R);
  for (let i = 0; i < take.length; i++) w[i] = weights[start + i]!;
  return { tokens, weights: w };
}

export interface GradientOptions {
  /** Rows per ONNX Runtime run (pad the last); the rows of one call are split into runs of this size. */
  rowsPerRun: number;
  signal?: AbortSignal;
  /** Adds into these accumulators (one per `wrt` tensor) instead of fresh ones. */
  into?: Map<string, Float64Array>;
}

/**
 * Σ_b w_b·ℓ_b over the listed rows of `m` and its gradient with respect to the `wrt` tensors, accumulated in float64
 * over runs of `rowsPerRun` rows.
 */
export async function weightedLossGradients(
  rt: Runtime,
  c: ModelConfig,
  model: StepState,
  m: TokenMatrix,
  rows: readonly number[],
  weights: readonly number[],
  wrt: readonly string[],
  o: GradientOptions,
): Promise<{ loss: number; grads: Map<string, Float64Array> }> {
  if (rows.length !== weights.length) throw new RangeError(`${rows.length} rows but ${weights.length} weights`);
  const sizes = tensorSizes(c);
  const grads = o.into ?? new Map(wrt.map((n) => [n, new Float64Array(sizes.get(n)!)]));
  const R = Math.max(1, Math.min(o.rowsPerRun, rows.length));
  const session = await gradientSession(rt, c, wrt, R, m.cols);
  const feeds = model.feeds();
  let loss = 0;
  for (let s = 0; s < rows.length; s += R) {
    throwIfAborted(o.signal);
    const chunk = paddedChunk(m, rows, weights, s, R);
    const r = await session.run({ ...feeds, tokens: chunk.tokens, weights: chunk.weights });
    loss += (r.outputs.loss as Float32Array)[0]!;
    for (const n of wrt) {
      const acc = grads.get(n)!;
      const d = r.outputs[gradName(n)] as Float32Array;
      for (let i = 0; i < d.length; i++) acc[i]! += d[i]!;
    }
  }
  return { loss, grads };
}

/** Row indices 0 … n−1 (or `order`) in consecutive batches of `batch` rows; the last may be smaller. */
export function rowBatches(n: number, batch: number, order?: ArrayLike<number>): number[][] {
  const idx = order ? Array.from(order) : Array.from({ length: n }, (_, i) => i);
  const out: number[][] = [];
  for (let s = 0; s < idx.length; s += batch) out.push(idx.slice(s, s + batch));
  return out;
}

/**
 * Durable's and SOU's first step: the gradient of the mean LM loss of each forget batch (`batch` rows, in order),
 * summed over the batches, as the reference's `.backward()` per batch without zeroing does.
 */
export async function forgetGradientSum(ctx: UnlearnContext, wrt: readonly string[], batch: number,
  stage: string): Promise<{ loss: number; grads: Map<string, Float64Array> }> {
  const { runtime: rt, config: c, params, forget } = ctx;
  if (forget.rows === 0) throw new Error('the forget set is empty: there is nothing to unlearn');
  const R = rowsPerRun(c, forget.cols, batch, ctx.memoryBudget);
  const batches = rowBatches(forget.rows, batch);
  const grads = new Map(wrt.map((n) => [n, new Float64Array(params.get(n)!.length)]));
  let loss = 0;
  const model = await modelOnDevice(rt, c, params);
  try {
    for (let b = 0; b < batches.length; b++) {
      throwIfAborted(ctx.signal);
      const rows = batches[b]!;
      const r = await weightedLossGradients(rt, c, model, forget, rows, rows.map(() => 1 / rows.length), wrt,
        { rowsPerRun: R, signal: ctx.signal, into: grads });
      loss += r.loss;
      ctx.onProgress?.({ stage, done: b + 1, total: batches.length, loss: loss / (b + 1) });
    }
  } finally {
    model.dispose();
  }
  return { loss: loss / batches.length, grads };
}

/** Checks that `params` holds every tensor of the config with the right size, naming the first that does not. */
export function checkParams(c: ModelConfig, params: Params): void {
  for (const [name, shape] of paramShapes(c)) {
    const a = params.get(name);
    const n = shape.reduce((x, y) => x * y, 1);
    if (!a) throw new Error(`the model has no tensor "${name}"`);
    if (a.length !== n) throw new Error(`tensor "${name}" has ${a.length} values; its shape [${shape.join(', ')}] ` +
      `needs ${n}`);
  }
}
