// Second-Order Unlearning (SOU; the reference's `obs`, after oBERT; spec §4.E). Optimal Brain Surgeon saliency with
// an empirical Fisher: for each MLP tensor, F = λ·I + (1/m)·Σ_j g_j·g_jᵀ over m forget-batch gradients, kept
// block-diagonal (blocks of B consecutive entries) and inverted by Woodbury rank-1 updates (blockFisher.ts). The
// saliency w²/(2·[F⁻¹]_ii) estimates how much the forget loss rises when w alone is zeroed; in every MLP tensor the
// ⌊ratio·numel⌋ entries with the largest saliency (the weights the memorized data needs most) are zeroed.
//
// Default ratio 0.01, from the paper's grid {1e-5, 1e-4, 1e-3, 0.01, 0.05}: on the test fixture it lowers
// memorization from 48 % to 28 % (token accuracy 98.0 → 97.3 %); 0.05 reaches 0 % but costs accuracy (→ 88 %).
// numGrads 512, blockSize 50 and damping 1e-7 are the values the reference fixes; batchSize 512 is its batch size.
//
// Decisions:
// * Intended behaviour, not the reference's: the reference never zeroes `.grad`, so its j-th "gradient" is the sum of
//   all forget-batch gradients so far (plus a first full pass). oBERT's empirical Fisher, which it adapts, uses each
//   batch's own gradient; that is what this does. (On a forget set that fits in one batch both give rank-1 blocks
//   along the same gradient, and nearly the same ranking.)
// * The m gradients cycle through the forget batches (fixed batches, rows shuffled once with the seed). A batch used
//   c times contributes c·g·gᵀ/m through one update of weight c, which is exactly c repeated updates, so each distinct
//   batch costs one forward/backward pass and one update, however large m is.
// * Memory: the inverse blocks take numel·B·8 bytes. MLP tensors are processed in groups of blocks that fit half the
//   memory budget; the batch gradients are kept between groups when they fit a quarter, else recomputed per group.
import { Rng } from '../../data/rng';
import { registerMethod } from '../registry';
import { throwIfAborted } from '../shared/batches';
import { pruneCount, topKIndices } from '../shared/pruning';
import type { UnlearnContext, UnlearnResult } from '../types';
import { BlockFisherInverse, obsSaliency } from './blockFisher';
import { prunedNotes, zeroSelected } from './durable';
import { DEFAULT_MEMORY_BUDGET, checkParams, mlpTensorNames, rowBatches, rowsPerRun,
  weightedLossGradients } from './lmGradients';
import { WEIGHT_RATIO_GRID, batchSizeParam, ratioParam } from '../shared/hyperParams';

/** A run of consecutive entries [start, end) of one tensor, covered by whole Fisher blocks. */
interface Slice {
  name: string;
  start: number;
  end: number;
}

/** Splits the tensors into groups of block-aligned slices whose inverse blocks take at most `bytes` each. */
export function fisherGroups(sizes: readonly [string, number][], blockSize: number, bytes: number): Slice[][] {
  const perBlock = blockSize * blockSize * 8;
  const maxBlocks = Math.max(1, Math.floor(bytes / perBlock));
  const groups: Slice[][] = [];
  let group: Slice[] = [];
  let used = 0;
  for (const [name, n] of sizes) {
    let start = 0;
    while (start < n) {
      if (used === maxBlocks) {
        groups.push(group);
        group = [];
        used = 0;
      }
      const blocks = Math.min(maxBlocks - used, Math.ceil((n - start) / blockSize));
      const end = Math.min(n, start + blocks * blockSize);
      group.push({ name, start, end });
      used += blocks;
      start = end;
    }
  }
  if (group.length) groups.push(group);
  return groups;
}

/** How many of m gradient samples, cycling through `batches` batches, fall on each batch. */
export function batchUses(m: number, batches: number): number[] {
  return Array.from({ length: Math.min(m, batches) }, (_, b) => Math.floor(m / batches) + (b < m % batches ? 1 : 0));
}

