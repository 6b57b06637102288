// Loading Hugging Face folders: GPT-NeoX and GPT-2, single and sharded safetensors, F16/BF16 converted on load,
// tokenizer.json, clear errors for unsupported architectures and missing tensors, and saving back in the same layout.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { paramShapes } from '../src/engine/model/architecture';
import { loadModelFolder, saveModel } from '../src/engine/model/checkpoint';
import { loadTokenizer } from '../src/engine/model/hfTokenizer';
import { readSequenceFile, readTextOrTokens } from '../src/engine/data/memorizedSequences';
import { readSafetensors } from '../src/engine/model/safetensors';
import { sequenceLosses } from '../src/engine/metrics/score';
import { Runtime } from '../src/engine/runtime/session';
import { torchScore, torchSkip } from './helpers/torchReference';
import {
  TOKENIZER_VOCAB, freshDir, gpt2RawConfig, neoxRawConfig, randomGpt2Params, randomNeoxParams, writeGpt2Folder,
  writeNeoxFolder,
} from './helpers/hfCheckpoints';

const near = (a: Float32Array, b: Float32Array, rel: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= rel * Math.abs(b[i]!) + 1e-7,
    `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('a GPT-NeoX folder loads from one file, from shards, and from F16/BF16 weights', () => {
  const raw = neoxRawConfig();
  const params = randomNeoxParams(raw, 1);
  const one = loadModelFolder(writeNeoxFolder(freshDir(), raw, params));
  assert.equal(one.modelType, 'gpt_neox');
  assert.deepEqual([...one.params.keys()], paramShapes(one.config).map(([n]) => n));
  for (const [n, a] of params) assert.deepEqual(one.params.get(n), a, n);

  const sharded = loadModelFolder(writeNeoxFolder(freshDir(), raw, params, { shards: 3 }));
  for (const [n, a] of params) assert.deepEqual(sharded.params.get(n), a, n);

  const f16 = loadModelFolder(writeNeoxFolder(freshDir(), raw, params, { dtype: 'F16', shards: 2 }));
  for (const [n, a] of params) near(f16.params.get(n)!, a, 2 ** -11, n);
  assert.match(f16.notes.join('\n'), /stored as F16 were converted to F32/);
  const bf16 = loadModelFolder(writeNeoxFolder(freshDir(), raw, params, { dtype: 'BF16' }));
  for (const [n, a] of params) near(bf16.params.get(n)!, a, 2 ** -8, n);
});

test('GPT-2 folders: a separate lm_head is a model parameter; sharded and F16 folders load', () => {
  const raw = gpt2RawConfig({ untied: true });
  const params = randomGpt2Params(raw, 2);
  const m = loadModelFolder(writeGpt2Folder(freshDir(), raw, params, { shards: 2, dtype: 'F16' }));
  assert.equal(m.modelType, 'gpt2');
  assert.ok(paramShapes(m.config).some(([n]) => n === 'lm_head.weight'));
  near(m.params.get('lm_head.weight')!, params.get('lm_head.weight')!, 2 ** -11, 'lm_head');
  const tied = loadModelFolder(writeGpt2Folder(freshDir(), gpt2RawConfig(), randomGpt2Params(gpt2RawConfig(), 3)));
  assert.ok(!tied.params.has('lm_head.weight'));
});

test('clear errors: unsupported architecture, missing model_type, missing tensor, wrong shape', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 8 }));
  assert.throws(() => loadModelFolder(dir), (e: Error) => e.message.includes(join(dir, 'config.json'))
    && /"model_type" is "llama"; tinymem runs "gpt2" and "gpt_neox"/.test(e.message));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ hidden_size: 8 }));
  assert.throws(() => loadModelFolder(dir), /"model_type" is missing/);

  const raw = neoxRawConfig();
  const params = randomNeoxParams(raw, 4);
  params.delete('gpt_neox.layers.1.mlp.dense_4h_to_h.weight');
  assert.throws(() => loadModelFolder(writeNeoxFolder(freshDir(), raw, params)),
    /tensor "gpt_neox\.layers\.1\.mlp\.dense_4h_to_h\.weight" is missing/);
  const wrongDir = writeNeoxFolder(freshDir(), raw, randomNeoxParams(raw, 4));
  writeFileSync(join(wrongDir, 'config.json'), JSON.stringify({ ...raw, intermediate_size: 64 }));
  assert.throws(() => loadModelFolder(wrongDir),
    /tensor "gpt_neox\.layers\.0\.mlp\.dense_4h_to_h\.weight" has shape \[32, 128\] but config\.json .* needs \[32, 64\]/);
  assert.throws(
    () => loadModelFolder(writeNeoxFolder(freshDir(), { ...raw, rope_scaling: { type: 'linear', factor: 2 } },
      randomNeoxParams(raw, 4))), /"rope_scaling" is set/);
});

test('tokenizer.json is read with @huggingface/tokenizers; a folder without one says what to do', () => {
  const dir = writeNeoxFolder(freshDir(), neoxRawConfig(), randomNeoxParams(neoxRawConfig(), 5));
  const tok = loadTokenizer(dir);
  const text = 'the cat sat in the hat.\nAnd then';
  const ids = tok.encode(text);
  assert.ok(ids.every((i) => i >= 0 && i < TOKENIZER_VOCAB));
  assert.ok(ids.length < Buffer.byteLength(text), 'merges shorten the encoding');
  assert.equal(tok.decode(ids), text);
  rmSync(join(dir, 'tokenizer.json'));
  assert.throws(() => loadTokenizer(dir), /tokenizer\.json: not found; .*pass token ids/);
});

test('an edited model is saved in the same Hugging Face layout, with the tokenizer and manifest', async (t) => {
  const raw = neoxRawConfig();
  const src = writeNeoxFolder(freshDir(), raw, randomNeoxParams(raw, 6), { dtype: 'BF16', shards: 2 });
  const m = loadModelFolder(src);
  const edited = new Map(m.params);
  edited.set('gpt_neox.layers.0.mlp.dense_h_to_4h.weight',
    new Float32Array(m.params.get('gpt_neox.layers.0.mlp.dense_h_to_4h.weight')!.length));
  const out = join(freshDir(), 'edited');
  saveModel(out, m, edited, { note: 'test' }, { copyFrom: src });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tinymem.json']) assert.ok(
    existsSync(join(out, f)), f);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'gpt_neox');
  assert.equal(cfg.torch_dtype, 'float32');
  assert.equal(cfg.bos_token_id, raw.bos_token_id, 'fields the engine does not use are kept');
  const st = readSafetensors(join(out, 'model.safetensors'));
  assert.equal(st.metadata.format, 'pt');
  assert.equal(st.tensors.get('embed_out.weight')!.dtype, 'F32');
  const back = loadModelFolder(out);
  for (const [n, a] of edited) assert.deepEqual(back.params.get(n), a, n);
  assert.match(String((back.manifest!.contentHashes as Record<string, string>)['model.safetensors']), /^sha256:/);
  // The written folder loads in the independent PyTorch reference (Hugging Face names and layout) with equal losses.
  const why = torchSkip();
  if (why) t.diagnostic(`PyTorch parity of the written folder not checked: ${why}`);
  else {
    const seqs = [[1, 2, 3, 4, 5, 6, 7, 8], [9, 8, 7, 6, 5, 4, 3, 2]];
    const rt = new Runtime({ threads: 1 });
    const ours = (await sequenceLosses(rt, back.config, back.params, seqs)).loss;
    await rt.dispose();
    torchScore(out, seqs).loss.forEach((l, i) => assert.ok(Math.abs(l - ours[i]!) < 1e-5 * Math.abs(l), `loss ${l} ` +
      `vs ${ours[i]}`));
  }

  const g = loadModelFolder(
    writeGpt2Folder(freshDir(), gpt2RawConfig({ untied: true }), randomGpt2Params(gpt2RawConfig({ untied: true }), 7)));
  const gout = join(freshDir(), 'gpt2-edited');
  saveModel(gout, g, g.params);
  const gback = loadModelFolder(gout);
  assert.deepEqual(gback.params.get('lm_head.weight'), g.params.get('lm_head.weight'));
  assert.equal(JSON.parse(readFileSync(join(gout, 'config.json'), 'utf8')).tie_word_embeddings, false);
});

test('memorized-sequence files: JSON, JSONL with objects, clear errors naming file and line', () => {
  const dir = freshDir('seqs');
  const ok = join(dir, 'ok.jsonl');
  const row = (n: number, v = 1) => Array.from({ length: n }, (_, i) => (i * v) % 100);
  writeFileSync(ok, `${JSON.stringify(row(80))}\n{"tokens": ${JSON.stringify(row(80, 3))}}\n\n`);
  const m = readSequenceFile(ok, { vocab: 100, context: 128 });
  assert.equal(m.rows, 2);
  assert.equal(m.cols, 80);
  assert.equal(m.data[80 + 1], 3);
  const js = join(dir, 'set.json');
  writeFileSync(js, JSON.stringify({ sequences: [row(12), row(12, 2)] }));
  assert.equal(readSequenceFile(js, { vocab: 100, context: 128, promptLength: 4, continuationLength: 8 }).rows, 2);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify(row(80))}\n${JSON.stringify([...row(79), 100])}\n`);
  assert.throws(() => readSequenceFile(bad, { vocab: 100, context: 128 }),
    new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2, position 79: 100 is not a token id of this model ` +
    `\\(0 … 99\\)`));
  writeFileSync(bad, `${JSON.stringify(row(80))}\n${JSON.stringify(row(60))}\n`);
  assert.throws(() => readSequenceFile(bad, { vocab: 100, context: 128 }),
    /bad\.jsonl:2: has 60 tokens, fewer than prompt 32 \+ continuation 40/);
  writeFileSync(bad, `${JSON.stringify(row(80))}\n${JSON.stringify(row(76))}\n`);
  assert.throws(() => readSequenceFile(bad, { vocab: 100, context: 128 }),
    /bad\.jsonl:2: has 76 tokens but the first sequence has 80/);
  writeFileSync(bad, `${JSON.stringify(row(80))}\n[1, 2,\n`);
  assert.throws(() => readSequenceFile(bad, { vocab: 100, context: 128 }), /bad\.jsonl:2: is not valid JSON/);
  const ids = join(dir, 'ids.json');
  writeFileSync(ids, JSON.stringify([row(12), row(12, 2)]));
  const chunks = readTextOrTokens(ids, { length: 10, vocab: 100 });
  assert.equal(chunks.rows, 2); // 24 ids → two chunks of 10, the tail dropped
});
