// Subnet and BalancedSubnet (spec §4.E): the straight-through score gradient and the SGD step against hand-derived
// values, the score initialisation, and both methods on the memorizing fixture (only MLP weights change, exactly
// ⌊ratio·numel⌋ pruned per matrix, memorization drops; BalancedSubnet removes most of it at little accuracy cost),
// plus cancellation and hyper-parameter validation. The figures are relative to the fixture's own (any seed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { F, Graph, compileGraph, gradients } from '../src/engine/graph/index';
import { tokenMatrix } from '../src/engine/data/tokenMatrix';
import { getMethod, resolveHyperParams } from '../src/engine/methods/registry';
import '../src/engine/methods/subnet/index';
import { balancedCoefficients } from '../src/engine/methods/subnet/balancedSubnet';
import { createSubnetState, fillKeepMask, initScores, sgdMomentumStepInPlace, sgdMomentumUpdate, subnetMatrices,
  subnetStep, traceMask } from '../src/engine/methods/subnet/edgePopup';
import { tokensOf } from '../src/engine/methods/shared/batches';
import { pruneCount } from '../src/engine/methods/shared/pruning';
import type { UnlearnContext, UnlearnResult } from '../src/engine/methods/types';
import type { HyperValue, MethodProgress } from '../src/shared/methodTypes';
import { Runtime } from '../src/engine/runtime/session';
import { type MemorizingModel, accuracyOn, memorizationOn, memorizingModel,
  methodContext } from './helpers/memorizingModel';

const rt = new Runtime({ threads: 2 });
after(() => rt.dispose());

let fx: MemorizingModel;
before(async () => {
  fx = await memorizingModel(rt);
});

const accuracyOf = (params: Map<string, Float32Array>) => accuracyOn(rt, fx, params);
const memorizationOf = (params: Map<string, Float32Array>) => memorizationOn(rt, fx, params);
/** One line per method run on the fixture: its seed and figures before and after. */
const figures = (what: string, mem: number, acc: number) =>
  console.log(`fixture seed ${fx.seed}: ${what}: memorization ${fx.memorized.toFixed(1)} % → ${mem.toFixed(1)} %, ` +
    `accuracy ${fx.accuracy.toFixed(2)} % → ${acc.toFixed(2)} %`);

const context = (id: string, hp: Record<string, HyperValue> = {},
  extra: Partial<UnlearnContext> = {}): UnlearnContext => methodContext(rt, fx, id, hp, extra);

const copyParams = (p: Map<string, Float32Array>) => new Map([...p].map(([k, v]) => [k, v.slice()]));

/** The checks every run of either method must pass; returns the prune count per matrix. */
function checkPruned(res: UnlearnResult, ratio: number, before: Map<string, Float32Array>): void {
  const mats = subnetMatrices(fx.config);
  assert.deepEqual([...res.masks.keys()].sort(), mats.map((m) => m.name).sort());
  for (const [name, orig] of fx.params) {
    const got = res.params.get(name)!;
    assert.deepEqual(orig, before.get(name), `the input tensor ${name} was mutated`);
    const mask = res.masks.get(name);
    if (!mask) {
      assert.deepEqual(got, orig, `${name} is not an MLP matrix and must not change`);
      continue;
    }
    const zeros = mask.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    assert.equal(zeros, pruneCount(ratio, orig.length), `${name}: pruned count`);
    for (let i = 0; i < orig.length; i++) assert.equal(got[i], mask[i] ? orig[i] : 0, `${name}[${i}] is not W ⊙ mask`);
  }
}