async function run(ctx: UnlearnContext): Promise<UnlearnResult> {
  const { runtime: rt, config: c, params, forget } = ctx;
  throwIfAborted(ctx.signal);
  checkParams(c, params);
  if (forget.rows === 0) throw new Error('the forget set is empty: there is nothing to unlearn');
  const ratio = ctx.hp.ratio as number;
  const m = ctx.hp.numGrads as number;
  const B = ctx.hp.blockSize as number;
  const damping = ctx.hp.damping as number;
  const batchSize = ctx.hp.batchSize as number;
  const budget = ctx.memoryBudget ?? DEFAULT_MEMORY_BUDGET;

  const names = mlpTensorNames(c);
  const sizes = names.map((n) => [n, params.get(n)!.length] as [string, number]);
  const totalMlp = sizes.reduce((s, [, n]) => s + n, 0);
  const batches = rowBatches(forget.rows, batchSize, new Rng(ctx.seed).permutation(forget.rows));
  const uses = batchUses(m, batches.length);
  // Half the budget for the inverse blocks of one group, a quarter for a run's activations, a quarter for the cache.
  const R = rowsPerRun(c, forget.cols, batchSize, budget / 4);
  const groups = fisherGroups(sizes, B, budget / 2);
  const cacheGradients = groups.length === 1 || uses.length * totalMlp * 4 <= budget / 4;
  const cached: (Map<string, Float32Array> | undefined)[] = [];
  const total = groups.length * uses.length;
  let done = 0;

  const batchGradient = async (b: number): Promise<Map<string, Float32Array>> => {
    const hit = cached[b];
    if (hit) return hit;
    const rows = batches[b]!;
    const { grads } = await weightedLossGradients(rt, c, params, forget, rows, rows.map(() => 1 / rows.length), names,
      { rowsPerRun: R, signal: ctx.signal });
    const out = new Map([...grads].map(([n, g]) => [n, Float32Array.from(g)]));
    if (cacheGradients) cached[b] = out;
    return out;
  };

  const saliency = new Map(names.map((n) => [n, new Float64Array(params.get(n)!.length)]));
  for (const group of groups) {
    const fishers = group.map((s) => new BlockFisherInverse(s.end - s.start, B, damping, m));
    for (let b = 0; b < uses.length; b++) {
      throwIfAborted(ctx.signal);
      const g = await batchGradient(b);
      group.forEach((s, i) => fishers[i]!.addGradient(g.get(s.name)!.subarray(s.start, s.end), uses[b]!));
      ctx.onProgress?.({ stage: 'Fisher inverse', done: ++done, total });
    }
    group.forEach((s, i) => {
      const w = params.get(s.name)!.subarray(s.start, s.end);
      saliency.get(s.name)!.set(obsSaliency(w, fishers[i]!.diagonal()), s.start);
    });
  }

  throwIfAborted(ctx.signal);
  const selected = new Map(
    names.map((n) => [n, topKIndices(saliency.get(n)!, pruneCount(ratio, params.get(n)!.length))]));
  const out = zeroSelected(params, selected);
  return {
    params: out.params,
    masks: out.masks,
    notes: [
      `empirical Fisher from ${m} gradients over ${batches.length} distinct forget batch${batches.length === 1 ? ''
        : 'es'}; blocks of ${B}, λ = ${damping}; ${groups.length} memory group${groups.length === 1 ? '' : 's'}`,
      ...prunedNotes(params, out.pruned),
    ],
  };
}

registerMethod({
  id: 'sou',
  name: 'Second-Order Unlearning (SOU)',
  family: 'weight',
  description: 'Zeroes, in each MLP tensor, the weights with the largest OBS saliency w²/(2[F⁻¹]ᵢᵢ) under a ' +
    'block-diagonal empirical Fisher of the forget set.',
  edits: 'MLP up and down projection weights and biases (GPT-2 c_fc/c_proj, GPT-NeoX dense_h_to_4h/dense_4h_to_h)',
  novel: true,
  usesRetain: false,
  hyperParams: [
    ratioParam(0.01, WEIGHT_RATIO_GRID, 'Fraction of each MLP tensor to zero: ⌊ratio·numel⌋ entries per tensor.'),
    { name: 'numGrads', type: 'integer', default: 512, min: 1, max: 1_000_000, grid: [512],
      description: 'Gradients m averaged into the empirical Fisher.' },
    { name: 'blockSize', type: 'integer', default: 50, min: 1, max: 1024, grid: [50],
      description: 'Size of the diagonal blocks of the Fisher.' },
    { name: 'damping', type: 'number', default: 1e-7, min: 1e-12, max: 1e6, grid: [1e-7],
      description: 'Damping λ added to the Fisher diagonal.' },
    batchSizeParam(512, 'Forget sequences per gradient sample.'),
  ],
  run,
});
