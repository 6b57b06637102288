// A TinyMem checkpoint opened the way a Hugging Face user would: only the folder's own files, the weights through the
// independent PyTorch reference (../shared/bench/torch_reference.py) and the text through the folder's tokenizer.json
// read by a separate Python implementation (helpers/hf_folder_generate.py). The same prompt must give the same greedy
// text as our engine (tokenizer through @huggingface/tokenizers, model through ONNX Runtime), for a math and a language
// checkpoint; and an example-tied-dropout model must be saved in a form plain GPT-2 code computes identically, or in
// one transformers refuses. Missing or wrong tokenizer files make the Python side fail or disagree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { encode } from 'gpt-tokenizer/encoding/r50k_base';
import { Rng } from '../src/engine/data/rng';
import { tokenizeMath } from '../src/engine/data/mathTokenizer';
import { SCALED_GPT2_TYPE } from '../src/engine/model/blockScale';
import { type Gpt2CheckpointConfig, loadCheckpoint, makeCheckpointConfig, saveCheckpoint } from
  '../src/engine/model/checkpoint';
import { type Gpt2Config, initGpt2Params } from '../src/engine/model/gpt2';
import { loadTokenizer } from '../src/engine/model/hfTokenizer';
import { greedyContinuation, sequenceLosses } from '../src/engine/metrics/score';
import { exampleTiedEvalMask } from '../src/engine/methods/regularizers/exampleTiedDropout';
import { resolvePreset } from '../src/engine/presets';
import { trainRun } from '../src/engine/runs/trainRun';
import { Runtime } from '../src/engine/runtime/session';
import { TORCH_PYTHON, TORCH_REFERENCE, requireTorch, torchScore, torchSkip } from './helpers/torchReference';

const rt = new Runtime({ threads: 1 });
const root = mkdtempSync(join(tmpdir(), 'tinymem-hf-roundtrip-'));
after(async () => {
  await rt.dispose();
  rmSync(root, { recursive: true, force: true });
});
const skip = torchSkip();
const opts = { skip: skip ? `skipped: ${skip}` : false, timeout: 120_000 } as const;
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

interface PyResult { prompt_ids: number[]; ids: number[]; text: string }

