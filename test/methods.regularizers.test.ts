// The three regularizers (spec §4.A): loss truncation's ring buffer and cutoff on hand-made losses and its step loss
// against host-computed per-sequence losses; example-tied dropout's per-example channel masks and evaluation
// scaling; the spectral norm's persistent power iteration against exact singular values and its penalty gradient
// against finite differences of the true spectral norms (float64); and each regularizer training a tiny GPT-2
// through the real training loop (in-process, and once in the worker thread); trainRun recording it in tinymem.json.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { F, Graph, compileGraph, gradients } from '../src/engine/graph/index';
import { Rng } from '../src/engine/data/rng';
import { type Gpt2Config, declareGpt2Params, gpt2Forward, initGpt2Params } from '../src/engine/model/gpt2';
import { resolveGpt2Config } from '../src/engine/model/gpt2';
import { getRegularizer, resolveHyperParams } from '../src/engine/methods/registry';
import '../src/engine/methods/index';
import { LossDropper, percentile } from '../src/engine/methods/regularizers/lossTruncation';
import { exampleTiedEvalMask, exampleTiedMask,
  generalizationChannels } from '../src/engine/methods/regularizers/exampleTiedDropout';
import { powerIteration, spectralBlocks, spectralPenalty } from '../src/engine/methods/regularizers/spectralNorm';
import type { RegularizerContext, TrainingRegularizer } from '../src/engine/methods/types';
import { Runtime } from '../src/engine/runtime/session';
import { Trainer } from '../src/engine/train/trainStep';
import { getModel } from '../src/engine/train/models';
import { runTraining, startTraining } from '../src/engine/train/trainLoop';
import type { HyperValue } from '../src/shared/methodTypes';
import type { ArraysDataSource, TrainJob } from '../src/shared/engineMessages';
import type { RunManifest } from '../src/shared/runManifest';
import { resolvePreset } from '../src/engine/presets';
import { trainRun } from '../src/engine/runs/trainRun';
import { loadCheckpoint } from '../src/engine/model/checkpoint';

const rt = new Runtime({ threads: 1 });
after(() => rt.dispose());

const TINY: Gpt2Config = resolveGpt2Config(
  { vocab_size: 14, n_positions: 12, n_embd: 16, n_layer: 2, n_head: 2, activation_function: 'relu',
    initializer_range: 0.1 });
const shapesOf = (c: Gpt2Config) => getModel('gpt2').paramShapes(c);
const initOf = (c: Gpt2Config, seed: number) => {
  const r = new Rng(seed);
  return Object.fromEntries(initGpt2Params(c, () => r.normal()));
};
function regularizer(id: string, hp: Record<string, HyperValue> = {}, c: Gpt2Config = TINY,
  seed = 0): TrainingRegularizer {
  const m = getRegularizer(id);
  const ctx: RegularizerContext = { modelName: 'gpt2', config: c, paramShapes: shapesOf(c), seed,
    hp: resolveHyperParams(m, hp) };
  return m.create(ctx);
}
function tokenData(rows: number, c: Gpt2Config, seed: number): ArraysDataSource {
  const r = new Rng(seed);
  const data = Int32Array.from({ length: rows * c.n_positions }, () => r.int(c.vocab_size));
  return { kind: 'arrays', fields: { tokens: { dtype: 'int64', rowShape: [c.n_positions], data } } };
}

// ---- loss truncation ------------------------------------------------------------------------------------------------

test('percentile interpolates linearly like numpy', () => {
  const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted on purpose
  assert.ok(Math.abs(percentile(xs, 90) - 90.1) < 1e-12); // rank 0.9·99 = 89.1 → 90 + 0.1·(91 − 90)
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.equal(percentile([5, 1], 100), 5);
  assert.equal(percentile([5, 1], 0), 1);
});

