// The fine-tuning methods (spec §4.B) on the memorizing fixture, and the one registry all methods share: each method
// trains on exactly its data (clean twins, clean training rows, or both), changes weights but prunes nothing, leaves
// its input alone, reports progress and honours cancellation; `mitigate` runs them like the unlearning methods and
// refuses regularizers; the registry lists the 17 methods and 3 baselines with valid defaults.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { rowOf } from '../src/engine/data/tokenMatrix';
import { evaluate, measureMemorization } from '../src/engine/metrics/index';
import { getAnyMethod, getFineTuneMethod, getMethod, getRegularizer, listMethods, methodInfos,
  resolveHyperParams } from '../src/engine/methods/index';
import { fineTuneRows } from '../src/engine/methods/finetune/shared';
import type { FineTuneContext } from '../src/engine/methods/types';
import { makeCheckpointConfig, saveCheckpoint } from '../src/engine/model/checkpoint';
import { presetDataSpec, resolvePreset } from '../src/engine/presets';
import { gridPoints } from '../src/engine/runs/compareRun';
import { type BaseModel, MASKS_FILE, mitigate, saveMitigation } from '../src/engine/runs/mitigateRun';
import { openSubject } from '../src/engine/runs/subject';
import { Runtime } from '../src/engine/runtime/session';
import type { HyperValue, MethodProgress } from '../src/shared/methodTypes';
import { FIXTURE_OVERRIDES, type MemorizingModel, accuracyOn, memorizingModel } from './helpers/memorizingModel';
import { claimOutputDir } from '../src/engine/io/outputDir';

const rt = new Runtime({ threads: 2 });
after(() => rt.dispose());

let fx: MemorizingModel;
before(async () => {
  fx = await memorizingModel(rt);
});

const memorizationOf = async (params: Map<string, Float32Array>) =>
  (await measureMemorization(rt, fx.config, params, fx.data.artifacts)).result.percentMemorized!;
const context = (id: string, hp: Record<string, HyperValue> = {},
  extra: Partial<FineTuneContext> = {}): FineTuneContext => ({
  runtime: rt,
  config: fx.config,
  params: fx.params,
  data: fx.data,
  hp: resolveHyperParams(getFineTuneMethod(id), hp),
  seed: 0,
  ...extra,
});
const rowKey = (m: { cols: number; data: Int32Array }, i: number) =>
  Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)).join(',');

// Spec §4's values, written out here: `grid` where the paper swept a parameter, `paper` where it used one value
// (default or fixed). A parameter missing from a method's entry has neither. The baselines are not in the paper: no
// paper values; their grids are ours.
const WEIGHT_RATIOS = [1e-5, 1e-4, 1e-3, 0.01, 0.05];
const SPEC_VALUES: Record<string, Record<string, { grid?: HyperValue[]; paper?: HyperValue }>> = {
  'spectral-norm': { lam: { grid: [0.001, 0.01, 0.1] } },
  'loss-truncation': { dropc: { grid: [0.01, 0.05, 0.1] } },
  'example-tied-dropout': { p_mem: { grid: [0.01, 0.05, 0.1] }, p_gen: { paper: 0.2 } },
  ...Object.fromEntries(['ft-clean', 'ft-extra', 'ft-both'].map((id) => [id,
    { epochs: { paper: 5 }, lr: { paper: 1e-3 }, batchSize: { paper: 128 }, weightDecay: { paper: 0.1 } }])),
  'zero-out': { ratio: { grid: [0.001, 0.01, 0.05] } },
  'activations': { ratio: { grid: [0.001, 0.01, 0.05] } },
  // ig_steps was listed as {1, 10, 20} but the reference's IG always ran 20 steps (spec §7.14).
  'integrated-gradients': { ratio: { grid: [0.001, 0.01, 0.05] }, ig_steps: { paper: 20 } },
  ...Object.fromEntries(['slimming', 'hard-concrete'].map((id) => [id, {
    ratio: { grid: [0.001, 0.01, 0.05] }, epochs: { grid: [1, 10, 20] }, lr: { paper: 0.1 },
    lambda_l1: { paper: 1000 }, stop_loss: { paper: 0.1 }, batch_size: { paper: 32 } }])),
  'greedy': { ratio: { grid: WEIGHT_RATIOS }, batchSize: { paper: 64 } },
  'durable': { ratio: { grid: WEIGHT_RATIOS }, batchSize: { paper: 512 } },
  'durable-agg': { ratio: { grid: WEIGHT_RATIOS }, batchSize: { paper: 512 } },
  'sou': { ratio: { grid: WEIGHT_RATIOS }, numGrads: { paper: 512 }, blockSize: { paper: 50 },
    damping: { paper: 1e-7 }, batchSize: { paper: 512 } },
  'subnet': { ratio: { grid: [...WEIGHT_RATIOS, 0.1, 0.25, 0.3, 0.5, 0.8] }, epochs: { grid: [1, 10, 20] } },
  'balanced-subnet': { ratio: { grid: [...WEIGHT_RATIOS, 0.1, 0.25, 0.3, 0.5, 0.8] }, epochs: { grid: [1, 10, 20] },
    loss_weighting: { grid: [0.05, 0.5, 0.7, 0.9], paper: 0.05 } },
};

