// K training steps in one session run (src/engine/train/multiStep.ts) against K single steps on the CPU provider:
// the same losses and weights within float tolerance, groups that stop at an epoch's end and at a smaller last
// batch, one progress event per step, cancellation between groups, and a non-finite loss stopping at the same step.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Rng } from '../src/engine/data/rng';
import { Runtime } from '../src/engine/runtime/session';
import { runTraining } from '../src/engine/train/trainLoop';
import { NonFiniteLossError, Trainer } from '../src/engine/train/trainStep';
import { buildMultiStep } from '../src/engine/train/multiStep';
import { getModel } from '../src/engine/train/models';
import type { ArraysDataSource, TrainJob, TrainProgress, TrainState } from '../src/shared/engineMessages';

const runtime = new Runtime({ threads: 1 });
after(() => runtime.dispose());

const TINY = { vocab_size: 14, n_positions: 12, n_embd: 16, n_layer: 2, n_head: 2, activation_function: 'relu',
  initializer_range: 0.1 };

function tokenData(rows: number, seed: number): ArraysDataSource {
  const r = new Rng(seed);
  const data = Int32Array.from({ length: rows * TINY.n_positions }, () => r.int(TINY.vocab_size));
  return { kind: 'arrays', fields: { tokens: { dtype: 'int64', rowShape: [TINY.n_positions], data } } };
}

const job = (over: Partial<TrainJob>): TrainJob => ({ model: { name: 'gpt2', config: TINY }, hyper: { lr: 1e-2 },
  data: tokenData(30, 1), seed: 2, batchSize: 8, steps: 9, ...over });

/** Largest |a − b| / (|b| + 1e-3) over a state's arrays. */
function maxRelDiff(a: TrainState, b: TrainState): number {
  let worst = 0;
  for (const group of ['params', 'm', 'v'] as const) {
    for (const [n, x] of Object.entries(a[group])) {
      const y = b[group][n]!;
      assert.equal(x.length, y.length, `${group}["${n}"] length`);
      // Rounding noise in a zero gradient (the key bias's, in exact arithmetic) makes AdamW's update of it a sign of
      // noise on either path: those entries are left out, as in the WebGPU comparison.
      if (n.endsWith('attn.c_attn.bias')) continue;
      for (let i = 0; i < x.length; i++) {
        const scale = group === 'params' ? 1e-3 : Math.abs(y[i]!) + 1e-12;
        worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (Math.abs(y[i]!) + scale));
      }
    }
  }
  return worst;
}

function assertClose(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]!) <= tol * Math.abs(want[i]!),
    `${what}[${i}]: ${g} vs ${want[i]}`));
}

test('K steps per run give the losses and weights of K single steps, groups ending at epochs and short batches',
  async () => {
    // 30 rows in batches of 8: 8, 8, 8, 6 per epoch. With K = 3 the groups are 3 (8-row), 1 (the 6-row batch), 3, 1,
    // 1 (the run ends): the ninth step starts a third epoch.
    const single = await runTraining(job({ runtime: { threads: 1, stepsPerRun: 1 } }), { runtime });
    const progress: TrainProgress[] = [];
    const steps: number[] = [];
    const multi = await runTraining(job({ runtime: { threads: 1, stepsPerRun: 3 } }),
      { runtime, onProgress: (p) => progress.push(p), onStep: (n) => steps.push(n) });
    assert.equal(multi.status, 'done');
    assert.equal(multi.result.steps, 9);
    assert.equal(multi.result.state.step, 9);
    assertClose(multi.result.losses, single.result.losses, 1e-5, 'losses');
    const d = maxRelDiff(multi.result.state, single.result.state);
    assert.ok(d <= 1e-4, `weights and moments differ by ${d} (relative)`);
    // The loss falls (the comparison is not between two untrained models).
    assert.ok(single.result.losses[8]! < single.result.losses[0]!);
    assert.deepEqual(progress.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'one progress event per step');
    assertClose(progress.map((p) => p.loss), single.result.losses, 1e-5, 'progress losses');
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'onStep for every step');
  });

test('a stop between groups ends after whole groups of K steps', async () => {
  let groups = 0;
  const r = await runTraining(job({ steps: 20, data: tokenData(64, 3), runtime: { threads: 1, stepsPerRun: 4 } }),
    { runtime, shouldStop: () => groups++ === 2 });
  assert.equal(r.status, 'cancelled');
  assert.equal(r.result.steps, 8);
  assert.equal(r.result.state.step, 8);
  const ref = await runTraining(job({ steps: 8, data: tokenData(64, 3), runtime: { threads: 1 } }), { runtime });
  assertClose(r.result.losses, ref.result.losses, 1e-5, 'losses');
});

test('a non-finite loss inside a group stops at the same step as single steps, keeping the same state', async () => {
  const def = getModel('gpt2');
  const c = def.resolveConfig!(TINY);
  const spec = { key: 'nan', params: def.paramShapes(c), batch: def.batchSpec(c, 8), loss: def.loss(c),
    hyper: { lr: 1e4 } };
  const data = tokenData(32, 5).fields.tokens!.data as Int32Array;
  const batches = [0, 1, 2, 3].map((i) => ({ tokens: data.slice(i * 96, (i + 1) * 96) }));
  const run = async (k: number) => {
    const tr = new Trainer(runtime, spec, { params: def.init(c, 4) });
    try {
      if (k === 1) for (const b of batches) await tr.step(b);
      else await tr.steps(batches);
    } catch (e) {
      assert.ok(e instanceof NonFiniteLossError, String(e));
      return { step: e.step, state: tr.state };
    }
    return { step: -1, state: tr.state };
  };
  const one = await run(1);
  assert.ok(one.step > 1, `lr 1e4 should make a later loss non-finite (got step ${one.step})`);
  const many = await run(4);
  assert.equal(many.step, one.step);
  assert.equal(many.state.step, one.state.step);
  assert.ok(maxRelDiff(many.state, one.state) <= 1e-4);
});

test('the K-step graph refuses K < 1 and job.runtime.stepsPerRun is checked, naming the field', async () => {
  const def = getModel('gpt2');
  const c = def.resolveConfig!(TINY);
  const spec = { key: 'k', params: def.paramShapes(c), batch: def.batchSpec(c, 2), loss: def.loss(c) };
  assert.throws(() => buildMultiStep(spec, def.batchSpec(c, 2), 0), /steps per run must be a positive integer/);
  await assert.rejects(runTraining(job({ runtime: { stepsPerRun: 0 } }), { runtime }),
    /runtime\.stepsPerRun: expected a positive integer, got 0/);
});
