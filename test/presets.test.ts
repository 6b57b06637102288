// Presets and the `tinymem` data source: every preset resolves to a valid job, overrides work and bad ones fail with
// one clear line naming the key, batches have the right shape and an epoch expands duplication repeats, and a tiny
// preset trains end to end (in-process and in the worker, identically) and evaluates.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Rng } from '../src/engine/data/rng';
import { MATH_EOS } from '../src/engine/data/mathTokenizer';
import { evaluate, noiseFilter } from '../src/engine/metrics/index';
import { UserError } from '../src/shared/userError';
import { resolveGpt2Config } from '../src/engine/model/gpt2';
import {
  PRESETS,
  QUICKSTART_PRESET,
  parseOverrides,
  presetDataset,
  presetList,
  presetModelConfig,
  presetToJob,
  resolvePreset,
} from '../src/engine/presets';
import { Runtime } from '../src/engine/runtime/session';
import { openDataSource } from '../src/engine/train/dataSources';
import { tinymemDataset } from '../src/engine/train/tinymemData';
import { runTraining, startTraining, type TrainingHandle } from '../src/engine/train/trainLoop';
import type { DataSourceSpec } from '../src/shared/engineMessages';

const rt = new Runtime({ threads: 2 });
const handles: TrainingHandle[] = [];
after(async () => {
  await Promise.all(handles.map((h) => h.terminate()));
  await rt.dispose();
});

test('every preset resolves and builds a valid gpt2 job on the tinymem data source', () => {
  assert.ok(PRESETS.length >= 27);
  assert.equal(new Set(PRESETS.map((p) => p.name)).size, PRESETS.length, 'names are unique');
  for (const p of PRESETS) {
    assert.ok(p.description.length > 10 && !p.description.includes('\n'), `${p.name}: one-line description`);
    const r = resolvePreset(p.name);
    const job = presetToJob(r);
    assert.equal(job.model.name, 'gpt2');
    const c = resolveGpt2Config(job.model.config);
    assert.equal(c.n_positions, r.data.options.maxCtx, `${p.name}: context = data maxCtx`);
    assert.equal(c.vocab_size, r.data.dataset === 'math' ? 14 : 50257);
    assert.deepEqual(job.data, { kind: 'tinymem', dataset: r.data.dataset, options: r.data.options });
    assert.equal(r.data.options.seed, job.seed, `${p.name}: one run seed`);
    assert.equal(job.epochs, p.train.epochs);
    assert.equal(job.steps, undefined);
    assert.ok(Number.isInteger(job.batchSize) && job.batchSize > 0);
    assert.deepEqual(JSON.parse(JSON.stringify(job)), job, `${p.name}: the job is plain JSON data`);
  }
  // The CPU presets' data builds and fits the model (the paper-size datasets take seconds; their options are checked
  // above).
  for (const p of PRESETS.filter((x) => x.name.startsWith('cpu-'))) {
    const r = resolvePreset(p.name);
    const ds = presetDataset(r);
    const c = presetModelConfig(r);
    assert.equal(ds.maxCtx, c.n_positions, p.name);
    assert.equal(ds.vocabSize, c.vocab_size, p.name);
    assert.ok(ds.train.size > 0 && ds.artifacts.tokens.rows > 0, p.name);
  }
  assert.deepEqual(presetList().map((x) => x.name), PRESETS.map((p) => p.name));
  for (const name of [QUICKSTART_PRESET, 'cpu-math-noise', 'cpu-math-backdoor', 'cpu-language-noise']) assert.ok(
    PRESETS.some((p) => p.name === name), name);
});

