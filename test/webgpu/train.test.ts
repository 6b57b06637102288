// Training on the WebGPU provider (lavapipe in CI): the step graph runs whole on the device, its losses equal the
// CPU provider's, and the weights and AdamW moments stay on the device between steps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/data/rng';
import { Runtime } from '../../src/engine/runtime/session';
import { getModel } from '../../src/engine/train/models';
import { runTraining } from '../../src/engine/train/trainLoop';
import { F } from '../../src/engine/graph/index';
import { Trainer } from '../../src/engine/train/trainStep';
import { TINY_GPT2, providerPair, recordRuns } from './device';

const { gpu, cpu } = providerPair();

const ROWS = 8;
const STEPS = 20;
// The key bias's gradient is zero in exact arithmetic (softmax is shift-invariant per query), so AdamW's update of
// it is the sign of rounding noise on either provider: a null direction, not compared.
const NULL_DIRECTIONS = /attn\.c_attn\.bias$/;

function trainer(rt: Runtime) {
  const def = getModel('gpt2');
  const c = def.resolveConfig!(TINY_GPT2);
  const spec = { key: 'webgpu-test', params: def.paramShapes(c), batch: (r: number) => def.batchSpec(c, r),
    loss: def.loss(c), hyper: { lr: 3e-3 } };
  return new Trainer(rt, spec, { params: def.init(c, 7) });
}

function batches(): BigInt64Array[] {
  const r = new Rng(11);
  return Array.from({ length: STEPS }, () => BigInt64Array.from({ length: ROWS * 16 }, () => BigInt(r.int(14))));
}

test(`${STEPS} training steps on WebGPU give the CPU provider's losses (1e-4 relative) and weights`, async () => {
  const data = batches();
  const [onGpu, onCpu] = [trainer(gpu), trainer(cpu)];
  for (let s = 0; s < STEPS; s++) {
    const [a, b] = [await onGpu.step({ tokens: data[s]! }, { rows: ROWS }),
      await onCpu.step({ tokens: data[s]! }, { rows: ROWS })];
    assert.equal(a.provider, 'webgpu');
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-4 * Math.abs(b.loss),
      `step ${s + 1}: loss ${a.loss} on WebGPU, ${b.loss} on the CPU`);
  }
  assert.ok(onGpu.onDevice, 'the state should live on the device');
  const [ga, cb] = [await onGpu.hostState(), onCpu.state];
  assert.equal(ga.step, STEPS);
  let worst = 0;
  for (const [n, w] of Object.entries(cb.params)) {
    if (NULL_DIRECTIONS.test(n)) continue;
    const scale = Math.max(...w.map(Math.abs));
    const diff = Math.max(...ga.params[n]!.map((x, i) => Math.abs(x - w[i]!)));
    worst = Math.max(worst, diff / scale);
    assert.ok(diff <= 1e-3 * scale, `${n}: differs by ${diff} (largest |w| ${scale})`);
  }
  console.log(`# largest weight difference after ${STEPS} steps: ${worst.toExponential(2)} of the tensor's max |w|`);
});

test('no weight or moment crosses to the host between steps; hostState copies them once', async () => {
  const t = trainer(gpu);
  const names = Object.keys(t.spec.params);
  const data = batches();
  const { runs: calls } = await recordRuns(async () => {
    for (let s = 0; s < 3; s++) await t.step({ tokens: data[s]! }, { rows: ROWS });
  });
  assert.equal(calls.length, 3, 'one session run per step, nothing else');
  calls.forEach((c, s) => {
    for (const n of names) for (const k of [`new:${n}`, `new:m:${n}`, `new:v:${n}`]) assert.equal(c.fetched[k],
      'gpu-buffer', `step ${s + 1}: ${k} came back as ${c.fetched[k]}`);
    assert.equal(c.fetched.loss, 'cpu');
    if (s > 0) for (const n of names) for (const k of [n, `m:${n}`, `v:${n}`]) assert.equal(c.feeds[k],
      'gpu-buffer', `step ${s + 1}: ${k} was fed from ${c.feeds[k]}`);
    assert.equal(c.feeds.tokens, 'cpu');
  });
  assert.throws(() => t.state, /on the device/);
  const { result: host, runs: copies } = await recordRuns(() => t.hostState());
  assert.equal(copies.length, 1, 'hostState: one copy run');
  assert.ok(Object.values(copies[0]!.fetched).every((l) => l === 'cpu'));
  assert.equal(host.step, 3);
  assert.equal(t.state, host, 'the copy is kept until the next step');
});

