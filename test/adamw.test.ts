// AdamW against numbers worked out by hand from the torch.optim.AdamW formulas, through the real training-step
// graph (forward + backward + update in one ONNX run). The loss L = Σ x·p has the gradient g = x exactly, so the
// gradients of each step are known without running anything.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { F, Graph, compileGraph } from '../src/engine/graph/index';
import { Runtime } from '../src/engine/runtime/session';
import { ADAMW_DEFAULTS, adamwUpdate } from '../src/engine/train/adamw';
import { Trainer, type TrainStepSpec } from '../src/engine/train/trainStep';
import type { AdamWHyperParams } from '../src/shared/engineMessages';

const runtime = new Runtime({ threads: 1 });
after(() => runtime.dispose());

/** L = Σ x ⊙ p for a 2-element parameter p and a batch tensor x. */
function linearSpec(hyper?: AdamWHyperParams): TrainStepSpec {
  return {
    key: 'test-linear',
    params: { 'layer.weight': [2] },
    batch: { x: { dtype: 'float32', shape: [2] } },
    loss: (_g, p, b) => F.reduceSum(F.mul(b.x!, p['layer.weight']!)),
    hyper,
  };
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol,
      `${what}[${i}] = ${actual[i]}, expected ${expected[i]} (±${tol})`);
  }
}

test('the defaults are TinyMem\'s AdamW settings (lr 1e-3, betas 0.9/0.98, eps 1e-8, weight decay 0.1)', () => {
  assert.deepEqual({ ...ADAMW_DEFAULTS, betas: [...ADAMW_DEFAULTS.betas] },
    { lr: 1e-3, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.1 });
});

test('two AdamW steps match a hand-computed example', async () => {
  // lr 0.1, betas (0.8, 0.9), eps 1e-3, weight decay 0.2: large enough that every term shows at 1e-6.
  const trainer = new Trainer(runtime, linearSpec({ lr: 0.1, betas: [0.8, 0.9], eps: 1e-3, weightDecay: 0.2 }), {
    params: { 'layer.weight': Float32Array.of(1.0, -0.5) },
  });

  // Step 1 (t = 1), g = x = [0.5, -2].
  // decay:        p ← p·(1 − 0.1·0.2) = [0.98, -0.49]
  // m = 0.2·g           = [0.1, -0.4]          v = 0.1·g²           = [0.025, 0.4]
  // m̂ = m / (1 − 0.8)   = [0.5, -2]            v̂ = v / (1 − 0.9)    = [0.25, 4]
  // p ← p − 0.1 · m̂ / (√v̂ + 0.001)
  const p1 = [0.98 - (0.1 * 0.5) / (0.5 + 0.001), -0.49 - (0.1 * -2) / (2 + 0.001)];
  const r1 = await trainer.step({ x: [0.5, -2] });
  assert.ok(Math.abs(r1.loss - (0.5 * 1.0 + -2 * -0.5)) < 1e-6, `loss at step 1: ${r1.loss}`);
  assertClose(trainer.state.params['layer.weight']!, p1, 1e-6, 'p after step 1');
  assertClose(trainer.state.m['layer.weight']!, [0.1, -0.4], 1e-6, 'm after step 1');
  assertClose(trainer.state.v['layer.weight']!, [0.025, 0.4], 1e-6, 'v after step 1');
  assert.equal(trainer.state.step, 1);

  // Step 2 (t = 2), g = x = [-1.5, 0.25].
  // m = 0.8·[0.1, -0.4] + 0.2·[-1.5, 0.25]        = [-0.22, -0.27]
  // v = 0.9·[0.025, 0.4] + 0.1·[2.25, 0.0625]     = [0.2475, 0.36625]
  // m̂ = m / (1 − 0.8²) = m / 0.36                 v̂ = v / (1 − 0.9²) = v / 0.19
  // p ← p1·0.98 − 0.1 · m̂ / (√v̂ + 0.001)
  const p2 = [
    p1[0]! * 0.98 - (0.1 * (-0.22 / 0.36)) / (Math.sqrt(0.2475 / 0.19) + 0.001),
    p1[1]! * 0.98 - (0.1 * (-0.27 / 0.36)) / (Math.sqrt(0.36625 / 0.19) + 0.001),
  ];
  const r2 = await trainer.step({ x: [-1.5, 0.25] });
  assert.ok(Math.abs(r2.loss - (-1.5 * p1[0]! + 0.25 * p1[1]!)) < 1e-6, `loss at step 2: ${r2.loss}`);
  assertClose(trainer.state.m['layer.weight']!, [-0.22, -0.27], 1e-6, 'm after step 2');
  assertClose(trainer.state.v['layer.weight']!, [0.2475, 0.36625], 1e-6, 'v after step 2');
  assertClose(trainer.state.params['layer.weight']!, p2, 1e-6, 'p after step 2');
  assert.equal(r2.provider, 'cpu');
});

