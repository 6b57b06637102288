// Unlearning on a Hugging Face GPT-NeoX folder, end to end: plant sequences in a small random NeoX by fine-tuning,
// save it in Hugging Face layout, import the sequences as a JSONL memorized-sequence set (with never-seen controls),
// find the memorized ones, remove them with BalancedSubnet (retain set and perplexity from a token file) and check
// that perplexity moved little; the edited folder loads again and the other method families run on NeoX.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { Rng } from '../src/engine/data/rng';
import { loadModelFolder, saveModel } from '../src/engine/model/checkpoint';
import { validateNeoxConfig } from '../src/engine/model/gptNeox';
import { mlpNames } from '../src/engine/model/architecture';
import { getMethod, resolveHyperParams } from '../src/engine/methods/registry';
import '../src/engine/methods/index';
import { type BaseModel, mitigate, prepareBase, saveMitigation } from '../src/engine/runs/mitigateRun';
import { Runtime } from '../src/engine/runtime/session';
import { TOKENIZER_VOCAB, freshDir, neoxRawConfig, randomNeoxParams, tokenizerJson } from './helpers/hfCheckpoints';
import { markovText, plantByFinetuning, randomSequence } from './helpers/neoxFinetune';
import { claimOutputDir } from '../src/engine/io/outputDir';

const PROMPT = 16;
const CONT = 24;
const LEN = 48;
const rt = new Runtime({ threads: 2 });
let dir = '';
let files: { sequences: string; text: string; retain: string };
let base: BaseModel;

before(async () => {
  const raw = neoxRawConfig({ hidden: 64, heads: 4, layers: 2, inner: 512, std: 0.02 });
  const { config } = validateNeoxConfig(raw, 'config.json');
  const r = new Rng(7);
  const planted = Array.from({ length: 4 }, () => randomSequence(TOKENIZER_VOCAB - 1, LEN, r));
  const controls = Array.from({ length: 4 }, () => randomSequence(TOKENIZER_VOCAB - 1, LEN, r));
  const clean = markovText(TOKENIZER_VOCAB - 1, 20000, 3, 1);
  const t0 = performance.now();
  const tuned = await plantByFinetuning(rt, config, randomNeoxParams(raw, 11),
    { planted, clean, batch: 16, steps: 60, lr: 1e-2, seed: 5 });
  console.log(`planted ${planted.length} sequences by fine-tuning in ${((performance.now() - t0) / 1000).toFixed(1)} ` +
    `s, final loss ${tuned.loss.toFixed(3)}`);
  dir = saveModel(join(freshDir('neox-planted'), 'model'), { config, rawConfig: raw }, tuned.params).dir;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  const seqFile = join(dir, '..', 'mem.jsonl');
  writeFileSync(seqFile, [...planted, ...controls].map((s, i) => JSON.stringify(i % 2 ? { tokens: s } : s)).join('\n')
    + '\n');
  // Perplexity on 64 held-out chunks of the clean language; a separate 12-chunk retain set (one batch per epoch).
  const textFile = join(dir, '..', 'clean.json');
  writeFileSync(textFile, JSON.stringify(markovText(TOKENIZER_VOCAB - 1, LEN * 64, 3, 2)));
  const retainFile = join(dir, '..', 'retain.json');
  writeFileSync(retainFile, JSON.stringify(markovText(TOKENIZER_VOCAB - 1, LEN * 12, 3, 6)));
  files = { sequences: seqFile, text: textFile, retain: retainFile };
  base = await prepareBase(rt, dir, { sets: { ...files, promptLength: PROMPT, continuationLength: CONT } });
});

test('the memorization step finds the planted sequences and none of the controls', () => {
  const mem = base.before.memorization!;
  // Rows 0–3 are planted, 4–7 never seen. Short fine-tuning memorizes most planted ones (this seed: 3 of 4).
  assert.ok(mem.forgetSet.length >= 3 && mem.forgetSet.every((r) => r < 4), `forget set ${mem.forgetSet}`);
  assert.equal(mem.pooled.rows, 8);
  assert.equal(base.forget.rows, mem.forgetSet.length);
  assert.equal(base.retain.rows, 12);
  assert.equal(base.retain.cols, LEN);
  console.log(`base: ${mem.pooled.memorized}/${mem.pooled.rows} memorized, perplexity ` +
    `${base.before.perplexity!.sets[0]!.paper!.toFixed(3)}`);
});