test('the straight-through gradient reaching the scores equals sign(s) ⊙ W ⊙ ∂L/∂W_eff (hand-derived)', async () => {
  // y = x · (W ⊙ mask(s)), L = Σ_j u_j·y_j. ∂L/∂W_eff[i][j] = x_i·u_j, so ∂L/∂s[i][j] = sign(s_ij)·W_ij·x_i·u_j,
  // whether or not the entry is pruned (straight through).
  const g = new Graph();
  const w = g.input('w', 'float32', [2, 3]);
  const s = g.input('s', 'float32', [2, 3]);
  const x = g.input('x', 'float32', [1, 2]);
  const u = g.input('u', 'float32', [3]);
  const mask = traceMask(s, 2);
  const loss = F.reduceSum(F.mul(F.matmul(x, F.mul(w, mask)), u));
  const [gs] = gradients(loss, [s]);
  const sess = await rt.create(compileGraph(g, { loss, mask, gs: gs! }));
  const W = [0.5, -1, 2, 1.5, 0.25, -3];
  const S = [0.3, -0.05, 0.7, -0.2, 0.01, -0.9];
  const X = [2, -1];
  const U = [1, 0.5, -2];
  const r = await sess.run({ w: W, s: S, x: X, u: U });
  const out = (k: string) => [...(r.outputs[k] as Float32Array)];
  // The two smallest |s| are 0.01 (index 4) and 0.05 (index 1).
  assert.deepEqual(out('mask'), [1, 0, 1, 1, 0, 1]);
  const expectGrad = S.map((sv, k) => Math.sign(sv) * W[k]! * X[Math.floor(k / 3)]! * U[k % 3]!);
  out('gs').forEach((v, k) => assert.ok(Math.abs(v - expectGrad[k]!) < 1e-6, `grad[${k}] = ${v}, expected ` +
    `${expectGrad[k]}`));
  const expectLoss = [0, 2, 3, 5].reduce((a, k) => a + W[k]! * X[Math.floor(k / 3)]! * U[k % 3]!, 0);
  assert.ok(Math.abs(out('loss')[0]! - expectLoss) < 1e-6);
});

test('the SGD update (momentum 0.9, weight decay 5e-4, lr 0.1) matches a hand-computed torch.optim.SGD step',
  async () => {
    const g = new Graph();
    const p = g.input('p', 'float32', [3]);
    const grad = g.input('grad', 'float32', [3]);
    const buf = g.input('buf', 'float32', [3]);
    const [lr, mu, wd] = ['lr', 'mu', 'wd'].map((n) => g.input(n, 'float32', []));
    const upd = sgdMomentumUpdate([p], [grad], [buf], { lr: lr!, momentum: mu!, weightDecay: wd! });
    const sess = await rt.create(compileGraph(g, { p1: upd.params[0]!, b1: upd.bufs[0]! }));
    const P = [1, -2, 0.5];
    const G = [0.5, 0.1, -0.3];
    const B = [0.2, -0.3, 0];
    const r = await sess.run({ p: P, grad: G, buf: B, lr: [0.1], mu: [0.9], wd: [5e-4] });
    const out = (k: string) => [...(r.outputs[k] as Float32Array)];
    // d = g + 5e-4·p;  buf' = 0.9·buf + d;  p' = p − 0.1·buf'
    const d = [0.5 + 5e-4, 0.1 - 1e-3, -0.3 + 2.5e-4];
    const b1 = [0.18 + d[0]!, -0.27 + d[1]!, d[2]!];
    const p1 = [1 - 0.1 * b1[0]!, -2 - 0.1 * b1[1]!, 0.5 - 0.1 * b1[2]!];
    out('b1').forEach((v, i) => assert.ok(Math.abs(v - b1[i]!) < 1e-6, `buf[${i}] = ${v}, expected ${b1[i]}`));
    out('p1').forEach((v, i) => assert.ok(Math.abs(v - p1[i]!) < 1e-6, `p[${i}] = ${v}, expected ${p1[i]}`));
  });

test('the in-place host SGD step (what training runs) equals the traced update bit for bit, over several steps',
  async () => {
  // Training applies the score gradients on the host so that no new score/momentum arrays come out of the graph
  // (edgePopup.ts); this pins it to the traced torch.optim.SGD semantics above.
    const n = 4096;
    const g = new Graph();
    const p = g.input('p', 'float32', [n]);
    const grad = g.input('grad', 'float32', [n]);
    const buf = g.input('buf', 'float32', [n]);
    const [lr, mu, wd] = ['lr', 'mu', 'wd'].map((k) => g.input(k, 'float32', []));
    const upd = sgdMomentumUpdate([p], [grad], [buf], { lr: lr!, momentum: mu!, weightDecay: wd! });
    const sess = await rt.create(compileGraph(g, { p1: upd.params[0]!, b1: upd.bufs[0]! }));
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const hp = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    let P: Float32Array = Float32Array.from({ length: n }, () => rand() * 0.05);
    let B: Float32Array = new Float32Array(n);
    const hostP = P.slice();
    const hostB = B.slice();
    for (let step = 0; step < 3; step++) {
      const G = Float32Array.from({ length: n }, () => rand() * 1e-3);
      const r = await sess.run({ p: P, grad: G, buf: B, lr: [hp.lr], mu: [hp.momentum], wd: [hp.weightDecay] });
      P = r.outputs.p1 as Float32Array;
      B = r.outputs.b1 as Float32Array;
      sgdMomentumStepInPlace(hostP, G, hostB, hp);
      assert.deepEqual(hostB, B, `momentum after step ${step}`);
      assert.deepEqual(hostP, P, `scores after step ${step}`);
    }
  });

