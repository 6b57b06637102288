// The gradient-ascent baselines (Gradient Ascent, Gradient Difference, Gradient Ascent + KL): the KL term and its
// gradient against hand-derived values, each method on the memorizing fixture with its defaults (every weight may
// change, no masks, memorization drops), the stop rule, cancellation and hyper-parameter validation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Graph, compileGraph, gradients } from '../src/engine/graph/index';
import { tokenMatrix } from '../src/engine/data/tokenMatrix';
import { teacherForced } from '../src/engine/metrics/index';
import { getMethod, resolveHyperParams } from '../src/engine/methods/registry';
import '../src/engine/methods/baselines/index';
import { klToOriginal } from '../src/engine/methods/baselines/gradientBaseline';
import type { UnlearnContext } from '../src/engine/methods/types';
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

/** Hugging Face's LM loss of the forget set: mean next-token cross-entropy over the T − 1 positions of every row. */
async function forgetLoss(params: Map<string, Float32Array>): Promise<number> {
  const { losses } = await teacherForced(rt, fx.config, params, fx.forget);
  return losses.reduce((a, b) => a + b, 0) / (fx.forget.rows * (fx.forget.cols - 1));
}

const context = (id: string, hp: Record<string, HyperValue> = {},
  extra: Partial<UnlearnContext> = {}): UnlearnContext => methodContext(rt, fx, id, hp, extra);