test('loss truncation drops nothing until the buffer is full, then exactly the top dropc fraction', () => {
  const d = new LossDropper(0.1, 100);
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  const shuffled = Array.from(new Rng(1).permutation(100), (i) => values[i]!);
  d.record(shuffled.slice(0, 99));
  assert.equal(d.cutoff, Infinity);
  assert.deepEqual([...d.mask([1e6, 99, 1])], [1, 1, 1], 'nothing is dropped before 100 losses were seen');
  d.record(shuffled.slice(99));
  assert.ok(Math.abs(d.cutoff - 90.1) < 1e-9, `cutoff ${d.cutoff}`);
  const m = d.mask(values);
  assert.deepEqual(values.filter((_, i) => !m[i]), [91, 92, 93, 94, 95, 96, 97, 98, 99, 100],
    'exactly the top 10 % are dropped');
  // dropc 0.05 of the same buffer: the top 5 %.
  const d5 = new LossDropper(0.05, 100);
  d5.record(values);
  assert.deepEqual(values.filter((_, i) => !d5.mask(values)[i]), [96, 97, 98, 99, 100]);
  // A loss exactly at the cutoff is dropped (loss ≥ cutoff gets mask 0).
  const d0 = new LossDropper(0.5, 3);
  d0.record([1, 2, 3]);
  assert.equal(d0.cutoff, 2);
  assert.deepEqual([...d0.mask([1.5, 2, 2.5])], [1, 0, 0]);
});

test('loss truncation keeps its ring buffer of the last losses and recomputes the cutoff every `capacity` losses',
  () => {
    const d = new LossDropper(0.1, 100);
    d.record(Array.from({ length: 100 }, (_, i) => i + 1));
    assert.ok(Math.abs(d.cutoff - 90.1) < 1e-9);
    d.record(Array.from({ length: 99 }, (_, i) => 1000 + i)); // not yet due: the cutoff stays
    assert.ok(Math.abs(d.cutoff - 90.1) < 1e-9);
    d.record([1099]); // 100 new losses: the buffer now holds only 1000 … 1099
    assert.ok(Math.abs(d.cutoff - 1089.1) < 1e-9, `cutoff ${d.cutoff}`); // 1000 + 0.9·99
    const dz = new LossDropper(0, 10);
    dz.record(Array.from({ length: 20 }, (_, i) => i));
    assert.equal(dz.cutoff, Infinity, 'dropc 0 drops nothing');
    assert.throws(() => new LossDropper(1), /dropc must lie in \[0, 1\)/);
  });

test('the loss-truncation step loss is the mean over the full batch of the kept per-sequence losses', async () => {
  const reg = regularizer('loss-truncation', { dropc: 0.1 });
  const B = 6;
  const params = initOf(TINY, 5);
  const batch = tokenData(B, TINY, 9).fields.tokens!.data as Int32Array;
  // Independent per-sequence losses: logits from the forward pass, cross-entropy on the host in float64.
  const g = new Graph();
  const P = declareGpt2Params(g, TINY);
  const tokens = g.input('tokens', 'int64', [B, TINY.n_positions]);
  const s = await rt.create(compileGraph(g, { logits: gpt2Forward(TINY, P, tokens).logits }));
  const logits = (await s.run({ ...params, tokens: Array.from(batch) })).outputs.logits as Float32Array;
  const T = TINY.n_positions;
  const V = TINY.vocab_size;
  const host = Array.from({ length: B }, (_, b) => {
    let sum = 0;
    for (let t = 0; t < T - 1; t++) {
      const row = Array.from(logits.subarray(((b * T + t) * V), (b * T + t + 1) * V));
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      sum += lse - row[batch[b * T + t + 1]!]!;
    }
    return sum / (T - 1);
  });
  const trainer = new Trainer(rt,
    { key: 'lt-test', params: shapesOf(TINY),
      batch: (rows) => ({ tokens: { dtype: 'int64', shape: [rows, T] }, ...reg.batchSpec!(rows) }),
      loss: reg.loss(getModel('gpt2').loss(TINY)), hyper: { lr: 0 } }, { params });
  const sorted = [...host].sort((a, b) => a - b);
  for (const [cutoff, kept] of [[Infinity, B], [(sorted[3]! + sorted[4]!) / 2, 4], [sorted[0]! - 1, 0]] as const) {
    const r = await trainer.step({ tokens: batch, 'loss-truncation:cutoff': Float32Array.of(cutoff) }, { rows: B });
    const perSeq = r.outputs['loss-truncation:losses'] as Float32Array;
    perSeq.forEach((x, i) => assert.ok(Math.abs(x - host[i]!) < 1e-5, `sequence ${i}: ${x} vs ${host[i]}`));
    const expect = host.filter((x) => x < cutoff).reduce((a, x) => a + x, 0) / B;
    assert.equal(host.filter((x) => x < cutoff).length, kept);
    assert.ok(Math.abs(r.loss - expect) < 1e-5, `cutoff ${cutoff}: loss ${r.loss} vs ${expect}`);
  }
});