test('one step with the default hyper-parameters matches the hand-computed value', async () => {
  const trainer = new Trainer(runtime, linearSpec(), { params: { 'layer.weight': Float32Array.of(1.0, -0.5) } });
  await trainer.step({ x: [0.5, -2] });
  // t = 1: m̂ = g, v̂ = g², so p ← p·(1 − 1e-3·0.1) − 1e-3 · g / (|g| + 1e-8).
  const p1 = [1.0 * (1 - 1e-4) - (1e-3 * 0.5) / (0.5 + 1e-8), -0.5 * (1 - 1e-4) - (1e-3 * -2) / (2 + 1e-8)];
  assertClose(trainer.state.params['layer.weight']!, p1, 1e-7, 'p after one default step');
});

test('weight decay is decoupled: with zero gradient p shrinks by exactly lr·wd·p per step', async () => {
  const lr = 0.1;
  const wd = 0.2;
  const trainer = new Trainer(runtime, linearSpec({ lr, weightDecay: wd }),
    { params: { 'layer.weight': Float32Array.of(2.0, -3.0) } });
  let expected = [2.0, -3.0];
  for (let k = 1; k <= 5; k++) {
    await trainer.step({ x: [0, 0] }); // g = 0
    expected = expected.map((p) => p - lr * wd * p);
    assertClose(trainer.state.params['layer.weight']!, expected, 1e-6, `p after step ${k}`);
  }
  // Adam with coupled L2 (g ← g + wd·p) would instead move each weight by about lr = 0.1 per step.
  assertClose(trainer.state.m['layer.weight']!, [0, 0], 0, 'm');
  assertClose(trainer.state.v['layer.weight']!, [0, 0], 0, 'v');
});

test('a learning rate passed per step replaces the configured one', async () => {
  const trainer = new Trainer(runtime, linearSpec({ lr: 0.1, weightDecay: 0 }),
    { params: { 'layer.weight': Float32Array.of(1, 1) } });
  await trainer.step({ x: [1, -1] }, { lr: 0.01 });
  // t = 1 and no decay: p ← p − 0.01 · g / (|g| + 1e-8)
  assertClose(trainer.state.params['layer.weight']!, [1 - 0.01 / (1 + 1e-8), 1 + 0.01 / (1 + 1e-8)], 1e-7, 'p');
});

test('adamwUpdate rejects mismatched state and invalid hyper-parameters', () => {
  const g = new Graph();
  const p = g.input('p', 'float32', [3]);
  const m = g.input('m', 'float32', [2]);
  const t = g.input('t', 'float32', []);
  assert.throws(() => adamwUpdate([p], [p], { m: [m], v: [p] }, t), /m .* does not match parameter/);
  assert.throws(() => adamwUpdate([p], [p], { m: [p], v: [p] }, t, { betas: [1, 0.9] }), /betas\[0\]/);
  assert.throws(
    () => new Trainer(runtime, linearSpec({ lr: -1 }), { params: { 'layer.weight': new Float32Array(2) } }), /lr/);
  assert.throws(() => new Trainer(runtime, linearSpec(), { params: { 'layer.weight': new Float32Array(3) } }),
    /"layer.weight" has 3 values/);
});

test('adamwUpdate with a numeric lr in a float64 graph matches the hand-computed step to 1e-12', async () => {
  const g = new Graph();
  const p = g.input('p', 'float64', [2]);
  const grad = g.input('g', 'float64', [2]);
  const t = g.input('t', 'float32', []);
  const zero = F.zeros(g, [2], 'float64');
  const out = adamwUpdate([p], [grad], { m: [zero], v: [zero] }, t, { lr: 0.05, weightDecay: 0.1 });
  const session = await runtime.create(compileGraph(g, { p1: out.params[0]!, m1: out.m[0]!, v1: out.v[0]! }));
  const r = await session.run({ p: Float64Array.of(1, -0.5), g: Float64Array.of(0.5, -2), t: [1] });
  await session.session.release();
  // t = 1, betas (0.9, 0.98): m = 0.1·g, v = 0.02·g², m̂ = g, v̂ = g²; p ← p·(1 − 0.05·0.1) − 0.05·g/(|g| + 1e-8)
  assertClose(r.outputs.m1 as Float64Array, [0.05, -0.2], 1e-15, 'm');
  assertClose(r.outputs.v1 as Float64Array, [0.02 * 0.25, 0.02 * 4], 1e-15, 'v');
  assertClose(r.outputs.p1 as Float64Array,
    [1 * 0.995 - (0.05 * 0.5) / (0.5 + 1e-8), -0.5 * 0.995 - (0.05 * -2) / (2 + 1e-8)], 1e-12, 'p');
});