test('every hyper-parameter carries spec §4\u2019s sweep or value; a default that differs says "our default"', () => {
  for (const m of listMethods()) {
    const want = SPEC_VALUES[m.id] ?? {};
    for (const h of m.hyperParams) {
      const w = want[h.name] ?? {};
      assert.equal(h.paper, w.paper, `${m.id}.${h.name}: the paper's value`);
      if (m.family === 'baseline') {
        // Not in the paper: our own default and sweep, which the description says.
        assert.match(h.description, /Not in the paper/, `${m.id}.${h.name}`);
        continue;
      }
      assert.deepEqual(h.grid, w.grid, `${m.id}.${h.name}: grid`);
      const ours = h.paper !== undefined ? h.default !== h.paper : !h.grid?.includes(h.default);
      if (ours || h.grid) assert.match(h.description, /[Oo]ur default/, `${m.id}.${h.name}: ${h.description}`);
    }
    for (const name of Object.keys(want)) assert.ok(m.hyperParams.some((h) => h.name === name), `${m.id}.${name}`);
  }
});

test('the registry lists the 17 methods and 3 baselines, each family once, with valid defaults and grids', () => {
  const all = listMethods();
  const byFamily = (f: string) => all.filter((m) => m.family === f).map((m) => m.id).sort();
  assert.deepEqual(byFamily('regularizer'), ['example-tied-dropout', 'loss-truncation', 'spectral-norm']);
  assert.deepEqual(byFamily('fine-tune'), ['ft-both', 'ft-clean', 'ft-extra']);
  assert.deepEqual(byFamily('neuron'),
    ['activations', 'hard-concrete', 'integrated-gradients', 'slimming', 'zero-out']);
  assert.deepEqual(byFamily('weight'), ['balanced-subnet', 'durable', 'durable-agg', 'greedy', 'sou', 'subnet']);
  assert.deepEqual(byFamily('baseline'), ['gradient-ascent', 'gradient-ascent-kl', 'gradient-difference']);
  assert.equal(all.length, 20);
  assert.equal(new Set(all.map((m) => m.id)).size, 20, 'ids are unique');
  for (const m of all) {
    const hp = resolveHyperParams(m, {});
    for (const h of m.hyperParams) {
      assert.equal(hp[h.name], h.default, `${m.id}.${h.name} default`);
      assert.ok(h.description.length > 0, `${m.id}.${h.name} has a description`);
      for (const v of h.grid ?? []) resolveHyperParams(m, { [h.name]: v }); // every sweep value validates
    }
  }
  // The UI's copy is plain data, and lists the same methods in the same order.
  const infos = methodInfos();
  assert.deepEqual(JSON.parse(JSON.stringify(infos)), infos);
  assert.deepEqual(infos.map((i) => i.id), all.map((m) => m.id));
  assert.deepEqual(resolveHyperParams(getAnyMethod('spectral-norm'), {}), { lam: 0.01 });
  assert.deepEqual(resolveHyperParams(getAnyMethod('example-tied-dropout'), {}), { p_mem: 0.1, p_gen: 0.2 });
  assert.deepEqual(resolveHyperParams(getAnyMethod('ft-both'), {}),
    { epochs: 5, lr: 1e-3, batchSize: 128, weightDecay: 0.1 });
  // Each family's getter refuses the others, saying how to run the method instead.
  assert.throws(() => getMethod('ft-clean'),
    new RegExp(/"ft-clean" is a fine-tuning method: it continues training a checkpoint /.source +
      /\(tinymem mitigate DIR --method ft-clean\), not an unlearning method/.source));
  assert.throws(() => getMethod('spectral-norm'), /tinymem train --preset NAME --regularizer spectral-norm/);
  assert.throws(() => getFineTuneMethod('greedy'), /not a fine-tuning method/);
  assert.throws(() => getRegularizer('ft-extra'),
    /not a regularizer; regularizers: spectral-norm, loss-truncation, example-tied-dropout/);
  assert.throws(() => resolveHyperParams(getAnyMethod('ft-clean'), { epochs: 0 }),
    /ft-clean: epochs: 0 is out of range/);
  // batchSize: the checkpoint's
  // The paper did not sweep fine-tuning: its grid is the defaults alone.
  assert.deepEqual(gridPoints('ft-clean', true), [{}]);
});

