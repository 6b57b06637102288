// The IR and runtime beyond single-op gradients: shape errors, straight-through estimators, gradients with respect
// to activation scales, provider fallback and the session cache.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { F, Graph, ShapeError, compileGraph, gradients } from '../src/engine/graph/index';
import { Runtime } from '../src/engine/runtime/session';
import { gradCheck, randomInput, rng } from './helpers/gradcheck';

const rt = new Runtime({ threads: 1 });
after(() => rt.dispose());

test('shape errors name the op and both shapes', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(() => F.matmul(a, b), (e: Error) => e instanceof ShapeError && /MatMul/.test(e.message)
    && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message));
  assert.throws(() => F.add(a, b), /Add: shapes \[2, 3\] and \[4, 5\] do not broadcast/);
  const d = g.input('d', 'float64', [2, 3]);
  assert.throws(() => F.mul(a, d), /Mul: dtypes differ/);
  assert.throws(() => F.reshape(a, [4, 2]), /Reshape/);
});

test('a straight-through top-k mask passes the gradient to the scores unchanged', async () => {
  // Subnet's forward: W ⊙ mask(top-k |scores|); backward: ∂L/∂scores = ∂L/∂mask.
  const g = new Graph();
  const w = g.input('w', 'float32', [2, 4]);
  const scores = g.input('scores', 'float32', [2, 4]);
  const flat = F.reshape(F.abs(scores), [8]);
  const kth = F.reshape(F.reduceMin(F.topK(flat, 3).values), [1, 1]);
  const hard = F.cast(F.greaterEqual(F.abs(scores), kth), 'float32');
  const mask = F.straightThrough(hard, scores);
  const u = F.constant(g, [1, 2, 3, 4, 5, 6, 7, 8], 'float32', [2, 4]);
  const loss = F.reduceSum(F.mul(F.mul(w, mask), u));
  const [gs] = gradients(loss, [scores]);
  const s = await rt.create(compileGraph(g, { loss, mask, gs: gs! }));
  const wv = [1, -1, 2, 0.5, 3, 1, -2, 1];
  const sv = [0.1, -0.9, 0.3, 0.2, 0.8, -0.05, 0.5, 0.01];
  const r = await s.run({ w: wv, scores: sv });
  assert.deepEqual([...r.outputs.mask!], [0, 1, 0, 0, 1, 0, 1, 0]); // |0.9|, |0.8|, |0.5| are the top 3
  assert.deepEqual([...r.outputs.gs!], wv.map((x, i) => x * (i + 1))); // identity gradient: w ⊙ u
  assert.equal(r.outputs.loss![0], -1 * 2 + 3 * 5 + -2 * 7);
});

test('gradients with respect to an activation scale match finite differences', async () => {
  // Integrated Gradients scales a layer's activations by α and needs ∂output/∂(scaled activations).
  const res = await gradCheck((g) => {
    const r = rng(5);
    const x = randomInput(g, r, 'x', [3, 4]);
    const w1 = randomInput(g, r, 'w1', [4, 6]);
    const alpha = randomInput(g, r, 'alpha', [6], (v) => 0.5 + 0.1 * v);
    const w2 = randomInput(g, r, 'w2', [6, 2]);
    const act = F.mul(F.tanh(F.matmul(x.tensor, w1.tensor)), alpha.tensor);
    return { inputs: [x, w1, alpha, w2], y: F.softmax(F.matmul(act, w2.tensor)) };
  });
  assert.ok(res.maxRelError <= 1e-6, `relative error ${res.maxRelError}`);
  assert.ok('alpha' in res.perInput);
});

test('gradients: zeros where the value does not depend on an input; none through integer paths; an error through ops ' +
  'without a VJP', async () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [3]);
  const b = g.input('b', 'float32', [3]);
  const [ga] = gradients(F.reduceSum(F.mul(b, b)), [a]);
  // TopK's indices are piecewise constant: only the values path carries gradient (here 2·x at the top-2 entries).
  const top = F.topK(a, 2);
  const [gt] = gradients(
    F.add(F.reduceSum(F.cast(top.indices, 'float32')), F.reduceSum(F.mul(top.values, top.values))), [a]);
  const s = await rt.create(compileGraph(g, { ga: ga!, gt: gt! }));
  const r = await s.run({ a: [1, 5, 3], b: [1, 1, 1] });
  assert.deepEqual([...r.outputs.ga!], [0, 0, 0]);
  assert.deepEqual([...r.outputs.gt!], [0, 10, 6]);
  const g2 = new Graph();
  const x = g2.input('x', 'float32', [2, 3]);
  const scattered = F.scatterAddRows(F.zeros(g2, [4, 3]), F.constant(g2, [1, 3], 'int64', [2]), x);
  assert.throws(() => gradients(F.reduceSum(scattered), [x]), /op ScatterAddRows is not differentiable/);
});

test('execution providers fall back one by one and the provider that ran is reported', async () => {
  const runtime = new Runtime({ providers: ['cuda', 'tensorrt', 'cpu'], threads: 1 });
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  const s = await runtime.create(compileGraph(g, { y: F.mul(x, 3) }));
  const r = await s.run({ x: [1, 2] });
  assert.equal(r.provider, process.env.TINYMEM_EXPECT_PROVIDER ?? 'cpu');
  assert.deepEqual([...r.outputs.y!], [3, 6]);
  if (r.provider === 'cpu') assert.deepEqual(runtime.skipped.map((s) => s.provider), ['cuda', 'tensorrt']);
  await runtime.dispose();
  const none = new Runtime({ providers: ['no-such-provider'] });
  await assert.rejects(none.create(compileGraph(g, { y: F.mul(x, 3) })),
    /execution provider no-such-provider could not start: .*backend not found/);
});

test('sessions are compiled once per key; feeds are validated by name and size', async () => {
  let builds = 0;
  const make = () => {
    builds++;
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 2]);
    return compileGraph(g, { y: F.add(x, 1) });
  };
  const s1 = await rt.session('add1:[2,2]', make);
  const s2 = await rt.session('add1:[2,2]', make);
  assert.equal(s1, s2);
  assert.equal(builds, 1);
  await assert.rejects(s1.run({}), /missing input "x" \(float32\[2, 2\]\)/);
  await assert.rejects(s1.run({ x: [1, 2, 3] }), /input "x" has 3 values; its shape \[2, 2\] needs 4/);
});

test('an output that is also an input, or requested twice, is still returned', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  const y = F.neg(x);
  const s = await rt.create(compileGraph(g, { same: x, y, y2: y }));
  const r = await s.run({ x: [1, -2] });
  assert.deepEqual([...r.outputs.same!], [1, -2]);
  assert.deepEqual([...r.outputs.y2!], [-1, 2]);
});

test('scatterAddRows (the embedding gradient of very large tables) adds rows at their indices', async () => {
  const g = new Graph();
  const upd = g.input('upd', 'float32', [2, 2, 3]);
  const idx = F.constant(g, [2, 0, 2, 3], 'int64', [2, 2]);
  const s = await rt.create(compileGraph(g, { y: F.scatterAddRows(F.zeros(g, [4, 3]), idx, upd) }));
  const r = await s.run({ upd: [1, 2, 3, 10, 20, 30, 100, 200, 300, 7, 8, 9] });
  assert.deepEqual([...r.outputs.y!], [10, 20, 30, 0, 0, 0, 101, 202, 303, 7, 8, 9]);
});