test('KL(original ∥ edited) and its gradient match hand-derived values', async () => {
  const g = new Graph();
  const lo = g.input('lo', 'float64', [1, 2, 3]);
  const le = g.input('le', 'float64', [1, 2, 3]);
  const kl = klToOriginal(lo, le);
  const [gle] = gradients(kl, [le]);
  const s = await rt.create(compileGraph(g, { kl, gle: gle! }));
  const LO = [0.2, -1, 1.5, 0, 0, 0];
  const LE = [1, 0.5, -0.5, 2, -1, 0.3];
  const run = async (feeds: Record<string, number[]>) => {
    const o = (await s.run(feeds)).outputs;
    return { kl: (o.kl as Float64Array)[0]!, gle: [...(o.gle as Float64Array)] };
  };
  const r = await run({ lo: LO, le: LE });
  const softmax = (x: number[]) => {
    const e = x.map(Math.exp);
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  let expectKl = 0;
  const expectGrad: number[] = [];
  for (const row of [0, 1]) {
    const po = softmax(LO.slice(3 * row, 3 * row + 3));
    const pe = softmax(LE.slice(3 * row, 3 * row + 3));
    expectKl += po.reduce((a, p, v) => a + p * Math.log(p / pe[v]!), 0) / 2;
    pe.forEach((p, v) => expectGrad.push((p - po[v]!) / 2)); // ∂/∂logit_e of the mean over 2 positions
  }
  assert.ok(Math.abs(r.kl - expectKl) < 1e-12, `KL ${r.kl} vs ${expectKl}`);
  r.gle.forEach((v, i) => assert.ok(Math.abs(v - expectGrad[i]!) < 1e-12, `grad[${i}] ${v} vs ${expectGrad[i]}`));
  assert.ok(Math.abs((await run({ lo: LO, le: LO })).kl) < 1e-15);
});

for (const id of ['gradient-ascent', 'gradient-difference', 'gradient-ascent-kl']) {
  test(`${id} with its defaults edits weights without masks, leaves ≤ half of the memorization, loses ≤ 5 points`,
    async () => {
      const before = new Map([...fx.params].map(([k, v]) => [k, v.slice()]));
      const progress: MethodProgress[] = [];
      const res = await getMethod(id).run(context(id, {}, { onProgress: (p) => progress.push(p) }));
      for (const [name, v] of fx.params) assert.deepEqual(v, before.get(name), `the input tensor ${name} was mutated`);
      assert.equal(res.masks.size, 0, 'a baseline prunes nothing');
      assert.deepEqual([...res.params.keys()].sort(), [...fx.params.keys()].sort());
      assert.ok([...res.params].some(([n, v]) => v.some((x, i) => x !== fx.params.get(n)![i])), 'some weight changed');
      assert.ok(progress.length > 0 && progress.every((p) => Number.isFinite(p.loss)),
        'reports progress with the loss');
      const mem = await memorizationOf(res.params);
      const acc = await accuracyOf(res.params);
      console.log(`fixture seed ${fx.seed}: ${id} defaults: memorization ${fx.memorized.toFixed(1)} % → ` +
      `${mem.toFixed(1)} %, accuracy ${fx.accuracy.toFixed(2)} % → ${acc.toFixed(2)} %`);
      // Half, not less: the seed-1 fixture memorizes 7 of 18 sequences, and Gradient Difference and Ascent + KL leave
      // 3.
      assert.ok(mem <= fx.memorized / 2, `memorization ${fx.memorized}% → ${mem}%: more than half of it left`);
      assert.ok(acc >= fx.accuracy - 5,
        `accuracy ${fx.accuracy.toFixed(2)}% → ${acc.toFixed(2)}%: more than 5 points lost`);
    });
}

test('the stop rule: training ends at the first weights whose forget loss reaches stop_loss', async () => {
  const base = await forgetLoss(fx.params);
  // A bound below the current loss: no step is taken and the weights come back unchanged.
  const none = await getMethod('gradient-ascent').run(context('gradient-ascent', { stop_loss: base / 2 }));
  for (const [n, v] of fx.params) assert.equal(none.params.get(n), v);
  assert.match(none.notes!.join('\n'), /0 AdamW steps/);
  // A bound a little above it: the returned weights reach it; without the bound the run goes further.
  const bound = base + 0.05;
  const hp = { lr: 1e-4, epochs: 12 };
  const stopped = await getMethod('gradient-ascent').run(context('gradient-ascent', { ...hp, stop_loss: bound }));
  const full = await getMethod('gradient-ascent').run(context('gradient-ascent', { ...hp, stop_loss: 1000 }));
  const [lStopped, lFull] = [await forgetLoss(stopped.params), await forgetLoss(full.params)];
  assert.ok(lStopped >= bound - 1e-3, `stopped at forget loss ${lStopped} < ${bound}`);
  assert.ok(lFull > lStopped + 0.05, `12 steps reach ${lFull}, the stopped run ${lStopped}`);
  assert.match(stopped.notes!.join('\n'), /stopped/);
  assert.match(full.notes!.join('\n'), /12 AdamW steps/);
});

test('the retain term is wired in: a heavy retain weight holds the forget loss below plain ascent', async () => {
  const hp = { lr: 1e-4, epochs: 3, stop_loss: 1000 };
  const ascent = await forgetLoss((await getMethod('gradient-ascent').run(context('gradient-ascent', hp))).params);
  const diff = await forgetLoss(
    (await getMethod('gradient-difference').run(context('gradient-difference', { ...hp, retain_weight: 50 }))).params);
  const kl = await forgetLoss(
    (await getMethod('gradient-ascent-kl').run(context('gradient-ascent-kl', { ...hp, kl_weight: 50 }))).params);
  assert.ok(diff < ascent - 0.005, `gradient difference ${diff} vs ascent ${ascent}`);
  assert.ok(kl < ascent - 0.005, `ascent + KL ${kl} vs ascent ${ascent}`);
});

test('an aborted signal stops a baseline between steps with the signal\u2019s reason', async () => {
  const pre = new AbortController();
  pre.abort(new Error('stopped by the user'));
  await assert.rejects(getMethod('gradient-ascent-kl').run(context('gradient-ascent-kl', {}, { signal: pre.signal })),
    /stopped by the user/);
  const mid = new AbortController();
  let steps = 0;
  const ctx = context('gradient-ascent', { stop_loss: 1000 }, {
    signal: mid.signal,
    onProgress: () => {
      if (++steps === 2) mid.abort(new Error('cancelled mid-run'));
    },
  });
  await assert.rejects(getMethod('gradient-ascent').run(ctx), /cancelled mid-run/);
  assert.equal(steps, 2, 'no step runs after the abort');
});

test('bad hyper-parameters, an empty forget set and a missing retain set are refused', async () => {
  const gd = getMethod('gradient-difference');
  assert.throws(() => resolveHyperParams(gd, { lr: -1 }), /lr: -1 is out of range/);
  assert.throws(() => resolveHyperParams(gd, { epochs: 0 }), /epochs/);
  assert.throws(() => resolveHyperParams(gd, { epochs: 1.5 }), /epochs: expected an integer/);
  assert.throws(() => resolveHyperParams(gd, { retain_weight: 'lots' }), /retain_weight: expected a number/);
  assert.throws(() => resolveHyperParams(getMethod('gradient-ascent'), { kl_weight: 1 }),
    /unknown hyper-parameter "kl_weight"/);
  const empty = tokenMatrix(0, fx.forget.cols);
  await assert.rejects(getMethod('gradient-ascent').run(context('gradient-ascent', {}, { forget: empty })),
    /forget set is empty/);
  await assert.rejects(gd.run(context('gradient-difference', {}, { retain: empty })), /retain set is empty/);
  await assert.rejects(getMethod('gradient-ascent-kl').run(context('gradient-ascent-kl', {}, { retain: empty })),
    /retain set is empty/);
});
