// What the five neuron-level methods (spec §4.D) share: input checks, the hyper-parameters they have in common,
// parameter feeds, and sizing of batched runs to the context's memory budget.
import type { HyperParamSpec } from '../../../shared/methodTypes';
import { type ModelConfig, contextField, dims, mlpNames } from '../../model/architecture';
import { tokensOf } from '../shared/batches';
import type { UnlearnContext } from '../types';
import { ratioParam } from '../shared/hyperParams';

/** Used when the context gives no memory budget. */
export const DEFAULT_MEMORY_BUDGET = 512 * 2 ** 20;

// (GPT-NeoX: the dense_h_to_4h rows and biases; the label keeps the GPT-2 names the UI and tests know.)
export const EDITS = 'MLP c_fc weight columns and biases of the ablated neurons';

/** The fraction of each layer's MLP neurons to ablate; ⌊ratio·inner⌋ per layer, so 0.001 of 512 is a no-op (§7.3). */
export const RATIO_SPEC = (def: number): HyperParamSpec =>
  ratioParam(def, [0.001, 0.01, 0.05], 'Fraction of each layer\'s MLP neurons to ablate (⌊ratio·inner⌋ per layer, ' +
    `highest scores first); our default ${def} (tuned on the test fixture)`);

export const configKey = (c: ModelConfig): string => JSON.stringify(c);

export const budgetOf = (ctx: UnlearnContext): number => ctx.memoryBudget ?? DEFAULT_MEMORY_BUDGET;

/** Shapes the neuron methods rely on: a non-empty forget set that fits the context, a prompt inside it. */
export function checkInputs(ctx: UnlearnContext, what: string, opts: { suffix?: boolean } = {}): { N: number;
  T: number; L: number; inner: number; } {
  const { forget, config } = ctx;
  if (forget.rows < 1) throw new Error(`${what}: the forget set is empty (the model memorizes none of the ` +
    `sequences), so there is nothing to unlearn`);
  const T = forget.cols;
  if (T < 2) throw new Error(`${what}: forget sequences need at least 2 tokens, got ${T}`);
  const d = dims(config);
  if (T > d.context) throw new Error(`${what}: forget sequences have ${T} tokens, more than the model's context ` +
    `${contextField(config)}`);
  if (opts.suffix) {
    const p = ctx.promptLength;
    if (!Number.isInteger(p) || p < 1 || p > T - 1) {
      throw new Error(`${what}: promptLength must be an integer in [1, ${T - 1}] for ${T}-token sequences, got ${p}`);
    }
  }
  for (let l = 0; l < d.layers; l++) {
    const n = mlpNames(config, l);
    for (const name of [n.up, n.upBias, n.down]) {
      if (!ctx.params.has(name)) throw new Error(`${what}: the model has no tensor ${name}`);
    }
  }
  return { N: forget.rows, T, L: d.layers, inner: d.inner };
}

/** The forget set's rows as int64 token rows, converted once. */
export function forgetRows(ctx: UnlearnContext): BigInt64Array[] {
  const all = tokensOf(ctx.forget, Array.from({ length: ctx.forget.rows }, (_, i) => i));
  const T = ctx.forget.cols;
  return Array.from({ length: ctx.forget.rows }, (_, r) => all.subarray(r * T, (r + 1) * T));
}

/** The rows `pick` (indices into `rows`, repeats allowed for padding) packed into one int64 [pick.length, T] feed. */
export function packRows(rows: readonly BigInt64Array[], pick: readonly number[], T: number): BigInt64Array {
  const out = new BigInt64Array(pick.length * T);
  pick.forEach((r, k) => out.set(rows[r]!, k * T));
  return out;
}

/**
 * How many rows of `bytesPerRow` one run may hold within `budget` (at least 1, at most `max`), then evened out so that
 * `total` rows split into equal runs: e.g. 35 rows with room for 20 become runs of 18 and 17 rather than 20 and 15.
 */
export function rowsPerRun(budget: number, bytesPerRow: number, total: number, max = Infinity): number {
  const fit = Math.max(1, Math.min(max, total, Math.floor(budget / Math.max(1, bytesPerRow))));
  const runs = Math.ceil(total / fit);
  return Math.ceil(total / runs);
}

/**
 * Peak bytes of one sequence's forward pass as ONNX Runtime runs it: attention scores, their masked and softmaxed
 * copies, the MLP intermediates and the logits, with the slack of its memory arena (calibrated by measuring the
 * peak resident memory of batched runs). Used only to size batches.
 */
export function forwardBytesPerRow(c: ModelConfig, T: number): number {
  const d = dims(c);
  return 4 * T * (6 * d.inner + 16 * d.hidden + 6 * d.heads * T + 4 * d.vocab);
}

/** The same for a forward and backward pass, which keeps every layer's activations for the backward pass. */
export function trainingBytesPerRow(c: ModelConfig, T: number): number {
  const d = dims(c);
  return 4 * T * (d.layers * (4 * d.inner + 12 * d.hidden + 4 * d.heads * T) + 4 * d.vocab);
}