test('BalancedSubnet removes the planted sequences with a bounded perplexity change; the result is a loadable folder',
  async () => {
  // One batch of forget ∪ retain rows per epoch; 100 epochs let the scores of this small model move enough.
    const m = await mitigate(rt, base,
      { method: 'balanced-subnet', hyperParams: { ratio: 0.1, epochs: 100, loss_weighting: 0.2 } });
    const pBefore = base.before.perplexity!.sets[0]!.paper!;
    const pAfter = m.after.perplexity!.sets[0]!.paper!;
    const change = (pAfter - pBefore) / pBefore;
    console.log(`balanced-subnet: memorized ${m.after.memorization!.pooled.memorized} of ${base.forget.rows}, ` +
    `perplexity ${pBefore.toFixed(3)} → ${pAfter.toFixed(3)} (${(100 * change).toFixed(
      1)} %), ${m.record.seconds.toFixed(1)} s`);
    assert.equal(m.after.memorization!.pooled.memorized, 0);
    assert.ok(change < 0.2, `perplexity rose by ${(100 * change).toFixed(1)} %`);
    const names = mlpNames(base.model.config, 0);
    assert.deepEqual([...m.masks.keys()].filter((k) => k.startsWith('gpt_neox.layers.0.')).sort(),
      [names.down, names.up].sort());

    const claim = claimOutputDir(join(dir, '..', 'edited'));
    const out = saveMitigation(claim, base, m);
    claim.release();
    const back = loadModelFolder(out);
    assert.equal(back.modelType, 'gpt_neox');
    for (const [n, a] of m.params) assert.deepEqual(back.params.get(n), a, n);
    const manifest = JSON.parse(readFileSync(join(out, 'tinymem.json'), 'utf8'));
    assert.equal(manifest.mitigation.method, 'balanced-subnet');
    assert.deepEqual(readFileSync(join(out, 'tokenizer.json')), readFileSync(join(dir, 'tokenizer.json')));
  });

/** Cheaper settings where a default would dominate the test's time. */
const SMALL: Record<string, Record<string, number>> = { 'hard-concrete': { epochs: 2 }, sou: { numGrads: 8 } };

test('neuron, weight and baseline methods run on GPT-NeoX and edit its MLP tensors', async () => {
  for (const id of ['activations', 'zero-out', 'integrated-gradients', 'hard-concrete', 'durable', 'sou', 'subnet',
    'gradient-ascent']) {
    const method = getMethod(id);
    const res = await method.run({
      runtime: rt, config: base.model.config, params: base.model.params, forget: base.forget, retain: base.retain,
      promptLength: PROMPT,
      hp: resolveHyperParams(method, SMALL[id] ?? {}), seed: 0,
    });
    for (const k of res.masks.keys()) assert.match(k,
      /^gpt_neox\.layers\.\d+\.mlp\.dense_(h_to_4h|4h_to_h)\.(weight|bias)$/, `${id} masks ${k}`);
    if (method.family === 'neuron') {
      // Ablated neurons lose whole rows of dense_h_to_4h ([inner, hidden], Linear layout).
      const w = res.masks.get(mlpNames(base.model.config, 0).up)!;
      const b = res.masks.get(mlpNames(base.model.config, 0).upBias)!;
      const C = 64;
      for (let i = 0; i < b.length; i++) for (let j = 0; j < C; j++) assert.equal(w[i * C + j], b[i],
        `${id}: neuron ${i}`);
      assert.ok(b.some((x) => x === 0));
    }
    for (const v of res.params.values()) assert.ok(v.every(Number.isFinite), id);
  }
});

test('the runtime is released', async () => {
  await rt.dispose();
});