test('fine-tuning data: clean twins of the noised rows, the clean training rows, or both', () => {
  const { artifacts, train } = fx.data;
  const planted = artifacts.tokens.rows;
  const clean = fineTuneRows(fx.data, 'clean');
  const extra = fineTuneRows(fx.data, 'extra');
  const both = fineTuneRows(fx.data, 'both');
  assert.equal(clean.rows, planted, 'one clean twin per noised row (no duplication in the fixture)');
  let differ = 0;
  for (let i = 0; i < planted; i++) {
    assert.deepEqual(rowOf(clean, i), rowOf(artifacts.clean, i));
    if (rowKey(clean, i) !== rowKey(artifacts.tokens, i)) differ++;
  }
  assert.ok(differ > planted / 2, `${differ} of ${planted} twins differ from their noised rows`);
  assert.equal(extra.rows, train.tokens.rows - planted);
  const noised = new Set(Array.from({ length: planted }, (_, i) => rowKey(artifacts.tokens, i)));
  for (let i = 0; i < extra.rows; i++) {
    assert.ok(!noised.has(rowKey(extra, i)), `extra row ${i} is a noised sequence`);
    assert.deepEqual(rowOf(extra, i), rowOf(train.tokens, planted + i));
  }
  assert.equal(both.rows, clean.rows + extra.rows);
  assert.deepEqual(both.data, Int32Array.from([...clean.data, ...extra.data]));
});

test('fine-tuning data: a duplicated planted row still gives its clean twin once (the reference\u2019s ' +
  'clean_data_corresponding_to_noise)', () => {
  const { artifacts, train } = fx.data;
  const planted = artifacts.tokens.rows;
  // Planted rows seen ×1, ×10 and ×100 in training, as the paper's duplication classes.
  const repeats = Uint32Array.from(train.repeats, (r, i) => (i < planted ? [1, 10, 100][i % 3]! : r));
  const dup = { artifacts, train: { ...train, repeats } };
  const clean = fineTuneRows(dup, 'clean');
  assert.equal(clean.rows, planted);
  assert.deepEqual(clean.data, artifacts.clean.data);
  assert.equal(fineTuneRows(dup, 'both').rows, planted + train.tokens.rows - planted);
});

test('ft-clean with its defaults: 5 epochs on the clean twins, every weight may change, no masks, memorization drops ' +
  'by ≥ 20 %, ≤ 5 points lost', async () => {
  const snapshot = new Map([...fx.params].map(([k, v]) => [k, v.slice()]));
  const progress: MethodProgress[] = [];
  const res = await getFineTuneMethod('ft-clean').run(context('ft-clean', {}, { onProgress: (p) => progress.push(p) }));
  for (const [n, v] of fx.params) assert.deepEqual(v, snapshot.get(n), `the input tensor ${n} was mutated`);
  assert.equal(res.masks.size, 0, 'fine-tuning prunes nothing');
  assert.deepEqual([...res.params.keys()].sort(), [...fx.params.keys()].sort());
  const steps = 5 * Math.ceil(fx.data.artifacts.clean.rows / 128);
  assert.equal(res.steps, steps);
  assert.equal(res.losses.length, steps);
  assert.deepEqual(progress.map((p) => p.done), Array.from({ length: steps }, (_, i) => i + 1));
  assert.ok(progress.every((p) => p.total === steps && Number.isFinite(p.loss) && /clean twins/.test(p.stage)));
  const changed = [...res.params].filter(([n, v]) => v.some((x, i) => x !== fx.params.get(n)![i])).length;
  assert.ok(changed > res.params.size / 2, `${changed} of ${res.params.size} tensors changed`);
  const mem = await memorizationOf(res.params);
  const acc = await accuracyOn(rt, fx, res.params);
  console.log(`fixture seed ${fx.seed}: ft-clean defaults: memorization ${fx.memorized.toFixed(1)} % → ` +
    `${mem.toFixed(1)} %, accuracy ${fx.accuracy.toFixed(2)} % → ${acc.toFixed(2)} %`);
  assert.ok(mem <= fx.memorized * 0.8, `memorization ${fx.memorized}% → ${mem}% after clean fine-tuning: less than a ` +
    `fifth of it removed`);
  assert.ok(acc >= fx.accuracy - 5, `accuracy ${fx.accuracy.toFixed(2)}% → ${acc.toFixed(2)}% after clean ` +
    `fine-tuning: more than 5 points lost`);
  assert.match(res.notes!.join('\n'), new RegExp(`${steps} AdamW steps`));
});