test('the host mask fed to the step (fillKeepMask) equals the traced TopK mask, ties included', async () => {
  // Training feeds masks computed on the host (edgePopup.ts says why); they must be the masks traceMask defines.
  const n = 3000;
  const g = new Graph();
  const s = g.input('s', 'float32', [n]);
  const counts = [0, 1, 7, 150, 1500, 2999, 3000];
  const sess = await rt.create(compileGraph(g, Object.fromEntries(counts.map((k) => [`m${k}`, traceMask(s, k)]))));
  let seed = 99;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  // Random scores, then a block of exact ties (equal magnitudes of both signs) and zeros across the thresholds.
  const S = Float32Array.from({ length: n }, () => rand());
  for (let i = 0; i < n; i += 3) S[i] = i % 2 ? 0.25 : -0.25;
  for (let i = 1; i < n; i += 11) S[i] = 0;
  const r = await sess.run({ s: S });
  const keep = new Uint8Array(n);
  const scratch = new Float32Array(n);
  for (const k of counts) {
    fillKeepMask(S, k, keep, scratch);
    assert.deepEqual([...keep], [...(r.outputs[`m${k}`] as Float32Array)], `prune ${k}`);
  }
});

test('a batch run as several graph runs (what large models do) gives the whole batch’s step up to float rounding',
  async () => {
    const rows = Array.from({ length: Math.min(8, fx.forget.rows) }, (_, i) => i);
    const coef = balancedCoefficients(rows.map((r) => r % 2 === 0), 0.75);
    const tokens = tokensOf(fx.forget, rows);
    const whole = createSubnetState(fx.config, fx.params, 3, 0.05);
    const split = createSubnetState(fx.config, fx.params, 3, 0.05);
    for (let step = 0; step < 2; step++) {
      const a = await subnetStep(rt, fx.config, whole, tokens, coef, fx.forget.cols);
      const b = await subnetStep(rt, fx.config, split, tokens, coef, fx.forget.cols, 3); // runs of 3, 3 and 2 rows
      assert.ok(Math.abs(a - b) < 1e-5 * Math.max(1, Math.abs(a)), `objective ${a} vs ${b}`);
    }
    for (const [name, s] of whole.scores) {
      const t = split.scores.get(name)!;
      let worst = 0;
      for (let i = 0; i < s.length; i++) worst = Math.max(worst, Math.abs(s[i]! - t[i]!));
      assert.ok(worst < 1e-6, `${name}: scores differ by ${worst}`);
    }
  });

test('scores start as kaiming_uniform(a=√5): U(−1/√fan_in, 1/√fan_in), reproducible from the seed', () => {
  const c = { vocab_size: 14, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2, n_inner: 32,
    activation_function: 'relu' as const, layer_norm_epsilon: 1e-5, initializer_range: 0.02 };
  const a = initScores(c, 7);
  assert.equal(a.size, 4);
  for (const { name, shape } of subnetMatrices(c)) {
    const s = a.get(name)!;
    const bound = 1 / Math.sqrt(shape[1]);
    assert.equal(s.length, shape[0] * shape[1]);
    const max = s.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(max <= bound && max > 0.8 * bound, `${name}: max |score| ${max}, bound ${bound}`);
  }
  assert.deepEqual(initScores(c, 7), a);
  assert.notDeepEqual(initScores(c, 8).get('transformer.h.0.mlp.c_fc.weight'),
    a.get('transformer.h.0.mlp.c_fc.weight'));
});

test('BalancedSubnet batch coefficients: −(1 − w)/n_forget on forget rows, w/n_retain on retain rows; a missing side ' +
  'drops out', () => {
  assert.deepEqual([...balancedCoefficients([true, false, false, true], 0.2)], [-0.4, 0.1, 0.1, -0.4].map(Math.fround));
  assert.deepEqual([...balancedCoefficients([false, false], 0.5)], [0.25, 0.25]);
  assert.deepEqual([...balancedCoefficients([true, true, true, true], 0.5)], [-0.125, -0.125, -0.125, -0.125]);
});