test('a training run on a shared runtime frees its device state when it ends and when it is stopped', async () => {
  const r = new Rng(5);
  const data = Int32Array.from({ length: 32 * 16 }, () => r.int(14));
  const job = { model: { name: 'gpt2', config: TINY_GPT2 }, hyper: { lr: 3e-3 }, seed: 1, batchSize: ROWS, steps: 6,
    data: { kind: 'arrays' as const, fields: { tokens: { dtype: 'int64' as const, rowShape: [16], data } } } };
  for (const stopAfter of [Infinity, 3]) {
    let steps = 0;
    const { result, runs } = await recordRuns(() => runTraining(job,
      { runtime: gpu, onStep: (n) => (steps = n), shouldStop: () => steps >= stopAfter }));
    assert.equal(result.status, stopAfter === Infinity ? 'done' : 'cancelled');
    assert.equal(result.result.steps, Math.min(6, stopAfter));
    assert.equal(result.result.provider, 'webgpu');
    const outputs = runs.flatMap((x) => x.onDevice);
    assert.ok(outputs.length >= 3 * Object.keys(result.result.state.params).length, 'the state lived on the device');
    const left = outputs.filter((t) => t.location !== 'none').length;
    assert.equal(left, 0, `${left} of ${outputs.length} device tensors held after the run (stop after ${stopAfter})`);
  }
});

// The three regularizers train on WebGPU with no node on the CPU and the CPU's losses, and the weights, moments and
// carried tensors (spectral norm's power-iteration vectors) stay on the device: only per-batch host values (masks, a
// cutoff) go in.
const REGULARIZERS: [string, Record<string, number>][] = [['example-tied-dropout', {}], ['loss-truncation',
  { dropc: 0.5 }], ['spectral-norm', { lam: 0.1 }]];
for (const [id, hp] of REGULARIZERS) {
  test(`training with ${id} on WebGPU: no CPU node, the CPU's losses, state on the device`, async () => {
    const r = new Rng(5);
    const data = Int32Array.from({ length: 32 * 16 }, () => r.int(14));
    const job = { model: { name: 'gpt2', config: TINY_GPT2 }, hyper: { lr: 3e-3 }, seed: 1, batchSize: ROWS,
      steps: 6, regularizer: { id, hp }, data: { kind: 'arrays' as const, fields: {
        tokens: { dtype: 'int64' as const, rowShape: [16], data } } } };
    const { result: a, runs } = await recordRuns(() => runTraining(job, { runtime: gpu }));
    const b = await runTraining(job, { runtime: cpu });
    assert.equal(a.result.provider, 'webgpu');
    a.result.losses.forEach((l, s) => assert.ok(Math.abs(l - b.result.losses[s]!) <= 1e-4 * Math.abs(
      b.result.losses[s]!), `step ${s + 1}: loss ${l} on WebGPU, ${b.result.losses[s]} on the CPU`));
    const steps = runs.filter((x) => 'loss' in x.fetched);
    assert.equal(steps.length, 6);
    assert.equal(runs.length, 7, 'one run per step and one copy of the state at the end');
    const state = new Set(Object.keys(steps[0]!.fetched).filter((k) => k.startsWith('new:')).map((k) => k.slice(4)));
    const hostFed = steps.slice(1).flatMap((x, s) => [...state].filter((n) => x.feeds[n] !== 'gpu-buffer')
      .map((n) => `step ${s + 2}: ${n}`));
    assert.deepEqual(hostFed, [], 'state fed from the host between steps');
    assert.deepEqual(runs.flatMap((x) => x.onDevice).filter((t) => t.location !== 'none'), [], 'device freed');
  });
}

test('a step with a non-finite loss keeps the carried tensors and frees the ones it produced', async () => {
  // loss = Σ w·x (NaN when x is); the carried c becomes c + 1; `seen` returns the c a step was fed.
  const t = new Trainer(gpu, { key: 'carry-test', params: { w: [2] }, batch: { x: { dtype: 'float32', shape: [2] } },
    carry: { c: { shape: [2], init: Float32Array.of(0, 10) } },
    loss: (_g, P, b) => ({ loss: F.reduceSum(F.mul(P.w!, b.x!)),
      outputs: { 'new:c': F.add(b.c!, 1), 'seen': F.add(b.c!, 0) } }) }, { params: { w: Float32Array.of(1, 2) } });
  const seen = (r: { outputs: Record<string, unknown> }) => Array.from(r.outputs.seen as Float32Array);
  assert.deepEqual(seen(await t.step({ x: Float32Array.of(1, 1) })), [0, 10]);
  const { result, runs } = await recordRuns(() => t.step({ x: Float32Array.of(NaN, 1) }).then(() => 'kept',
    (e: Error) => e.name));
  assert.equal(result, 'NonFiniteLossError');
  const produced = runs.flatMap((x) => x.onDevice);
  assert.equal(produced.length, 4, 'new:w, new:m:w, new:v:w and new:c on the device');
  assert.deepEqual(produced.filter((x) => x.location !== 'none'), [], 'the discarded step freed its device outputs');
  // The next step is fed the carried value of the last finite step, from the device.
  const { result: next, runs: nextRuns } = await recordRuns(() => t.step({ x: Float32Array.of(1, 1) }));
  assert.deepEqual(seen(next), [1, 11]);
  assert.equal(nextRuns[0]!.feeds.c, 'gpu-buffer');
  t.dispose();
});
