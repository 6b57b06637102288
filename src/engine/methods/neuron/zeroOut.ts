// Zero-Out (spec §4.D, MemPi's Zero-Out): a neuron's score is how much the mean LM loss on the forget set rises when
// that one neuron's activation is zeroed: score(l, i) = mean_s loss(s | neuron i of layer l zeroed) − mean_s loss(s).
// The neurons whose removal hurts the memorized sequences most are ablated.
//
// NOT the reference's version: its coefficient vector is all zeros with a 1 at i, so it keeps only neuron i and
// silences the other 511 (spec §7.2). Here the mask is all ones with a 0 at i, as MemPi intends.
//
// The loss is the mean over forget sequences of Hugging Face's LM loss; the reference averages the means of 64-row
// batches, which weights a short last batch more, so the two differ only in that weighting.
//
// Cost: inner·L patched forward passes over the forget set. They are batched, many patches per run:
//  * last layer: nothing after its MLP but the final LayerNorm and the head, so one run takes S sequences and M
//    masks [M, 1, 1, inner]; the activations [S, T, inner] broadcast to [M, S, T, inner] and only the MLP output,
//    the LayerNorm and the head are computed per patch;
//  * earlier layers: every later block depends on the patch, so each (patch, sequence) pair is one row of a batched
//    forward pass with per-row masks [R, 1, inner].
// Each graph also evaluates the unpatched model, and scores subtract that same graph's baseline.
import { withModelFeeds } from '../shared/modelFeeds';
import { F, Graph, compileGraph } from '../../graph/index';
import { declareParams, dims, modelForward } from '../../model/architecture';
import { registerMethod } from '../registry';
import { throwIfAborted } from '../shared/batches';
import type { UnlearnContext } from '../types';
import { ablateNeurons } from './ablation';
import { EDITS, RATIO_SPEC, budgetOf, checkInputs, configKey, forgetRows, forwardBytesPerRow, packRows,
  rowsPerRun } from './common';
import { nextTokenLoss } from '../../model/nextTokenLoss';

