// `evaluate` end to end on a tiny random GPT-2 and tiny math datasets (noise with duplication, and backdoor):
// structural invariants of the result, plus cross-checks of its numbers against independent paths (greedy decoding
// and sequence losses from score.ts) and against stand-in generators whose memorization is known.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { buildMathDataset } from '../src/engine/data/mathData';
import { MATH_BACKDOOR_TOKEN } from '../src/engine/data/mathData';
import { MATH_EOS } from '../src/engine/data/mathTokenizer';
import { Rng } from '../src/engine/data/rng';
import { rowOf } from '../src/engine/data/tokenMatrix';
import { type EvalDataset, evaluate } from '../src/engine/metrics/evaluate';
import { buildLanguageDataset } from '../src/engine/data/languageData';
import { GPT2_EOS } from '../src/engine/data/gpt2Tokenizer';
import { type GenerateFn, noiseFilter } from '../src/engine/metrics/memorization';
import { greedyContinuation, sequenceLosses } from '../src/engine/metrics/score';
import { teacherForced } from '../src/engine/metrics/teacherForced';
import { type Gpt2Config, initGpt2Params } from '../src/engine/model/gpt2';
import { Runtime } from '../src/engine/runtime/session';
import { HEATMAP_MATCH, type EvaluationResult } from '../src/shared/metricTypes';

const config: Gpt2Config = {
  vocab_size: 14, n_positions: 150, n_embd: 16, n_layer: 1, n_head: 2, n_inner: null,
  activation_function: 'relu', layer_norm_epsilon: 1e-5, initializer_range: 0.5,
};
const rng = new Rng(1234);
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
const params = initGpt2Params(config, normal);
const rt = new Runtime({ threads: 1 });
after(() => rt.dispose());

const noiseData = buildMathDataset({ numMain: 200, numTest: 10, numNoise: 40, numExtra: 30, extraConstants: [2, 3],
  duplicate: true, dupPowers: [0, 1], noiseProb: 0.1 });
const backdoorData = buildMathDataset(
  { numMain: 400, numTest: 10, numExtra: 30, extraConstants: [2], artifact: 'backdoor' });

function checkCommon(r: EvaluationResult, ds: EvalDataset): void {
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r, 'the result is plain JSON');
  const ids = r.metrics.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, 'metric ids are unique');
  for (const m of r.metrics) {
    assert.ok(m.description.length > 20 && m.label.length > 0, `${m.id} is labelled and described`);
    assert.ok(m.value === null || Number.isFinite(m.value), `${m.id} is finite or null`);
    if (m.unit === 'percent' && m.value !== null) assert.ok(m.value >= 0 && m.value <= 100,
      `${m.id} = ${m.value} is a percentage`);
    if (m.unit === 'perplexity' && m.value !== null) assert.ok(m.value >= 1, `${m.id} = ${m.value} is a perplexity`);
  }
  const firstDetail = r.metrics.findIndex((m) => !m.headline);
  assert.ok(firstDetail > 0 && r.metrics.slice(firstDetail).every((m) => !m.headline), 'headline metrics come first');
  const mem = r.memorization!;
  assert.equal(mem.pooled.kept, mem.byClass.reduce((s, c) => s + c.kept, 0));
  assert.equal(mem.pooled.memorized, mem.byClass.reduce((s, c) => s + c.memorized, 0));
  assert.equal(mem.forgetSet.length, mem.pooled.memorized);
  assert.ok(mem.pooled.memorized + mem.pooled.cleanCorrect <= mem.pooled.kept);
  // The heatmap shows every evaluated row here (cap above their number); its flags agree with the verdicts.
  const h = r.heatmap!;
  assert.equal(h.evaluatedRows, mem.pooled.kept);
  assert.equal(h.rows.length, h.evaluatedRows);
  assert.deepEqual(h.rows.filter((x) => x.memorized).map((x) => x.row), mem.forgetSet,
    'forget-set rows are the memorized ones');
  for (const x of h.rows) {
    assert.equal(x.generated.length, x.target.length);
    const allMatch = x.flags.every((f) => f & HEATMAP_MATCH) && !x.target.includes(mem.unmatchableToken!);
    assert.equal(x.memorized, allMatch, `row ${x.row}: memorized ⇔ every position matches`);
  }
  // Accuracy: the average is over the main and extra sets, each set listed.
  const acc = r.accuracy!;
  assert.deepEqual(acc.averagedSets, r.accuracy!.sets.map((s) => s.set).filter((s) => !s.startsWith('backdoor-')));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(
    acc.paper! - mean(acc.sets.filter((s) => acc.averagedSets.includes(s.set)).map((s) => s.paper!))) < 1e-9);
  for (const s of acc.sets) {
    assert.equal(s.total, ds.tests.find((t) => t.name === s.set)!.tokens.rows * (ds.artifacts.tokens.cols - 1));
    // Padding is left out of the second count; math rows are padded, except poisoned ones ("2" to the end).
    if (ds.kind === 'math' && s.set !== 'backdoor-poisoned') assert.ok(s.totalNoPad < s.total);
    else assert.ok(s.totalNoPad <= s.total);
    assert.ok(s.correctNoPad <= s.correct);
  }
}