test("the paper presets carry the paper's configuration (spec §2)", () => {
  const paper = PRESETS.filter((p) => p.name.startsWith('paper-'));
  assert.equal(paper.length, 24, '{2,4,8,16} layers × {mult, increment, language} × {noise, backdoor}');
  const epochs = { math: { noise: 3500, backdoor: 500 }, language: { noise: 100, backdoor: 50 } };
  for (const p of paper) {
    const r = resolvePreset(p.name);
    const job = presetToJob(r);
    const c = presetModelConfig(r);
    assert.ok([2, 4, 8, 16].includes(c.n_layer));
    assert.equal(p.name.endsWith(`-${c.n_layer}l`), true);
    assert.deepEqual([c.n_embd, c.n_head, c.n_inner ?? 4 * c.n_embd, c.activation_function, c.n_positions],
      [128, 4, 512, 'relu', 150]);
    assert.ok(Math.abs(c.initializer_range - 0.8 / Math.sqrt(128)) < 1e-12);
    assert.deepEqual(job.hyper, { lr: 1e-3, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.1 });
    assert.equal(job.batchSize, 128);
    const artifact = r.data.options.artifact;
    assert.equal(job.epochs, epochs[r.data.dataset][artifact], p.name);
    assert.equal(r.data.options.duplicate, r.data.dataset === 'language', `${p.name}: language duplicated, math not`);
    if (r.data.dataset === 'math') {
      assert.deepEqual([r.data.options.numMain, r.data.options.numExtra, r.data.options.numNoise], [20000, 3000, 1000]);
      assert.equal(r.data.options.family, p.name.includes('mult') ? 'mult' : 'increment');
    } else assert.deepEqual(r.data.options.dupPowers, [0, 1, 2, 3]);
  }
});

test('overrides: dotted keys, parsed values, the run seed', () => {
  const r = resolvePreset('cpu-math-noise', {
    'model.n_layer': '3',
    'data.numNoise': '40',
    'data.family': 'mult',
    'data.duplicate': 'true',
    'data.dupPowers': '[0, 1]',
    'train.epochs': '10',
    'train.lr': '0.003',
    'train.betas': '[0.9, 0.99]',
    seed: '7',
  });
  const job = presetToJob(r);
  assert.equal((job.model.config as { n_layer: number }).n_layer, 3);
  assert.equal(r.data.dataset, 'math');
  assert.equal(r.data.options.numNoise, 40);
  assert.equal(r.data.options.family, 'mult');
  assert.equal(r.data.options.duplicate, true);
  assert.deepEqual(r.data.options.dupPowers, [0, 1]);
  assert.equal(job.epochs, 10);
  assert.deepEqual(job.hyper, { lr: 0.003, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.1 });
  assert.equal(job.seed, 7);
  assert.equal(r.data.options.seed, 7);
  assert.deepEqual(r.overrides['train.lr'], '0.003');
  // The context follows the data; the base preset is not modified.
  const short = resolvePreset('cpu-math-noise', { 'data.maxCtx': '130' });
  assert.equal(presetModelConfig(short).n_positions, 130);
  assert.notEqual(resolvePreset('cpu-math-noise').data.options.numNoise, 40);
  assert.deepEqual(parseOverrides(['train.epochs=5', 'data.files=["a=b.txt"]']),
    { 'train.epochs': '5', 'data.files': '["a=b.txt"]' });
  const lang = resolvePreset('cpu-language-noise', { 'data.maxTrainChunks': 'null' }).data;
  assert.ok(lang.dataset === 'language' && lang.options.maxTrainChunks === null);
});