// ---- example-tied dropout -------------------------------------------------------------------------------------------

test('example-tied masks: generalization channels always kept, memorization channels fixed per example, ' +
  'kept with p_mem', () => {
  const C = 130;
  const [pGen, pMem] = [0.2, 0.1];
  const gen = generalizationChannels(C, pGen);
  assert.equal(gen, 26);
  let kept = 0;
  const N = 400;
  const seen = new Set<string>();
  for (let id = 0; id < N; id++) {
    const m = exampleTiedMask(7, id, C, pGen, pMem);
    assert.deepEqual(m, exampleTiedMask(7, id, C, pGen, pMem), 'the same example gets the same mask');
    for (let j = 0; j < gen; j++) assert.equal(m[j], 1, `example ${id}: generalization channel ${j} dropped`);
    for (let j = gen; j < C; j++) {
      assert.ok(m[j] === 0 || m[j] === 1);
      kept += m[j]!;
    }
    seen.add(m.join(''));
  }
  const rate = kept / (N * (C - gen));
  // Binomial(41 600, 0.1): sd ≈ 0.0015; 5 sd.
  assert.ok(Math.abs(rate - pMem) < 0.0075, `memorization channels kept at rate ${rate}, expected ${pMem}`);
  assert.ok(seen.size > N * 0.99, 'examples get their own masks');
  assert.notDeepEqual(exampleTiedMask(7, 3, C, pGen, pMem), exampleTiedMask(8, 3, C, pGen, pMem),
    'the run seed changes the masks');
});

test('example-tied dropout feeds each example the same channel mask in every epoch, in any batch position', () => {
  const reg = regularizer('example-tied-dropout', { p_mem: 0.3 }, TINY, 4);
  const C = TINY.n_embd;
  assert.deepEqual(reg.batchSpec!(3), { 'example-tied-dropout:mask': { dtype: 'float32', shape: [3, 1, C] } },
    'a mask over channels, broadcast over positions');
  const epoch1 = reg.feeds!({ exampleIds: Uint32Array.of(5, 2, 9) })[
    'example-tied-dropout:mask'] as Float32Array;
  const epoch2 = reg.feeds!({ exampleIds: Uint32Array.of(9, 5, 2) })[
    'example-tied-dropout:mask'] as Float32Array;
  const rowOf = (a: Float32Array, k: number) => Array.from(a.subarray(k * C, (k + 1) * C));
  assert.deepEqual(rowOf(epoch1, 0), rowOf(epoch2, 1)); // example 5
  assert.deepEqual(rowOf(epoch1, 1), rowOf(epoch2, 2)); // example 2
  assert.deepEqual(rowOf(epoch1, 2), rowOf(epoch2, 0)); // example 9
  assert.deepEqual(rowOf(epoch1, 0), Array.from(exampleTiedMask(4, 5, C, 0.2, 0.3)));
  const gen = generalizationChannels(C, 0.2);
  for (let k = 0; k < 3; k++) assert.deepEqual(rowOf(epoch1, k).slice(0, gen), new Array(gen).fill(1));
});