test('noise run: structural invariants and agreement with independent decoding and losses', async () => {
  const r = await evaluate(rt, config, params, noiseData, { heatmapRows: 1000, perplexityBatch: 4 });
  checkCommon(r, noiseData);
  assert.equal(r.dataset, 'math');
  assert.equal(r.artifact, 'noise');
  assert.equal(r.provider, 'cpu');
  const mem = r.memorization!;
  const a = noiseData.artifacts;
  const keep = noiseFilter(a.tokens, a.clean, 50, 50);
  assert.equal(mem.pooled.rows, a.tokens.rows);
  assert.equal(mem.pooled.kept, keep.reduce((s, v) => s + v, 0));
  assert.ok(mem.pooled.kept > 0 && mem.pooled.kept < a.tokens.rows, 'the filter keeps some rows and drops some');
  assert.deepEqual(mem.byClass.map((c) => c.factor), [1, 10]);
  for (const c of mem.byClass) assert.equal(c.rows, a.dupClass.filter((v) => v === c.dupClass).length);
  assert.ok(r.metrics.some((m) => m.id === 'memorization.class1'));

  // The heatmap's generations are greedy continuations of the clean 50-token prompt (checked through score.ts
  // directly), and their first token is the teacher-forced argmax at position 49 of the clean row.
  const h = r.heatmap!;
  const sample = h.rows.slice(0, 3);
  const direct = await greedyContinuation(rt, config, params, sample.map((x) => x.prompt as number[]), 50);
  assert.deepEqual(sample.map((x) => x.generated), direct.tokens);
  const tf = await teacherForced(rt, config, params, a.clean);
  for (const x of h.rows) assert.equal(x.generated[0], tf.predictions[x.row * a.clean.cols + 49], `row ${x.row}`);
  for (const x of h.rows) assert.deepEqual(x.prompt, Array.from(rowOf(a.clean, x.row).subarray(0, 50)));

  // Perplexity of main-7 against sequenceLosses (an independent graph): batches of 4 sequences of equal length.
  const main = noiseData.tests[0]!;
  const { loss } = await sequenceLosses(rt, config, params,
    Array.from({ length: main.tokens.rows }, (_, i) => Array.from(rowOf(main.tokens, i))));
  const batches: number[] = [];
  for (let s = 0; s < loss.length; s += 4) batches.push(
    Math.exp(loss.slice(s, s + 4).reduce((x, y) => x + y, 0) / loss.slice(s, s + 4).length));
  const p = r.perplexity!.sets.find((s) => s.set === 'main-7')!;
  assert.ok(Math.abs(p.paper! - batches.reduce((x, y) => x + y, 0) / batches.length) < 1e-4 * p.paper!);
  assert.ok(Math.abs(p.expMeanLoss! - Math.exp(loss.reduce((x, y) => x + y, 0) / loss.length)) < 1e-4 * p.expMeanLoss!);
  const pplNames = r.perplexity!.sets.map((s) => (s.dupClass === undefined ? s.set : `${s.set}/${s.dupClass}`));
  assert.deepEqual(pplNames,
    ['main-7', 'extra-2', 'extra-3', 'artifacts-noised', 'artifacts-noised/0', 'artifacts-noised/1', 'artifacts-clean',
      'artifacts-clean/0', 'artifacts-clean/1']);
});