test('bad presets, keys and values fail with one line naming the key and what is allowed', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['nope', {}, /^preset: unknown preset "nope"; CPU presets: cpu-math-noise, .*paper presets:/],
    [QUICKSTART_PRESET, { 'model.n_layers': '2' }, /^model\.n_layers: unknown model setting; known: model\.n_layer, /],
    [QUICKSTART_PRESET, { 'data.numNoize': '2' }, /^data\.numNoize: unknown math data option; known: .*data\.numNoise/],
    [QUICKSTART_PRESET, { 'train.epoch': '2' }, /^train\.epoch: unknown train setting; known: train\.epochs/],
    [QUICKSTART_PRESET, { epochs: '2' },
      /^epochs: unknown setting; use seed, model\.<field>, data\.<option> or train\.<setting>/],
    [QUICKSTART_PRESET, { 'train.epochs': '0' }, /^train\.epochs: expected an integer in \[1, 1000000\], got 0$/],
    [QUICKSTART_PRESET, { 'train.epochs': '2.5' }, /^train\.epochs: expected an integer/],
    [QUICKSTART_PRESET, { 'train.lr': '-1' }, /^train\.lr: expected a number in \(0, 1\], got -1$/],
    [QUICKSTART_PRESET, { 'train.lr': 'fast' }, /^train\.lr: expected a number, got "fast"$/],
    [QUICKSTART_PRESET, { 'train.betas': '[0.9]' }, /^train\.betas: expected two numbers in \[0, 1\)/],
    [QUICKSTART_PRESET, { 'data.numNoise': '100000' },
      /^data\.numNoise: must be an integer in \[1, numMain − numTest = \d+\], got 100000$/],
    [QUICKSTART_PRESET, { 'data.duplicate': 'yes' }, /^data\.duplicate: expected true or false, got "yes"$/],
    [QUICKSTART_PRESET, { 'data.family': 'cube' }, /^data\.family: must be one of mult, increment, got "cube"$/],
    [QUICKSTART_PRESET, { 'data.seed': '1' }, /^data\.seed: .*use seed=N$/],
    [QUICKSTART_PRESET, { seed: '-1' }, /^seed: expected a non-negative integer, got -1$/],
    [QUICKSTART_PRESET, { 'model.n_head': '3' }, /^model\.n_head: n_embd = 128 is not divisible by n_head = 3$/],
    [QUICKSTART_PRESET, { 'model.n_layer': '0' }, /^model\.n_layer: expected an integer in \[1, 64\], got 0$/],
    [QUICKSTART_PRESET, { 'model.activation_function': 'tanh' },
      /^model\.activation_function: expected one of relu, gelu_new, gelu, got "tanh"$/],
    [QUICKSTART_PRESET, { 'model.n_positions': '64' },
      /^model\.n_positions: follows the data.s context length; set data\.maxCtx instead$/],
    [QUICKSTART_PRESET, { 'model.vocab_size': '64' }, /^model\.vocab_size: follows the dataset/],
    ['cpu-language-noise', { 'data.family': 'mult' }, /^data\.family: unknown language data option/],
  ];
  for (const [name, over, re] of cases) {
    assert.throws(
      () => resolvePreset(name, over),
      (e: unknown) => {
        assert.ok(e instanceof UserError, `${JSON.stringify(over)}: ${e}`);
        assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
        assert.match(e.message, re);
        return true;
      },
    );
  }
  assert.throws(() => parseOverrides(['train.epochs']), /^PresetError|train\.epochs: expected key=value/);
});

const TINY_MATH = { family: 'increment', seqLength: 30, numMain: 60, numExtra: 20, numTest: 10, numNoise: 10,
  maxCtx: 124 } as const;

test('the tinymem source serves int64 [rows, maxCtx] batches of the dataset rows', () => {
  const spec: DataSourceSpec = { kind: 'tinymem', dataset: 'math', options: TINY_MATH };
  const ds = tinymemDataset(spec);
  assert.equal(tinymemDataset({ ...spec, options: { ...TINY_MATH } }), ds, 'built once per options');
  const src = openDataSource(spec);
  assert.equal(src.rows, ds.train.tokens.rows);
  const rows = Uint32Array.of(3, 0, 3, src.rows - 1);
  const { tokens } = src.batch(rows) as { tokens: BigInt64Array };
  assert.ok(tokens instanceof BigInt64Array);
  assert.equal(tokens.length, rows.length * 124);
  rows.forEach((r, k) => {
    const want = Array.from(ds.train.tokens.data.subarray(r * 124, (r + 1) * 124));
    assert.deepEqual(Array.from(tokens.subarray(k * 124, (k + 1) * 124), Number), want,
      `batch row ${k} = dataset row ${r}`);
  });
  assert.throws(() => openDataSource({ kind: 'tinymem', dataset: 'cube' }),
    /^Error: data\.dataset: expected "math" or "language", got "cube"/);
  assert.throws(() => openDataSource({ kind: 'tinymem', dataset: 'math', options: { ...TINY_MATH, maxCtx: 60 } }),
    /data\.options\.maxCtx: .* raise maxCtx to at least/);
  // The same problem found through a preset names the override key.
  assert.throws(
    () => presetDataset(resolvePreset(QUICKSTART_PRESET, { 'data.maxCtx': '100' })),
    (e: unknown) => e instanceof UserError
      && /^data\.maxCtx: the increment \+7 sequence from start \d+ takes \d+ tokens but maxCtx is 100; raise maxCtx to at least \d+ or lower seqLength \(30\)$/.test(e.message),
  );
});