test('Subnet with its defaults prunes exactly ⌊ratio·numel⌋ per MLP matrix, changes nothing else, lowers ' +
  'memorization by ≥ 10 %, loses ≤ 10 points', async () => {
  const before = copyParams(fx.params);
  const progress: MethodProgress[] = [];
  const ctx = context('subnet', {}, { onProgress: (p) => progress.push(p) });
  const res = await getMethod('subnet').run(ctx);
  checkPruned(res, ctx.hp.ratio as number, before);
  assert.ok(progress.length > 0 && progress.every((p) => Number.isFinite(p.loss)), 'reports progress with the loss');
  assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);
  const mem = await memorizationOf(res.params);
  const acc = await accuracyOf(res.params);
  figures('subnet defaults', mem, acc);
  // Subnet has no retain term and its defaults are not tuned for this small model: a modest cut, and the model
  // keeps its accuracy within 10 points (pruning the right count of the wrong entries can wreck it: zeroing every MLP
  // matrix costs the seed-0 fixture 33 points).
  assert.ok(mem <= fx.memorized * 0.9, `memorization ${fx.memorized}% → ${mem}%: less than a tenth of it removed`);
  assert.ok(acc >= fx.accuracy - 10,
    `accuracy ${fx.accuracy.toFixed(2)}% → ${acc.toFixed(2)}%: more than 10 points lost`);
});

test('BalancedSubnet with its defaults prunes exactly ⌊ratio·numel⌋ per matrix, leaves ≤ half of the memorization, ' +
  'loses ≤ 2 points', async () => {
  const before = copyParams(fx.params);
  const ctx = context('balanced-subnet');
  const res = await getMethod('balanced-subnet').run(ctx);
  checkPruned(res, ctx.hp.ratio as number, before);
  const mem = await memorizationOf(res.params);
  const acc = await accuracyOf(res.params);
  figures('balanced-subnet defaults', mem, acc);
  // The defaults favour accuracy (they remove ≥ 90 % on the quickstart model: test/quickstart.balancedSubnet.test.ts).
  // On this small model a few noised sequences stay reproduced after every method that keeps accuracy (3 of the 7
  // memorized ones on the seed-1 fixture, 2–3 of 14 on seed 0), so the check here is half.
  assert.ok(mem <= fx.memorized / 2, `memorization ${fx.memorized}% → ${mem}%: more than half of it left`);
  assert.ok(acc >= fx.accuracy - 2,
    `accuracy ${fx.accuracy.toFixed(2)}% → ${acc.toFixed(2)}%: more than 2 points lost`);
});

test('BalancedSubnet with more forgetting weight (w = 0.5, ratio 0.05) leaves ≤ half of the memorization, loses ≤ 2 ' +
  'points', async () => {
  const res = await getMethod('balanced-subnet').run(context('balanced-subnet', { loss_weighting: 0.5, ratio: 0.05 }));
  const mem = await memorizationOf(res.params);
  const acc = await accuracyOf(res.params);
  figures('balanced-subnet w=0.5 ratio=0.05', mem, acc);
  assert.ok(mem <= fx.memorized / 2, `memorization ${fx.memorized}% → ${mem}%: more than half of it left`);
  assert.ok(acc >= fx.accuracy - 2,
    `accuracy ${fx.accuracy.toFixed(2)}% → ${acc.toFixed(2)}%: more than 2 points lost`);
});

test('an aborted signal stops either method between batches with the signal\u2019s reason', async () => {
  const pre = new AbortController();
  pre.abort(new Error('stopped by the user'));
  await assert.rejects(getMethod('subnet').run(context('subnet', {}, { signal: pre.signal })), /stopped by the user/);
  const mid = new AbortController();
  let batches = 0;
  const ctx = context('balanced-subnet', { epochs: 5 }, {
    signal: mid.signal,
    onProgress: () => {
      if (++batches === 2) mid.abort(new Error('cancelled mid-run'));
    },
  });
  await assert.rejects(getMethod('balanced-subnet').run(ctx), /cancelled mid-run/);
  assert.equal(batches, 2, 'no batch runs after the abort');
});

test('bad hyper-parameters and an empty forget set are refused with the field named', async () => {
  const bs = getMethod('balanced-subnet');
  assert.throws(() => resolveHyperParams(bs, { ratio: 1.5 }), /ratio: 1.5 is out of range/);
  assert.throws(() => resolveHyperParams(bs, { ratio: -0.1 }), /ratio/);
  assert.throws(() => resolveHyperParams(bs, { epochs: 2.5 }), /epochs: expected an integer/);
  assert.throws(() => resolveHyperParams(bs, { loss_weighting: 2 }), /loss_weighting/);
  assert.throws(() => resolveHyperParams(bs, { lr: 0.1 }), /unknown hyper-parameter "lr"/);
  assert.throws(() => resolveHyperParams(getMethod('subnet'), { loss_weighting: 0.5 }), /unknown hyper-parameter/);
  const empty = tokenMatrix(0, fx.forget.cols);
  await assert.rejects(bs.run(context('balanced-subnet', {}, { forget: empty })), /forget set is empty/);
});