test('example-tied evaluation keeps only the generalization channels, scaled by (p_gen + p_mem)/p_gen', async () => {
  const m = exampleTiedEvalMask(10, 0.2, 0.1);
  assert.deepEqual(Array.from(m), [1.5, 1.5, 0, 0, 0, 0, 0, 0, 0, 0].map(Math.fround));
  assert.deepEqual(Array.from(exampleTiedEvalMask(128, 0.2, 0.05)).filter((x) => x !== 0).length, 25);
  assert.ok(Math.abs(exampleTiedEvalMask(128, 0.2, 0.05)[0]! - 1.25) < 1e-7);
  // In the forward pass the evaluation mask acts on every block input: with the memorization channels zeroed, the
  // logits do not depend on what the embeddings hold in those channels.
  const c = resolveGpt2Config({ ...TINY, n_layer: 1 });
  const g = new Graph();
  const P = declareGpt2Params(g, c);
  const tokens = g.input('tokens', 'int64', [1, 4]);
  const mask = F.constant(g, exampleTiedEvalMask(c.n_embd, 0.2, 0.1), 'float32', [1, 1, c.n_embd]);
  const s = await rt.create(compileGraph(g, { logits: gpt2Forward(c, P, tokens, { blockInputMasks: [mask] }).logits }));
  const params = initOf(c, 2);
  const base = (await s.run({ ...params, tokens: [1, 2, 3, 4] })).outputs.logits as Float32Array;
  const wpe = params['transformer.wpe.weight']!.slice();
  for (let t = 0; t < c.n_positions; t++) for (let j = generalizationChannels(c.n_embd, 0.2); j < c.n_embd;
    j++) wpe[t * c.n_embd + j] += 5;
  const moved = (
    await s.run({ ...params, 'transformer.wpe.weight': wpe, tokens: [1, 2, 3, 4] })).outputs.logits as Float32Array;
  base.forEach((x, i) => assert.ok(Math.abs(x - moved[i]!) < 1e-5, `logit ${i}: ${x} vs ${moved[i]}`));
});

// ---- spectral norm --------------------------------------------------------------------------------------------------

/** Largest singular value of a [rows, cols] block by the Jacobi eigenvalue method on BᵀB (float64, independent). */
function sigmaMax(W: ArrayLike<number>, rows: number, cols: number, c0 = 0, w = cols): number {
  const A = Array.from({ length: w }, (_, i) => Array.from({ length: w }, (_, j) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += W[r * cols + c0 + i]! * W[r * cols + c0 + j]!;
    return s;
  }));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < w; p++) for (let q = p + 1; q < w; q++) off += A[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < w; p++) {
      for (let q = p + 1; q < w; q++) {
        if (Math.abs(A[p]![q]!) < 1e-300) continue;
        const theta = (A[q]![q]! - A[p]![p]!) / (2 * A[p]![q]!);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < w; k++) {
          const akp = A[k]![p]!;
          const akq = A[k]![q]!;
          A[k]![p] = cs * akp - sn * akq;
          A[k]![q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < w; k++) {
          const apk = A[p]![k]!;
          const aqk = A[q]![k]!;
          A[p]![k] = cs * apk - sn * aqk;
          A[q]![k] = sn * apk + cs * aqk;
        }
      }
    }
  }
  return Math.sqrt(Math.max(...A.map((row, i) => row[i]!)));
}

/** One step of the traced power iteration (powerIteration), run in float64 on the CPU: updates `u` in place, fills
 * `dir` with u·vᵀ, returns each block's σ. */
async function powerIterationStep(W: ArrayLike<number>, rows: number, cols: number, u: Float64Array[],
  dir?: Float64Array): Promise<number[]> {
  const blocks = u.length;
  const s = await rt.session(`power-iteration:${rows}x${cols}/${blocks}`, () => {
    const g = new Graph();
    const it = powerIteration(g.input('w', 'float64', [rows, cols]), g.input('u', 'float64', [blocks, rows]), blocks);
    return compileGraph(g, { newU: it.u, dir: it.dir, sigma: it.sigma });
  });
  const o = (await s.run({ w: Float64Array.from(W), u: Float64Array.from(u.flatMap((x) => Array.from(x))) })).outputs;
  u.forEach((x, k) => x.set((o.newU as Float64Array).subarray(k * rows, (k + 1) * rows)));
  dir?.set(o.dir as Float64Array);
  return Array.from(o.sigma as Float64Array);
}