test('ft-extra and ft-both train on their own data (one epoch): their step counts follow their row counts',
  async () => {
  // The fixture's training set cut to its 40 planted rows and 60 clean rows, and batches of 20 (one compiled step
  // shape for both methods), to keep the test short.
    const { train, artifacts } = fx.data;
    const keep = artifacts.tokens.rows + 60;
    const cols = train.tokens.cols;
    const small = { artifacts,
      train: { ...train, tokens: { rows: keep, cols, data: train.tokens.data.subarray(0, keep * cols) },
        repeats: train.repeats.subarray(0, keep), size: keep } };
    for (const [id, rows] of [['ft-extra', 60], ['ft-both', 100]] as const) {
      assert.equal(fineTuneRows(small, id === 'ft-extra' ? 'extra' : 'both').rows, rows);
      const res = await getFineTuneMethod(id).run(context(id, { epochs: 1, batchSize: 20 }, { data: small }));
      assert.equal(res.steps, rows / 20, id);
      assert.ok(res.losses.every(Number.isFinite), id);
      assert.equal(res.masks.size, 0);
      assert.ok([...res.params].some(([n, v]) => v.some((x, i) => x !== fx.params.get(n)![i])),
        `${id} changed weights`);
    }
  });

test('fine-tuning honours cancellation before and between steps', async () => {
  const pre = new AbortController();
  pre.abort(new Error('stopped by the user'));
  await assert.rejects(getFineTuneMethod('ft-clean').run(context('ft-clean', {}, { signal: pre.signal })),
    /stopped by the user/);
  const mid = new AbortController();
  let steps = 0;
  const ctx = context('ft-clean', { epochs: 20 }, {
    signal: mid.signal,
    onProgress: () => {
      if (++steps === 2) mid.abort(new Error('cancelled mid-run'));
    },
  });
  await assert.rejects(getFineTuneMethod('ft-clean').run(ctx), /cancelled mid-run/);
  assert.equal(steps, 2, 'no step runs after the abort');
});

test('mitigate runs a fine-tuning method on a checkpoint like an unlearning method, and refuses a regularizer',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinymem-ft-'));
    try {
      const preset = resolvePreset('cpu-math-noise', { ...FIXTURE_OVERRIDES, seed: String(fx.seed) });
      saveCheckpoint(path.join(dir, 'base'), makeCheckpointConfig(fx.config), fx.params,
        { data: presetDataSpec(preset), metricHistory: [] });
      // prepareBase's own measurement suppresses EOS in greedy decoding, under which this short-sequence fixture
      // memorizes nothing (it would refuse to unlearn); fine-tuning needs no forget set, so the base is built here.
      const before = await evaluate(rt, fx.config, fx.params, fx.data, { memorization: false });
      const base: BaseModel = { ...openSubject(path.join(dir, 'base')), source: fx.data, before, forget: fx.forget,
        retain: fx.retain };
      const m = await mitigate(rt, base, { method: 'ft-clean', hyperParams: { epochs: '2' } });
      assert.equal(m.record.method, 'ft-clean');
      assert.deepEqual(m.record.hyperParams, { epochs: 2, lr: 1e-3, batchSize: 128, weightDecay: 0.1 });
      assert.deepEqual(m.record.pruned, []);
      assert.ok(m.record.seconds > 0);
      assert.ok(m.after.accuracy!.paper! >= before.accuracy!.paper! / 2,
        `the fine-tuned model is evaluated: accuracy ${before.accuracy!.paper} % → ${m.after.accuracy!.paper} %`);
      const claim = claimOutputDir(path.join(dir, 'edited'));
      const out = saveMitigation(claim, base, m);
      claim.release();
      assert.ok(!fs.existsSync(path.join(out, MASKS_FILE)), 'no masks file for a method that prunes nothing');
      const manifest = JSON.parse(fs.readFileSync(path.join(out, 'tinymem.json'), 'utf8'));
      assert.equal(manifest.mitigation.method, 'ft-clean');
      await assert.rejects(mitigate(rt, base, { method: 'loss-truncation' }),
        /"loss-truncation" is a regularizer: it applies while training from scratch/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