test('noise run with a stand-in model that regurgitates even rows: the forget set is exactly those rows', async () => {
  const a = noiseData.artifacts;
  const cols = a.tokens.cols;
  const rowByPrompt = new Map<string, number>();
  for (let r = 0; r < a.clean.rows; r++) rowByPrompt.set(Array.from(rowOf(a.clean, r).subarray(0, 50)).join(','), r);
  const generate: GenerateFn = async (prompts, steps) => ({
    provider: 'stub',
    tokens: prompts.map((p) => {
      const r = rowByPrompt.get(p.join(','))!;
      const src = r % 2 === 0 ? a.tokens : a.clean;
      return Array.from(src.data.subarray(r * cols + 50, r * cols + 50 + steps));
    }),
  });
  const r = await evaluate(rt, config, params, noiseData,
    { generate, accuracy: false, perplexity: false, heatmapRows: 1000 });
  assert.equal(r.accuracy, null);
  assert.equal(r.perplexity, null);
  const keep = noiseFilter(a.tokens, a.clean, 50, 50);
  const window = (r: number) => Array.from(a.tokens.data.subarray(r * cols + 50, r * cols + 100));
  const expected = [...keep.keys()].filter((i) => keep[i] && i % 2 === 0 && !window(i).includes(MATH_EOS));
  assert.ok(expected.length > 0);
  assert.deepEqual(r.memorization!.forgetSet, expected);
  const odd = [...keep.keys()].filter((i) => keep[i] && i % 2 === 1);
  assert.ok(r.memorization!.pooled.cleanCorrect <= odd.length);
});

test('backdoor run: attack success on the held-out poisoned set, prompts grouped by trigger position', async () => {
  const bd = backdoorData.backdoor!;
  const r = await evaluate(rt, config, params, backdoorData, { heatmapRows: 1000 });
  checkCommon(r, backdoorData);
  const mem = r.memorization!;
  assert.equal(r.artifact, 'backdoor');
  assert.equal(mem.mode, 'backdoor');
  assert.equal(mem.pooled.rows, bd.poisonedTest.rows);
  assert.ok(r.metrics[0]!.id === 'backdoorSuccess');
  for (const x of r.heatmap!.rows) {
    const p = bd.promptLength[x.row]!;
    assert.equal(x.prompt.length, p);
    assert.equal(x.target.length, Math.min(50, bd.poisonedTest.cols - p));
    assert.ok(x.target.every((t) => t === MATH_BACKDOOR_TOKEN));
  }
  assert.ok(r.perplexity!.sets.some((s) => s.set === 'backdoor-poisoned'));
  assert.ok(!r.accuracy!.averagedSets.includes('backdoor-poisoned'));

  // A stand-in model on which the backdoor always fires: success is 100 % of the evaluated rows.
  const lengths: number[] = [];
  const fires: GenerateFn = async (prompts, steps) => {
    assert.ok(prompts.every((q) => q.length === prompts[0]!.length));
    lengths.push(prompts[0]!.length);
    return { tokens: prompts.map(() => new Array(steps).fill(MATH_BACKDOOR_TOKEN)), provider: 'stub' };
  };
  const s = await evaluate(rt, config, params, backdoorData, { generate: fires, accuracy: false, perplexity: false });
  assert.equal(s.memorization!.percentMemorized, 100);
  assert.equal(s.memorization!.forgetSet.length, s.memorization!.pooled.kept);
  assert.deepEqual(lengths, [...new Set(lengths)].sort((x, y) => x - y), 'one call per prompt length, shortest first');
});

test('language noise run: perplexity is the headline, accuracy a detail, EOS 50256 unmatchable', async () => {
  const lang = buildLanguageDataset({ maxTrainChunks: 12, maxTestChunks: 3, numNoise: 6, dupPowers: [0, 1],
    noiseProb: 0.3 });
  const c: Gpt2Config = { ...config, vocab_size: 50257, n_embd: 8 };
  const r = await evaluate(rt, c, initGpt2Params(c, normal), lang, { k: 8, heatmapRows: 1000 });
  checkCommon(r, lang);
  assert.equal(r.dataset, 'language');
  assert.equal(r.memorization!.unmatchableToken, GPT2_EOS);
  assert.deepEqual(r.memorization!.filterWindow, [50, 58]);
  const headline = r.metrics.filter((m) => m.headline).map((m) => m.id);
  assert.deepEqual(headline,
    ['memorization', 'cleanContinuation', 'forgetSet', 'perplexity.paper.test', 'perplexity.expMean.test']);
  assert.ok(r.metrics.some((m) => m.id === 'accuracy.paper' && !m.headline));
  assert.equal(r.heatmap!.tokenizer, 'gpt2');
  assert.ok(r.heatmap!.rows.every((x) => x.target.length === 8 && x.prompt.length === 50));
});