/** Per layer, the Zero-Out score of each neuron (loss increase when it is zeroed). */
export async function zeroOutScores(ctx: UnlearnContext): Promise<Float32Array[]> {
  const { N, T, L, inner } = checkInputs(ctx, 'zero-out');
  const c = ctx.config;
  const budget = budgetOf(ctx);
  const rows = forgetRows(ctx);
  return withModelFeeds(ctx, async (feeds) => {
    const scores = Array.from({ length: L }, () => new Float32Array(inner));

    // ---- plan both kinds of runs, to report progress over all of them
    // Last layer: S sequences × M patches per run. Patch −1 is the baseline (all ones).
    const fwd = forwardBytesPerRow(c, T);
    const S1 = rowsPerRun(budget / 2, fwd, N, 64);
    // one (patch, sequence) pair after the last MLP
    const tail = 4 * T * (4 * inner + 8 * dims(c).hidden + 4 * dims(c).vocab);
    const M = rowsPerRun(Math.max(tail * S1, budget - S1 * fwd), tail * S1, inner + 1);
    const seqChunks1 = Math.ceil(N / S1);
    const patchChunks1 = Math.ceil((inner + 1) / M);
    // Earlier layers: items (patch, sequence), patch −1 the baseline, then (l, i) for l < L − 1.
    const early = (L - 1) * inner;
    const items2 = L > 1 ? (early + 1) * N : 0;
    const R = items2 ? rowsPerRun(budget, fwd, items2, 128) : 0; // larger batches run no faster
    const runs2 = items2 ? Math.ceil(items2 / R) : 0;
    const total = seqChunks1 * patchChunks1 + runs2;
    let done = 0;
    const progress = () => ctx.onProgress?.({ stage: 'zero-out', done: ++done, total });

    // ---- last layer
    const last = L - 1;
    const s1 = await ctx.runtime.session(`neuron-zero-out-last:${configKey(c)}:${S1}x${T}:${M}`, () => {
      const g = new Graph();
      const P = declareParams(g, c);
      const tokens = g.input('tokens', 'int64', [S1, T]);
      const masks = g.input('masks', 'float32', [M, 1, 1, inner]);
      // [M, S1, T, V]
      const { logits } = modelForward(c, P, tokens, { onActivation: (l, a) => (l === last ? F.mul(a, masks) : a) });
      return compileGraph(g, { loss: nextTokenLoss(logits, tokens, 'sequence') }); // [M, S1]
    });
    const lastSums = new Float64Array(inner + 1); // index 0: baseline, 1 + i: neuron i zeroed
    for (let s0 = 0; s0 < N; s0 += S1) {
      const nSeq = Math.min(S1, N - s0);
      const tokens = packRows(rows, Array.from({ length: S1 }, (_, k) => (k < nSeq ? s0 + k : s0)), T);
      for (let p0 = 0; p0 <= inner; p0 += M) {
        throwIfAborted(ctx.signal);
        const masks = new Float32Array(M * inner).fill(1);
        for (let m = 0; m < M; m++) {
          const patch = p0 + m - 1; // −1 = baseline; past the end: padding, left all ones
          if (patch >= 0 && patch < inner) masks[m * inner + patch] = 0;
        }
        const loss = (await s1.run({ ...feeds, tokens, masks })).outputs.loss as Float32Array;
        for (let m = 0; m < M && p0 + m <= inner; m++) {
          for (let k = 0; k < nSeq; k++) lastSums[p0 + m]! += loss[m * S1 + k]!;
        }
        progress();
      }
    }
    for (let i = 0; i < inner; i++) scores[last]![i] = (lastSums[1 + i]! - lastSums[0]!) / N;

    // ---- earlier layers
    if (items2) {
      const s2 = await ctx.runtime.session(`neuron-zero-out-rows:${configKey(c)}:${R}x${T}`, () => {
        const g = new Graph();
        const P = declareParams(g, c);
        const tokens = g.input('tokens', 'int64', [R, T]);
        const neuronMasks = Array.from({ length: L - 1 }, (_, l) => g.input(`mask${l}`, 'float32', [R, 1, inner]));
        const { logits } = modelForward(c, P, tokens, { neuronMasks });
        // [R]
        return compileGraph(g, { loss: nextTokenLoss(logits, tokens, 'sequence') });
      });
      const sums = new Float64Array(early + 1); // index 0: baseline, 1 + l·inner + i: neuron i of layer l zeroed
      for (let start = 0; start < items2; start += R) {
        throwIfAborted(ctx.signal);
        const n = Math.min(R, items2 - start);
        const pick: number[] = [];
        const masks = Array.from({ length: L - 1 }, () => new Float32Array(R * inner).fill(1));
        for (let k = 0; k < R; k++) {
          const item = start + Math.min(k, n - 1); // padding rows repeat the last item; their losses are ignored
          const patch = Math.floor(item / N) - 1;
          pick.push(item % N);
          if (patch >= 0) masks[Math.floor(patch / inner)]![k * inner + (patch % inner)] = 0;
        }
        const r = await s2.run(
          { ...feeds, tokens: packRows(rows, pick, T), ...Object.fromEntries(masks.map((m, l) => [`mask${l}`, m])) });
        const loss = r.outputs.loss as Float32Array;
        for (let k = 0; k < n; k++) sums[Math.floor((start + k) / N)]! += loss[k]!;
        progress();
      }
      for (let l = 0; l < L - 1; l++) {
        for (let i = 0; i < inner; i++) scores[l]![i] = (sums[1 + l * inner + i]! - sums[0]!) / N;
      }
    }
    return scores;
  });
}

registerMethod({
  id: 'zero-out',
  name: 'Zero-Out',
  family: 'neuron',
  description: 'Ablates the neurons whose zeroing most raises the loss on the memorized sequences (MemPi Zero-Out)',
  edits: EDITS,
  novel: false,
  usesRetain: false,
  // ratio 0.05: on the test fixture memorization falls from 48 % to 8 % (0.02: 8 %, 0.01: 20 %).
  hyperParams: [RATIO_SPEC(0.05)],
  async run(ctx) {
    const scores = await zeroOutScores(ctx);
    throwIfAborted(ctx.signal);
    return ablateNeurons(ctx.config, ctx.params, scores, ctx.hp.ratio as number, 'zero-out');
  },
});