/** The Python side: the folder's tokenizer.json and weights, nothing else. */
function pythonGenerate(dir: string, prompt: string, n: number): PyResult {
  requireTorch();
  const script = join(__dirname, 'helpers', 'hf_folder_generate.py');
  const r = spawnSync(TORCH_PYTHON, [script, dirname(TORCH_REFERENCE), dir, prompt, String(n)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hf_folder_generate.py failed on ${dir}: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PyResult;
}

/** Our side: the checkpoint loaded by tinymem, its tokenizer through @huggingface/tokenizers. */
async function engineGenerate(dir: string, prompt: string, n: number) {
  const ckpt = loadCheckpoint(dir);
  const tok = loadTokenizer(dir);
  const promptIds = tok.encode(prompt);
  const ids = (await greedyContinuation(rt, ckpt.config, ckpt.params, [promptIds], n)).tokens[0]!;
  return { promptIds, ids, text: tok.decode(ids) };
}

/** Random weights large enough that greedy choices are far from ties (std 0.3). */
function randomParams(c: Gpt2Config, seed: number): Map<string, Float32Array> {
  const r = new Rng(seed);
  return initGpt2Params(c, () => r.normal() * 15);
}

const gpt2 = (c: Pick<Gpt2Config, 'vocab_size' | 'n_positions' | 'n_embd' | 'n_layer' | 'n_head'> &
  Partial<Gpt2Config>) => makeCheckpointConfig({ n_inner: null, activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5, initializer_range: 0.02, ...c });

const manifest = (dataset: 'math' | 'language') =>
  ({ format: 'tinymem-run', version: 1, data: { kind: 'tinymem', dataset, options: {} } });

test('a trained math checkpoint carries its WordLevel tokenizer, and PyTorch + tokenizer.json give our text', opts,
  async () => {
    const preset = resolvePreset('cpu-math-noise', { 'model.n_layer': '2', 'model.n_embd': '16', 'model.n_head': '2',
      'data.numMain': '40', 'data.numExtra': '10', 'data.numTest': '10', 'data.numNoise': '10', 'train.epochs': '2' });
    const dir = (await trainRun({ preset, out: join(root, 'math'), evaluate: false, runtime: { threads: 1 } })
      .result).dir;
    const m = JSON.parse(readFileSync(join(dir, 'tinymem.json'), 'utf8')) as { contentHashes: Record<string, string> };
    // Written in the weights' commit: the manifest records every tokenizer file with its hash.
    for (const f of TOKENIZER_FILES) assert.match(m.contentHashes[f] ?? '', /^sha256:/, f);
    const special = JSON.parse(readFileSync(join(dir, 'special_tokens_map.json'), 'utf8'));
    assert.deepEqual(special, { bos_token: '^', eos_token: '$', pad_token: '<pad>' });

    const prompt = '^12 7 ';
    const ours = await engineGenerate(dir, prompt, 12);
    // The folder's tokenizer gives the ids the math data was built with (mathTokenizer.ts).
    assert.deepEqual(ours.promptIds, tokenizeMath(prompt));
    assert.deepEqual(loadTokenizer(dir).encode('^0123456789 $'), tokenizeMath('^0123456789 $'));
    assert.throws(() => loadTokenizer(dir).encode('^1a$'), /"a" \(token 2 of the text\) is not in this tokenizer/);
    const py = pythonGenerate(dir, prompt, 12);
    assert.deepEqual(py.prompt_ids, ours.promptIds);
    assert.deepEqual(py.ids, ours.ids);
    assert.equal(py.text, ours.text);

    // Without tokenizer.json the Python side cannot read the text; with another vocabulary's it reads it wrongly.
    const bare = join(root, 'math-bare');
    cpSync(dir, bare, { recursive: true });
    unlinkSync(join(bare, 'tokenizer.json'));
    assert.throws(() => pythonGenerate(bare, prompt, 12), /tokenizer\.json/);
    // tinymem itself still tokenizes a checkpoint saved before tokenizer files: the vocabulary its manifest implies.
    assert.deepEqual(loadTokenizer(bare).encode(prompt), tokenizeMath(prompt));
    assert.match(loadTokenizer(bare).file, /missing: the math vocabulary that tinymem\.json implies was used/);
    // An edit of such a checkpoint (saved with copyFrom, as mitigation does) gets the tokenizer files it lacked.
    const resaved = join(root, 'math-resaved');
    const ckpt = loadCheckpoint(dir);
    saveCheckpoint(resaved, ckpt.config, ckpt.params, { ...ckpt.manifest, contentHashes: undefined },
      { copyFrom: bare });
    for (const f of TOKENIZER_FILES) assert.equal(readFileSync(join(resaved, f), 'utf8'), readFileSync(join(dir, f),
      'utf8'), f);
    unlinkSync(join(bare, 'tinymem.json'));
    assert.throws(() => loadTokenizer(bare), (e: Error) => e.message.includes(`the model folder ${bare} has no ` +
      'tokenizer.json'));
  });

test('a language checkpoint carries GPT-2\'s BPE, and PyTorch + tokenizer.json give our text', opts, async () => {
  const c = gpt2({ vocab_size: 50257, n_positions: 48, n_embd: 16, n_layer: 2, n_head: 2 });
  const dir = join(root, 'language');
  saveCheckpoint(dir, c, randomParams(c, 3), manifest('language'));
  for (const f of TOKENIZER_FILES) assert.ok(existsSync(join(dir, f)), f);
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  assert.equal(cfg.eos_token, '<|endoftext|>');
  assert.equal(cfg.pad_token, '<|endoftext|>');
  assert.equal(cfg.model_max_length, 48);

  const prompt = 'Fellow-Citizens: naïve café — 12,345 “quoted”\n\n  it\'s<|endoftext|> 日本';
  const ours = await engineGenerate(dir, prompt, 10);
  // An independent BPE over GPT-2's ranks (gpt-tokenizer), with the special token as transformers reads it.
  const [head, tail] = prompt.split('<|endoftext|>') as [string, string];
  assert.deepEqual(ours.promptIds, [...encode(head), 50256, ...encode(tail)]);
  assert.ok(new Set(ours.ids).size > 3, `a degenerate continuation ${ours.ids.join(' ')}`);
  const py = pythonGenerate(dir, prompt, 10);
  assert.deepEqual(py.prompt_ids, ours.promptIds);
  assert.deepEqual(py.ids, ours.ids);
  assert.equal(py.text, ours.text);

  // The math tokenizer in a language folder: the Python side cannot even read the prompt.
  const wrong = join(root, 'language-wrong');
  cpSync(dir, wrong, { recursive: true });
  cpSync(join(root, 'math', 'tokenizer.json'), join(wrong, 'tokenizer.json'));
  assert.throws(() => pythonGenerate(wrong, prompt, 10), /failed/);
  // And one that reads the prompt but maps ids to other text (every vocabulary entry's id shifted by one).
  const shifted = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  const vocab = shifted.model.vocab as Record<string, number>;
  for (const k of Object.keys(vocab)) vocab[k] = (vocab[k]! + 1) % 50256;
  writeFileSync(join(wrong, 'tokenizer.json'), JSON.stringify(shifted));
  const bad = pythonGenerate(wrong, prompt, 10);
  assert.notDeepEqual(bad.prompt_ids, ours.promptIds);
});

test('example-tied dropout: one block folds into the weights exactly, more blocks get a type transformers refuses',
  opts, async () => {
    const scale = Array.from(exampleTiedEvalMask(16, 0.2, 0.1));
    const one = gpt2({ vocab_size: 14, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2,
      tinymem_block_input_scale: scale });
    const params = randomParams(one, 5);
    const dir = join(root, 'etd-1');
    saveCheckpoint(dir, one, params, manifest('math'));
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Gpt2CheckpointConfig;
    assert.equal(json.model_type, 'gpt2');
    assert.equal(json.tinymem_block_input_scale, undefined);
    assert.equal(json.tie_word_embeddings, false);
    assert.equal(params.get('transformer.wte.weight')![1], randomParams(one, 5).get('transformer.wte.weight')![1],
      'saving does not change the caller\'s weights');

    // Plain GPT-2 (the PyTorch reference ignores any scale field) on the saved folder = our model with the scale.
    const r = new Rng(9);
    const seqs = [20, 20, 20].map((n) => Array.from({ length: n }, () => r.int(14)));
    const ref = torchScore(dir, seqs, { promptLen: 6, generate: 8 });
    const ourLoss = (await sequenceLosses(rt, one, params, seqs)).loss;
    ourLoss.forEach((l, i) => assert.ok(Math.abs(l - ref.loss[i]!) < 1e-4, `loss ${i}: ${l} vs ${ref.loss[i]}`));
    const unscaled = (await sequenceLosses(rt, { ...one, tinymem_block_input_scale: undefined }, params, seqs)).loss;
    assert.ok(unscaled.some((l, i) => Math.abs(l - ref.loss[i]!) > 1e-3), 'the scale matters for this model');
    const greedy = (await greedyContinuation(rt, one, params, seqs.map((s) => s.slice(0, 6)), 8)).tokens;
    assert.deepEqual(ref.greedy, greedy);
    const py = pythonGenerate(dir, '^3 1', 8);
    assert.deepEqual(py.ids, (await engineGenerate(dir, '^3 1', 8)).ids);

    // Two blocks: no exact fold, so config.json keeps the scale under a model_type transformers does not know.
    const two = { ...one, n_layer: 2 };
    const dir2 = join(root, 'etd-2');
    saveCheckpoint(dir2, two, randomParams(two, 6), manifest('math'));
    const json2 = JSON.parse(readFileSync(join(dir2, 'config.json'), 'utf8'));
    assert.equal(json2.model_type, SCALED_GPT2_TYPE);
    assert.match(json2.tinymem_note, /transformers refuses/);
    const back = loadCheckpoint(dir2);
    assert.deepEqual(back.config.tinymem_block_input_scale, scale);
    assert.equal(back.config.model_type, 'gpt2');

    // A training run says so.
    const notes: string[] = [];
    const preset = resolvePreset('cpu-math-noise', { 'model.n_layer': '2', 'model.n_embd': '16', 'model.n_head': '2',
      'data.numMain': '40', 'data.numExtra': '10', 'data.numTest': '10', 'data.numNoise': '10', 'train.epochs': '1' });
    const run = await trainRun({ preset, out: join(root, 'etd-run'), evaluate: false, runtime: { threads: 1 },
      regularizer: { id: 'example-tied-dropout' }, onNote: (n) => notes.push(n) }).result;
    assert.equal(JSON.parse(readFileSync(join(run.dir, 'config.json'), 'utf8')).model_type, SCALED_GPT2_TYPE);
    assert.ok(notes.some((n) => /transformers refuses it rather than run a different model/.test(n)), notes.join());
  });
