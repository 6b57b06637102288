// The Trainer and the training loop, in-process and in a worker thread: overfitting one batch, streamed progress,
// worker == in-process determinism, and cancellation between steps with the partial state.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Runtime } from '../src/engine/runtime/session';
import { getModel } from '../src/engine/train/models';
import { openDataSource } from '../src/engine/train/dataSources';
import { Trainer } from '../src/engine/train/trainStep';
import { type TrainingHandle, runTraining, startTraining } from '../src/engine/train/trainLoop';
import type { TrainJob, TrainProgress, TrainState } from '../src/shared/engineMessages';
import { type MlpConfig, TINY_MODELS_MODULE, randomClassification } from './helpers/tinyModels';

const runtime = new Runtime({ threads: 1 });
// Workers still running when a test fails (e.g. a cancel that is never honoured) must not keep the process alive.
const handles: TrainingHandle[] = [];
const start = (j: TrainJob, opts: Parameters<typeof startTraining>[1] = {}): TrainingHandle => {
  const h = startTraining(j, { modules: [TINY_MODELS_MODULE], ...opts });
  handles.push(h);
  return h;
};
after(async () => {
  await Promise.all(handles.map((h) => h.terminate()));
  await runtime.dispose();
});
const WORKER_TEST = { timeout: 20_000 };

const config: MlpConfig = { inputs: 8, hidden: 32, classes: 4 };

function job(over: Partial<TrainJob> = {}): TrainJob {
  return {
    model: { name: 'test-mlp', config },
    hyper: { lr: 1e-2 },
    data: randomClassification(20, config, 7),
    seed: 3,
    batchSize: 8,
    epochs: 10,
    runtime: { threads: 1 },
    ...over,
  };
}

function assertSameState(a: TrainState, b: TrainState, what: string): void {
  assert.equal(a.step, b.step, `${what}: step`);
  for (const group of ['params', 'm', 'v'] as const) {
    assert.deepEqual(Object.keys(a[group]).sort(), Object.keys(b[group]).sort(), `${what}: ${group} names`);
    for (const [n, x] of Object.entries(a[group])) {
      const y = b[group][n]!;
      assert.ok(x.length === y.length && x.every((v, i) => Object.is(v, y[i])), `${what}: ${group}["${n}"] differs`);
    }
  }
}

test('the Trainer overfits one batch of random labels', async () => {
  const def = getModel('test-mlp');
  const c = def.resolveConfig!(config);
  const trainer = new Trainer(
    runtime,
    { key: 'overfit', params: def.paramShapes(c), batch: def.batchSpec(c, 32), loss: def.loss(c), hyper: { lr: 1e-2 } },
    { params: def.init(c, 1) },
  );
  const data = openDataSource(randomClassification(32, config, 11));
  const batch = data.batch(Uint32Array.from({ length: 32 }, (_, i) => i));
  const losses: number[] = [];
  for (let s = 0; s < 300; s++) losses.push((await trainer.step(batch)).loss);
  // 4 random classes: chance is ln 4 ≈ 1.39. Memorizing 32 labels drives the loss towards 0.
  assert.ok(losses[0]! > 0.9, `first loss ${losses[0]}`);
  assert.ok(losses.at(-1)! < 0.05, `loss after 300 steps: ${losses.at(-1)} (first ${losses[0]})`);
  assert.equal(trainer.state.step, 300);
});