test('persistent power iteration converges to the largest singular value (2×2 by hand, random blocks by Jacobi)',
  async () => {
    // [[3, 0], [4, 5]]: BᵀB = [[25, 20], [20, 25]], eigenvalues 45 and 5, so σ_max = √45.
    const u = [Float64Array.of(1, 0)];
    const first = (await powerIterationStep([3, 0, 4, 5], 2, 2, u))[0]!;
    let est = first;
    for (let k = 0; k < 60; k++) est = (await powerIterationStep([3, 0, 4, 5], 2, 2, u))[0]!;
    assert.ok(Math.abs(est - Math.sqrt(45)) < 1e-12, `σ ${est} vs √45`);
    assert.ok(first < est - 1e-3, 'one step from a poor start is not yet converged: the vector persists across calls');
    // A 6×8 matrix in two column blocks of 4 (as c_attn is split per head).
    const r = new Rng(3);
    const W = Float64Array.from({ length: 48 }, () => r.normal());
    const us = [0, 1].map(() => Float64Array.from({ length: 6 }, () => r.normal()));
    let sig: number[] = [];
    const trace: number[] = [];
    for (let k = 0; k < 300; k++) trace.push((sig = await powerIterationStep(W, 6, 8, us))[0]!);
    for (const b of [0, 1]) {
      const exact = sigmaMax(W, 6, 8, 4 * b, 4);
      assert.ok(Math.abs(sig[b]! - exact) < 1e-9, `block ${b}: ${sig[b]} vs ${exact}`);
    }
    for (let k = 1; k < trace.length; k++) assert.ok(trace[k]! >= trace[k - 1]! - 1e-12,
      'the estimate never decreases');
  });

test('the regularized blocks are the reference\u2019s: per-head c_attn and c_proj, whole MLP matrices, nothing else',
  () => {
    const c = resolveGpt2Config({ ...TINY, n_head: 4 });
    const blocks = Object.entries(shapesOf(c)).map(([n, s]) => [n, spectralBlocks(n, s, c.n_head)] as const).filter(
      ([, b]) => b > 0);
    assert.deepEqual(blocks, [0, 1].flatMap((l) => [
      [`transformer.h.${l}.attn.c_attn.weight`, 12],
      [`transformer.h.${l}.attn.c_proj.weight`, 4],
      [`transformer.h.${l}.mlp.c_fc.weight`, 1],
      [`transformer.h.${l}.mlp.c_proj.weight`, 1],
    ]));
  });