test('an epoch of a duplicated dataset visits each row as often as it is repeated (a ×10 row exactly 10 times)', () => {
  const spec: DataSourceSpec = { kind: 'tinymem', dataset: 'math',
    options: { ...TINY_MATH, duplicate: true, dupPowers: [0, 1, 2] } };
  const ds = tinymemDataset(spec);
  const src = openDataSource(spec);
  const rng = new Rng(5);
  const a = src.epochOrder(rng);
  const b = src.epochOrder(rng);
  assert.equal(a.length, ds.train.size);
  assert.equal(ds.train.size, ds.train.tokens.rows - 10 + 4 * 1 + 3 * 10 + 3 * 100,
    '10 noised rows in classes of 4/3/3 at ×1/×10/×100');
  for (const order of [a, b]) {
    const visits = new Uint32Array(src.rows);
    for (const r of order) visits[r]!++;
    assert.deepEqual(visits, ds.train.repeats);
  }
  const tenfold = ds.train.repeats.indexOf(10);
  assert.ok(tenfold >= 0);
  assert.equal(a.filter((r) => r === tenfold).length, 10);
  assert.notDeepEqual(a, b, 'each epoch is shuffled afresh');
  const plain = src.epochOrder(null);
  assert.equal(plain.length, ds.train.size);
  assert.ok(plain.every((r, i) => i === 0 || r >= plain[i - 1]!), 'unshuffled: section order');
});

test("the quickstart's noised sequences can all be memorized: none ends inside the compared window", () => {
  // The reference's decoding never emits EOS, so a noised sequence whose EOS falls in tokens [50, 100) can never
  // count as memorized; the quickstart's data must not contain such sequences.
  const ds = presetDataset(resolvePreset(QUICKSTART_PRESET));
  const a = ds.artifacts;
  const keep = noiseFilter(a.tokens, a.clean, 50, 50);
  let kept = 0;
  for (let r = 0; r < a.tokens.rows; r++) {
    if (!keep[r]) continue;
    kept++;
    assert.ok(!a.tokens.data.subarray(r * a.tokens.cols + 50, r * a.tokens.cols + 100).includes(MATH_EOS),
      `noised row ${r} ends before token 100`);
  }
  assert.ok(kept >= 0.6 * a.tokens.rows, `${kept} of ${a.tokens.rows} noised rows have noise in the window`);
});

test('a tiny tinymem preset trains end to end, identically in-process and in the worker, and evaluates',
  { timeout: 60_000 }, async () => {
    const preset = resolvePreset(QUICKSTART_PRESET, {
      ...Object.fromEntries(Object.entries(TINY_MATH).map(([k, v]) => [`data.${k}`, String(v)])),
      'model.n_layer': '1',
      'model.n_embd': '32',
      'train.epochs': '2',
      'train.batchSize': '32',
    });
    const job = presetToJob(preset, { runtime: { threads: 1 } });
    const ds = tinymemDataset(job.data);
    const perEpoch = Math.ceil(ds.train.size / 32);
    const h = startTraining(job);
    handles.push(h);
    const [inWorker, inProcess] = await Promise.all([h.result, runTraining(job, { runtime: rt })]);
    assert.equal(inProcess.status, 'done');
    assert.equal(inProcess.result.steps, 2 * perEpoch);
    assert.ok(inProcess.result.losses.every(Number.isFinite));
    assert.ok(Math.abs(inProcess.result.losses[0]! - Math.log(14)) < 1,
      `first loss ${inProcess.result.losses[0]} near ln 14`);
    assert.ok(inProcess.result.losses.at(-1)! < inProcess.result.losses[0]!, 'the loss falls');
    assert.equal(inWorker.status, 'done');
    assert.deepEqual(inWorker.result.losses, inProcess.result.losses, 'the worker builds the same data and batches');

    const r = await evaluate(rt, presetModelConfig(preset), new Map(Object.entries(inProcess.result.state.params)), ds,
      { perplexity: false, heatmap: false });
    assert.equal(r.memorization?.pooled.rows, 10);
    assert.ok(r.memorization?.percentMemorized !== undefined);
    assert.ok(r.accuracy !== null && r.accuracy.paper! > 0 && r.accuracy.paper! <= 100);
  });