test('the worker streams progress and ends in the same state as the same job run in-process', WORKER_TEST, async () => {
  const events: TrainProgress[] = [];
  const handle = start(job(), { onProgress: (p) => events.push(p) });
  const inWorker = await handle.result;
  const inProcess = await runTraining(job());

  assert.equal(inWorker.status, 'done');
  // 20 rows in batches of 8: 3 steps per epoch (the last batch has 4 rows), 10 epochs.
  assert.equal(inWorker.result.steps, 30);
  assert.equal(inWorker.result.epochs, 10);
  assert.deepEqual(events.map((e) => e.step), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.deepEqual(events.map((e) => e.loss), inWorker.result.losses);
  for (const e of events) {
    assert.equal(e.provider, 'cpu');
    assert.ok(Math.abs(e.epoch - e.step / 3) < 1e-12, `epoch ${e.epoch} at step ${e.step}`);
    assert.ok(e.tokensPerSec > 0 && Number.isFinite(e.tokensPerSec), `tokensPerSec ${e.tokensPerSec}`);
  }
  assert.ok(inWorker.result.losses.at(-1)! < inWorker.result.losses[0]!, 'training lowers the loss');

  assert.deepEqual(inWorker.result.losses, inProcess.result.losses);
  assertSameState(inWorker.result.state, inProcess.result.state, 'worker vs in-process');
});

test('cancel stops the worker within one step and returns the partial state', WORKER_TEST, async () => {
  let atCancel = -1;
  // A million steps would take minutes: only cancellation can end this run in time.
  const handle = start(job({ epochs: undefined, steps: 1_000_000 }), {
    onProgress: (p) => {
      if (p.step === 5 && atCancel < 0) atCancel = handle.cancel();
    },
  });
  const out = await handle.result;
  assert.equal(out.status, 'cancelled');
  assert.ok(atCancel >= 5, `steps done when cancel was called: ${atCancel}`);
  const done = out.result.steps;
  assert.ok(done === atCancel || done === atCancel + 1, `cancelled at ${atCancel} steps, stopped after ${done}`);
  assert.equal(out.result.state.step, done);
  assert.equal(out.result.losses.length, done);

  // The partial state is exactly the state after `done` steps.
  const reference = await runTraining(job({ epochs: undefined, steps: done }), { runtime });
  assertSameState(out.result.state, reference.result.state, `partial state after ${done} steps`);
});

test('cancel before the first step returns the initial weights and zero steps', WORKER_TEST, async () => {
  const handle = start(job());
  assert.equal(handle.cancel(), 0);
  const out = await handle.result;
  assert.equal(out.status, 'cancelled');
  assert.equal(out.result.steps, 0);
  const def = getModel('test-mlp');
  const init = def.init(def.resolveConfig!(config), 3);
  for (const [n, a] of Object.entries(init)) assert.deepEqual(out.result.state.params[n], a, n);
});

test('the worker reports errors as messages: unknown model, non-finite loss', WORKER_TEST, async () => {
  const unknown = start(job({ model: { name: 'no-such-model', config } }));
  await assert.rejects(unknown.result, /unknown model "no-such-model" \(registered: .*test-mlp/);

  const data = randomClassification(20, config, 7);
  (data.fields.x!.data as Float32Array)[5] = NaN;
  const nan = start(job({ data, shuffle: false }));
  await assert.rejects(nan.result, /the loss became NaN at step 1/);
});

test('bad jobs are rejected with the field named', async () => {
  await assert.rejects(runTraining(job({ steps: 5 })), /give exactly one of them/);
  await assert.rejects(runTraining(job({ batchSize: 0 })), /batchSize/);
  await assert.rejects(runTraining(job({ data: { kind: 'nope' } })), /data.kind: unknown data source "nope"/);
  const bad = randomClassification(20, config, 7);
  bad.fields.y!.data = new Int32Array(19);
  await assert.rejects(runTraining(job({ data: bad })), /data.fields.y: 19 rows, but the other fields have 20/);
  await assert.rejects(runTraining(job({ model: { name: 'test-mlp', config: { ...config, hidden: 0 } } })),
    /model.config.hidden/);
});

test('snapshots every epoch from the worker equal in-process runs stopped at that epoch', WORKER_TEST, async () => {
  const snaps: { epoch: number; step: number; state: TrainState }[] = [];
  const h = start(job({ epochs: 3, snapshotEvery: 1 }), { onSnapshot: (s) => snaps.push(s) });
  const out = await h.result;
  assert.equal(out.status, 'done');
  assert.deepEqual(snaps.map((s) => s.epoch), [1, 2],
    'one snapshot per completed epoch except the last (the result has it)');
  assert.deepEqual(snaps.map((s) => s.step), [3, 6]);
  for (const s of snaps) {
    const ref = await runTraining(job({ epochs: s.epoch }), { runtime });
    assertSameState(s.state, ref.result.state, `snapshot at epoch ${s.epoch}`);
  }
  await assert.rejects(runTraining(job({ snapshotEvery: 0 }), { runtime }),
    /snapshotEvery: expected a positive integer/);
});