test('the spectral penalty\u2019s gradient equals finite differences of (λ/2)·Σσ_max (float64)', async () => {
  const [rows, cols, blocks, lam] = [5, 6, 2, 0.3];
  const r = new Rng(11);
  const W0 = Float64Array.from({ length: rows * cols }, () => r.normal());
  const u = Array.from({ length: blocks }, () => Float64Array.from({ length: rows }, () => r.normal()));
  const M = new Float64Array(rows * cols);
  for (let k = 0; k < 500; k++) await powerIterationStep(W0, rows, cols, u, M); // converged u, v
  const g = new Graph();
  const w = g.input('w', 'float64', [rows, cols]);
  const m = g.input('m', 'float64', [rows, cols]);
  const pen = spectralPenalty([w], [m], lam);
  const [gw] = gradients(pen, [w]);
  const s = await rt.create(compileGraph(g, { pen, gw: gw! }));
  const o = (await s.run({ w: W0, m: M })).outputs;
  const f = (W: ArrayLike<number>) => (lam / 2) * [0, 1].reduce((a, b) => a + sigmaMax(W, rows, cols, b * 3, 3), 0);
  assert.ok(Math.abs((o.pen as Float64Array)[0]! - f(W0)) < 1e-10, 'penalty value');
  const eps = 1e-6;
  for (let d = 0; d < 3; d++) {
    const v = Float64Array.from({ length: W0.length }, () => r.normal());
    const fd = (f(W0.map((x, i) => x + eps * v[i]!)) - f(W0.map((x, i) => x - eps * v[i]!))) / (2 * eps);
    const an = (o.gw as Float64Array).reduce((a, x, i) => a + x * v[i]!, 0);
    assert.ok(Math.abs(an - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `direction ${d}: ${an} vs ${fd}`);
  }
});

// ---- through the training loop --------------------------------------------------------------------------------------

function job(over: Partial<TrainJob> = {}): TrainJob {
  return { model: { name: 'gpt2', config: TINY }, hyper: { lr: 1e-2 }, data: tokenData(32, TINY, 1), seed: 2,
    batchSize: 8, steps: 8, runtime: { threads: 1 }, ...over };
}
const totalSigma = (params: Record<string, Float32Array>) =>
  Object.entries(shapesOf(TINY)).reduce((acc, [n, s]) => {
    const b = spectralBlocks(n, s, TINY.n_head);
    let sum = 0;
    for (let k = 0; k < b; k++) sum += sigmaMax(params[n]!, s[0]!, s[1]!, (k * s[1]!) / b, s[1]! / b);
    return acc + sum;
  }, 0);

test('spectral-norm trains a tiny GPT-2 and lowers the summed spectral norms', async () => {
  const plain = await runTraining(job(), { runtime: rt });
  const reg = await runTraining(job({ regularizer: { id: 'spectral-norm', hp: { lam: 1 } } }), { runtime: rt });
  assert.equal(reg.result.steps, 8);
  assert.ok(reg.result.losses.every(Number.isFinite));
  const [a, b] = [totalSigma(plain.result.state.params), totalSigma(reg.result.state.params)];
  assert.ok(b < a - 0.05, `Σσ with λ = 1: ${b.toFixed(3)}, without: ${a.toFixed(3)}`);
  const sum = reg.result.regularizer!;
  assert.equal(sum.blocks, 2 * (3 * 2 + 2 + 2));
  // The last step's estimate is a lower bound of the true Σσ of the weights it was computed from.
  assert.ok(sum.sigmaSum! > 0 && sum.sigmaSum! <= totalSigma(initOf(TINY, 2)) + 10);
});

test('loss-truncation in the training loop: nothing dropped before 10,000 sequences, then exactly the top dropc',
  async () => {
  // lr 0 keeps every row's loss fixed, so the buffer holds 5 copies of the same 2000 losses and the cutoff splits
  // them exactly: after the buffer fills, each epoch drops the 200 rows with the highest loss.
    const data = tokenData(2000, TINY, 4);
    const run = (steps: number) =>
      runTraining(
        job({ data, hyper: { lr: 0 }, batchSize: 1000, steps,
          regularizer: { id: 'loss-truncation', hp: { dropc: 0.1 } } }), { runtime: rt });
    const before = await run(10);
    assert.deepEqual([before.result.regularizer!.seen, before.result.regularizer!.dropped], [10_000, 0]);
    assert.ok(before.result.regularizer!.cutoff! > 0, 'the cutoff is set once 10,000 losses were seen');
    const out = await run(12);
    assert.equal(out.result.regularizer!.dropped, 200);
    assert.deepEqual(out.result.losses.slice(0, 10), before.result.losses);
    // Steps 11–12 see every row once, as steps 1–2 did: their summed batch losses lose exactly the dropped rows' share.
    const L = out.result.losses;
    const ratio = (L[10]! + L[11]!) / (L[0]! + L[1]!);
    assert.ok(ratio > 0.8 && ratio < 0.9, `kept share of the loss ${ratio}`);
    // With training (lr 1e-2) the run stays finite and the summary counts what it saw.
    const trained = await runTraining(job({ regularizer: { id: 'loss-truncation' } }), { runtime: rt });
    assert.ok(trained.result.losses.every(Number.isFinite)
      && trained.result.losses.at(-1)! < trained.result.losses[0]!);
    assert.deepEqual(trained.result.regularizer, { seen: 64, dropped: 0, cutoff: -1 });
  });

test('example-tied-dropout trains a tiny GPT-2 in the worker thread, the job crossing as plain data',
  { timeout: 30_000 }, async () => {
    const j = job({ regularizer: { id: 'example-tied-dropout', hp: { p_mem: 0.1 } } });
    const inProcess = await runTraining(j, { runtime: rt });
    const worker = await startTraining(j).result;
    assert.equal(worker.status, 'done');
    assert.deepEqual(worker.result.losses, inProcess.result.losses,
      'the worker applies the regularizer exactly as in-process');
    assert.deepEqual(worker.result.regularizer, { examples: 32, generalizationChannels: 3, channels: 16 });
    const plain = await runTraining(job(), { runtime: rt });
    assert.notDeepEqual(inProcess.result.losses, plain.result.losses, 'the masks change training');
  });

test('a job\u2019s regularizer is validated, naming the field', async () => {
  await assert.rejects(runTraining(job({ regularizer: { id: 'nope' } }), { runtime: rt }),
    /^Error: regularizer\.id: unknown method "nope"/);
  await assert.rejects(runTraining(job({ regularizer: { id: 'ft-clean' } }), { runtime: rt }),
    /regularizer\.id: "ft-clean" is a fine-tuning method/);
  await assert.rejects(runTraining(job({ regularizer: { id: 'spectral-norm', hp: { lam: -1 } } }), { runtime: rt }),
    /regularizer\.hp: spectral-norm: lam: -1 is out of range/);
  await assert.rejects(runTraining(job({ regularizer: { id: 'loss-truncation', hp: { drop: 0.1 } } }),
    { runtime: rt }), /unknown hyper-parameter "drop"/);
  await assert.rejects(
    runTraining(job({ model: { name: 'test-mlp', config: {} }, regularizer: { id: 'spectral-norm' } }),
      { runtime: rt }), /unknown model|defined for model gpt2/);
});

test('trainRun records the regularizer, its hyper-parameters and its summary in tinymem.json', { timeout: 60_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-reg-'));
    try {
      const preset = resolvePreset('cpu-math-noise',
        { 'model.n_layer': '1', 'model.n_embd': '16', 'model.n_head': '2', 'data.numMain': '40', 'data.numExtra': '10',
          'data.numTest': '10', 'data.numNoise': '10', 'train.epochs': '2' });
      const run = trainRun({ preset, out: path.join(dir, 'ckpt'), evaluate: false, runtime: { threads: 1 },
        regularizer: { id: 'spectral-norm', hyperParams: { lam: '0.1' } } });
      const r = await run.result;
      const onDisk = JSON.parse(fs.readFileSync(path.join(r.dir, 'tinymem.json'), 'utf8')) as RunManifest;
      assert.deepEqual(onDisk.regularizer!.hyperParams, { lam: 0.1 });
      assert.equal(onDisk.regularizer!.id, 'spectral-norm');
      assert.equal(onDisk.regularizer!.summary!.blocks, 2 * 3 + 2 + 2);
      assert.throws(
        () => trainRun(
          { preset, out: path.join(dir, 'never'),
            regularizer: { id: 'loss-truncation', hyperParams: { dropc: '2' } } }),
        /dropc: 2 is out of range/);
      assert.ok(!fs.existsSync(path.join(dir, 'never')), 'a bad regularizer fails before anything is written');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

test('an example-tied dropout run saves its evaluation mode in config.json, and the loaded model runs in that mode',
  { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-etd-'));
    try {
      const preset = resolvePreset('cpu-math-noise',
        { 'model.n_layer': '2', 'model.n_embd': '16', 'model.n_head': '2', 'data.numMain': '40', 'data.numExtra': '10',
          'data.numTest': '10', 'data.numNoise': '10', 'train.epochs': '1' });
      const r = await trainRun({ preset, out: path.join(dir, 'ckpt'), evaluate: false, runtime: { threads: 1 },
        regularizer: { id: 'example-tied-dropout', hyperParams: { p_mem: '0.05' } } }).result;
      const { config, params } = loadCheckpoint(r.dir);
      const expected = exampleTiedEvalMask(16, 0.2, 0.05);
      assert.deepEqual(config.tinymem_block_input_scale, Array.from(expected));
      // The plain forward pass of the loaded config equals the forward pass with the evaluation mask given explicitly.
      const g = new Graph();
      const P = declareGpt2Params(g, config);
      const tokens = g.input('tokens', 'int64', [1, 6]);
      const mask = F.constant(g, expected, 'float32', [1, 1, 16]);
      const s = await rt.create(compileGraph(g, {
        plain: gpt2Forward(config, P, tokens).logits,
        explicit: gpt2Forward(config, P, tokens, { blockInputMasks: [mask, mask] }).logits,
        unscaled: gpt2Forward({ ...config, tinymem_block_input_scale: undefined }, P, tokens).logits,
      }));
      const out = (await s.run({ ...Object.fromEntries(params), tokens: [1, 2, 3, 4, 5, 6] })).outputs;
      const [plain, explicit, unscaled] = [out.plain, out.explicit, out.unscaled] as Float32Array[];
      plain!.forEach((x, i) => assert.ok(Math.abs(x - explicit![i]!) < 1e-5, `logit ${i}: ${x} vs ${explicit![i]}`));
      assert.ok(plain!.some((x, i) => Math.abs(x - unscaled![i]!) > 1e-3), 'the evaluation mode changes the logits');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
