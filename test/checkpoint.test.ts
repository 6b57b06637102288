// GPT-2 checkpoint folders: round trips, Hugging Face variants (prefixless names, half precision, untied head,
// shards), precise errors, atomic saves, and loading by the independent PyTorch reference when it is installed.
import { torchScore, torchSkip } from './helpers/torchReference';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../src/shared/userError';
import {
  type Gpt2CheckpointConfig, contentHash, gpt2ParamShapes, loadCheckpoint, makeCheckpointConfig,
  saveCheckpoint,
} from '../src/engine/model/checkpoint';
import { type TensorInput, readSafetensors, writeSafetensors } from '../src/engine/model/safetensors';
import { float32ToBf16Array, float32ToF16Array } from '../src/engine/model/float16';

const root = mkdtempSync(join(tmpdir(), 'tinymem-checkpoint-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = () => join(root, `ckpt${dirCounter++}`);

const config = makeCheckpointConfig({
  vocab_size: 14, n_positions: 20, n_embd: 16, n_layer: 2, n_head: 2, n_inner: null, activation_function: 'relu',
  layer_norm_epsilon: 1e-5, initializer_range: 0.02, bos_token_id: 13, eos_token_id: 13,
});

function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random weights like a fresh model: matrices ~ ±0.02·U, LayerNorm weights around 1, small biases. */
function randomParams(c: Gpt2CheckpointConfig, seed = 1): Map<string, Float32Array> {
  const r = rng(seed);
  const params = new Map<string, Float32Array>();
  for (const [name, shape] of gpt2ParamShapes(c)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    const ln = /ln_(1|2|f)\.weight$/.test(name);
    for (let i = 0; i < a.length; i++) a[i] = (ln ? 1 : 0) + (r() - 0.5) * (shape.length === 2 ? 0.07 : 0.02);
    params.set(name, a);
  }
  return params;
}

/** Asserts fn throws a UserError (or SafetensorsError) whose message starts with `file` and matches re. */
function throwsNaming(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e.message.startsWith(`${file}: `), `expected the message to start with ${file}: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

/** Writes a checkpoint by hand (config.json + model.safetensors) from tensors, for variants saveCheckpoint never
 * makes. */
function handCheckpoint(configJson: unknown, tensors: Record<string, TensorInput>): string {
  const dir = freshDir();
  saveCheckpoint(dir, config, randomParams(config)); // creates the folder; both files are replaced below
  writeFileSync(join(dir, 'config.json'), typeof configJson === 'string' ? configJson : JSON.stringify(configJson));
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

const f32 = (params: Map<string, Float32Array>, rename = (n: string) => n): Record<string, TensorInput> =>
  Object.fromEntries(
    gpt2ParamShapes(config).map(([name, shape]) => [rename(name), { dtype: 'F32', shape, data: params.get(name)! }]));

test('gpt2ParamShapes lists the Hugging Face names and shapes in state_dict order', () => {
  const shapes = gpt2ParamShapes(config);
  assert.equal(shapes.length, 2 + 12 * 2 + 2);
  assert.deepEqual(shapes.slice(0, 6), [
    ['transformer.wte.weight', [14, 16]], ['transformer.wpe.weight', [20, 16]],
    ['transformer.h.0.ln_1.weight', [16]], ['transformer.h.0.ln_1.bias', [16]],
    ['transformer.h.0.attn.c_attn.weight', [16, 48]], ['transformer.h.0.attn.c_attn.bias', [48]],
  ]);
  assert.deepEqual(new Map(shapes).get('transformer.h.1.mlp.c_fc.weight'), [16, 64]);
  assert.deepEqual(new Map(gpt2ParamShapes({ ...config, n_inner: 24 })).get('transformer.h.1.mlp.c_proj.weight'),
    [24, 16]);
  assert.deepEqual(shapes.at(-1), ['transformer.ln_f.bias', [16]]);
});

test('save → load round trip: config, bit-exact weights, manifest with content hash, Hugging Face files', () => {
  const dir = freshDir();
  const params = randomParams(config);
  const manifest = { seed: 3, data: { kind: 'math', n: 10 }, history: [{ epoch: 1, loss: 2.5 }] };
  const saved = saveCheckpoint(dir, config, params, manifest);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tinymem.json']);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-')), []);

  const cfgJson = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(cfgJson, {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 14, n_positions: 20, n_embd: 16, n_layer: 2,
    n_head: 2, n_inner: null, activation_function: 'relu', layer_norm_epsilon: 1e-5, initializer_range: 0.02,
    bos_token_id: 13, eos_token_id: 13, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, tie_word_embeddings: true,
    use_cache: false,
  });
  const st = readSafetensors(join(dir, 'model.safetensors'));
  assert.deepEqual(st.metadata, { format: 'pt' }); // transformers refuses safetensors without it
  assert.ok(!st.tensors.has('lm_head.weight'));
  assert.equal(st.tensors.get('transformer.h.0.attn.c_attn.weight')!.dtype, 'F32');

  const loaded = loadCheckpoint(dir, { verifyHash: true });
  assert.deepEqual(loaded.config, config);
  assert.deepEqual([...loaded.params.keys()], gpt2ParamShapes(config).map(([n]) => n));
  for (const [name, a] of params) assert.deepEqual(loaded.params.get(name), a, name);
  assert.equal(loaded.lmHead, null);
  assert.deepEqual(loaded.notes, []);
  assert.equal(saved.weightsHash, contentHash(join(dir, 'model.safetensors')));
  // The manifest records every file of the folder: content hash, size and mtime.
  const { contentHashes, fileStats, ...rest } = loaded.manifest as { contentHashes: Record<string, string>;
    fileStats: Record<string, { bytes: number }>; };
  assert.deepEqual(rest, manifest);
  assert.deepEqual(contentHashes,
    { 'config.json': contentHash(join(dir, 'config.json')), 'model.safetensors': saved.weightsHash });
  assert.equal(fileStats['model.safetensors']!.bytes, statSync(join(dir, 'model.safetensors')).size);

  // Tampering with the weights is caught on every load (small files are always re-hashed), with or without verifyHash.
  params.get('transformer.ln_f.bias')![0] = 42;
  writeSafetensors(join(dir, 'model.safetensors'), f32(params), { format: 'pt' });
  throwsNaming(() => loadCheckpoint(dir, { verifyHash: true }), join(dir, 'model.safetensors'),
    /content hash sha256:\w+ differs from .* recorded in tinymem\.json: it was changed after the checkpoint was saved/);
  throwsNaming(() => loadCheckpoint(dir), join(dir, 'model.safetensors'), /differs from .* recorded in tinymem\.json/);
});

test('saving over an existing checkpoint replaces the whole folder atomically: no file of the old content stays',
  () => {
    const dir = freshDir();
    saveCheckpoint(dir, config, randomParams(config, 1), { run: 1 });
    writeFileSync(join(dir, 'masks.safetensors'), 'from the earlier save');
    const second = randomParams(config, 2);
    saveCheckpoint(dir, config, second, { run: 2 });
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tinymem.json']);
    assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-') || f.includes('.old-')), []);
    const loaded = loadCheckpoint(dir, { verifyHash: true });
    assert.deepEqual(loaded.params.get('transformer.wte.weight'), second.get('transformer.wte.weight'));
    assert.equal(loaded.manifest!.run, 2);
  });

test('saveCheckpoint refuses params that do not match the config and leaves nothing behind', () => {
  const dir = freshDir();
  const file = join(dir, 'model.safetensors');
  const missing = randomParams(config);
  missing.delete('transformer.h.1.mlp.c_fc.weight');
  throwsNaming(() => saveCheckpoint(dir, config, missing), file,
    /parameter "transformer\.h\.1\.mlp\.c_fc\.weight" is missing .*\[16, 64\]/);
  const wrong = randomParams(config);
  wrong.set('transformer.wpe.weight', new Float32Array(10));
  throwsNaming(() => saveCheckpoint(dir, config, wrong), file,
    /"transformer\.wpe\.weight" has 10 values but shape \[20, 16\]/);
  const extra = randomParams(config);
  extra.set('transformer.h.2.ln_1.weight', new Float32Array(16));
  throwsNaming(() => saveCheckpoint(dir, config, extra), file,
    /"transformer\.h\.2\.ln_1\.weight" is not part of a GPT-2 model with n_layer=2/);
  assert.throws(() => saveCheckpoint(dir, { ...config, n_head: 3 }, randomParams(config)),
    /"n_head" \(3\) must divide n_embd \(16\)/);
  assert.equal(existsSync(dir), false);
  assert.deepEqual(readdirSync(root).filter((f) => f.includes('.tmp-')), []);
});

test('an untied lm_head round-trips and is returned separately; one equal to wte counts as tied', () => {
  const dir = freshDir();
  const params = randomParams(config);
  const head = new Float32Array(14 * 16).map((_, i) => Math.sin(i));
  saveCheckpoint(dir, config, params, undefined, { lmHead: head });
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).tie_word_embeddings, false);
  assert.equal(existsSync(join(dir, 'tinymem.json')), false);
  const loaded = loadCheckpoint(dir);
  assert.deepEqual(loaded.lmHead, head);
  assert.equal(loaded.config.tie_word_embeddings, false);
  assert.equal(loaded.manifest, null);

  const tied = handCheckpoint(config,
    { ...f32(params),
      'lm_head.weight': { dtype: 'F32', shape: [14, 16], data: params.get('transformer.wte.weight')! } });
  const t = loadCheckpoint(tied);
  assert.equal(t.lmHead, null);
  assert.equal(t.config.tie_word_embeddings, true);
  assert.match(t.notes.join('\n'), /lm_head\.weight is stored but equals transformer\.wte\.weight: treated as tied/);

  const noHead = handCheckpoint({ ...config, tie_word_embeddings: false }, f32(params));
  throwsNaming(() => loadCheckpoint(noHead), join(noHead, 'model.safetensors'),
    /tensor "lm_head\.weight" is missing but config\.json says tie_word_embeddings: false/);
});

test('Hugging Face exports load: names without "transformer.", mask buffers, F16/BF16/F64 weights, sparse config',
  () => {
    const params = randomParams(config);
    const tensors: Record<string, TensorInput> = {};
    let k = 0;
    for (const [name, shape] of gpt2ParamShapes(config)) {
      const data = params.get(name)!;
      const short = name.replace(/^transformer\./, '');
      const kind = k++ % 3;
      tensors[short] = kind === 0 ? { dtype: 'F16', shape, data: float32ToF16Array(data) }
        : kind === 1 ? { dtype: 'BF16', shape, data: float32ToBf16Array(data) }
      : { dtype: 'F64', shape, data: Float64Array.from(data) };
    }
    tensors['h.0.attn.bias'] = { dtype: 'U8', shape: [1, 1, 20, 20], data: new Uint8Array(400) };
    tensors['h.1.attn.masked_bias'] = { dtype: 'F32', shape: [], data: new Float32Array([-1e4]) };
    // Like the Hub's gpt2 config: no n_positions (n_ctx instead), no n_inner/tie/use_cache, dropout 0.1.
    const hubConfig = { model_type: 'gpt2', vocab_size: 14, n_ctx: 20, n_embd: 16, n_layer: 2, n_head: 2,
      activation_function: 'relu', attn_pdrop: 0.1 };
    const dir = handCheckpoint(hubConfig, tensors);
    const loaded = loadCheckpoint(dir);
    assert.equal(loaded.config.n_positions, 20);
    assert.equal(loaded.config.n_inner, null);
    assert.equal(loaded.config.attn_pdrop, 0.1);
    assert.equal(loaded.config.tie_word_embeddings, true);
    assert.equal(loaded.config.layer_norm_epsilon, 1e-5);
    assert.equal(loaded.params.size, gpt2ParamShapes(config).length);
    k = 0;
    for (const [name] of gpt2ParamShapes(config)) {
      const want = params.get(name)!;
      const got = loaded.params.get(name)!;
      assert.ok(got instanceof Float32Array, name);
      // Half-precision rounding: relative to the value, plus half of F16's smallest subnormal for tiny values.
      const [rel, abs] = ([[2 ** -11, 2 ** -25], [2 ** -8, 0], [0, 0]] as const)[k++ % 3]!;
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= rel * Math.abs(want[i]!) + abs,
        `${name}[${i}]`);
    }
    const notes = loaded.notes.join('\n');
    assert.match(notes, /ignored the attention-mask buffer "h\.0\.attn\.bias"/);
    assert.match(notes, /ignored the attention-mask buffer "h\.1\.attn\.masked_bias"/);
    assert.match(notes, /28 tensor names had no "transformer\." prefix/);
    assert.match(notes, /tensor\(s\) stored as F16 were converted to F32/);
    assert.match(notes, /stored as BF16/);
    assert.match(notes, /stored as F64/);
  });

test('sharded checkpoints load through model.safetensors.index.json', () => {
  const params = randomParams(config, 5);
  const all = f32(params);
  const dir = handCheckpoint(config, {});
  rmSync(join(dir, 'model.safetensors'));
  const names = Object.keys(all);
  const half = Math.ceil(names.length / 2);
  const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => (weightMap[n] = shards[i < half ? 0 : 1]!));
  for (const [s, shard] of shards.entries()) {
    writeSafetensors(join(dir, shard),
      Object.fromEntries(names.filter((_, i) => (i < half) === (s === 0)).map((n) => [n, all[n]!])));
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const loaded = loadCheckpoint(dir);
  for (const [name, a] of params) assert.deepEqual(loaded.params.get(name), a, name);
  // A shape error names the shard the tensor is in.
  writeSafetensors(join(dir, shards[1]!),
    { ...Object.fromEntries(names.slice(half).map((n) => [n, all[n]!])),
      'transformer.ln_f.bias': { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) } });
  throwsNaming(() => loadCheckpoint(dir), join(dir, shards[1]!),
    /tensor "transformer\.ln_f\.bias" has shape \[4, 4\] but config\.json .* needs \[16\]/);
});

test('bad checkpoints are reported naming the file, the tensor or field, and what to do', () => {
  const params = randomParams(config);
  const missingDir = join(root, 'does-not-exist');
  throwsNaming(() => loadCheckpoint(missingDir), missingDir, /checkpoint folder not found/);

  const noConfig = handCheckpoint(config, f32(params));
  rmSync(join(noConfig, 'config.json'));
  throwsNaming(() => loadCheckpoint(noConfig), join(noConfig, 'config.json'),
    /not found; a checkpoint folder needs config\.json/);

  const cases: [unknown, RegExp, string?][] = [
    ['{"model_type": "gpt2",', /is not valid JSON/],
    ['[]', /must be a JSON object of GPT2Config fields/],
    [{ ...config, model_type: 'llama' }, /"model_type" is "llama" but tinymem reads GPT-2 checkpoints only/,
      'model_type'],
    [{ ...config, model_type: undefined }, /"model_type" is missing; add "model_type": "gpt2"/, 'model_type'],
    [{ ...config, n_embd: undefined }, /"n_embd" is missing; add it/, 'n_embd'],
    [{ ...config, n_layer: 1.5 }, /"n_layer" must be an integer ≥ 1, got 1\.5/, 'n_layer'],
    [{ ...config, activation_function: 'swish' },
      /"activation_function" is "swish"; tinymem supports "relu", "gelu_new", "gelu"/, 'activation_function'],
    [{ ...config, layer_norm_epsilon: -1 }, /"layer_norm_epsilon" must be a number > 0/, 'layer_norm_epsilon'],
    [{ ...config, scale_attn_by_inverse_layer_idx: true }, /"scale_attn_by_inverse_layer_idx" is true/,
      'scale_attn_by_inverse_layer_idx'],
  ];
  for (const [cfg, re, field] of cases) {
    const dir = handCheckpoint(cfg, f32(params));
    const file = join(dir, 'config.json');
    throwsNaming(() => loadCheckpoint(dir), file, re);
    if (field) assert.throws(() => loadCheckpoint(dir), (e: unknown) => e instanceof UserError
      && e.problems[0]!.message.startsWith(`"${field}" `));
  }

  const weights = (dir: string) => join(dir, 'model.safetensors');
  const missing = f32(params);
  delete missing['transformer.h.1.mlp.c_fc.weight'];
  let dir = handCheckpoint(config, missing);
  throwsNaming(() => loadCheckpoint(dir), weights(dir),
    /tensor "transformer\.h\.1\.mlp\.c_fc\.weight" is missing\. The weights do not match config\.json \(n_layer=2, n_embd=16/);

  const shaped = f32(params);
  shaped['transformer.h.0.attn.c_attn.weight'] = { dtype: 'F32', shape: [48, 16],
    data: params.get('transformer.h.0.attn.c_attn.weight')! };
  dir = handCheckpoint(config, shaped);
  throwsNaming(() => loadCheckpoint(dir), weights(dir),
    /tensor "transformer\.h\.0\.attn\.c_attn\.weight" has shape \[48, 16\] but config\.json .* needs \[16, 48\]/);
  assert.throws(() => loadCheckpoint(dir), (e: unknown) => e instanceof UserError
    && e.problems[0]!.message.startsWith('tensor "transformer.h.0.attn.c_attn.weight" '));

  // Weights of a 3-layer model under a config that says 2.
  const deeper = f32(params);
  deeper['transformer.h.2.ln_1.weight'] = { dtype: 'F32', shape: [16], data: new Float32Array(16) };
  dir = handCheckpoint(config, deeper);
  throwsNaming(() => loadCheckpoint(dir), weights(dir),
    /unexpected tensor "transformer\.h\.2\.ln_1\.weight".*n_layer=2: the weights have more layers, fix n_layer/);

  const ints = f32(params);
  ints['transformer.ln_f.bias'] = { dtype: 'I32', shape: [16], data: new Int32Array(16) };
  dir = handCheckpoint(config, ints);
  throwsNaming(() => loadCheckpoint(dir), weights(dir),
    /tensor "transformer\.ln_f\.bias" has dtype I32; model weights must be floating point/);

  const both = f32(params);
  both['wte.weight'] = both['transformer.wte.weight']!;
  dir = handCheckpoint(config, both);
  throwsNaming(() => loadCheckpoint(dir), weights(dir),
    /tensors "transformer\.wte\.weight" and "wte\.weight" are the same parameter/);

  dir = handCheckpoint(config, f32(params));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.alloc(4));
  throwsNaming(() => loadCheckpoint(dir), weights(dir), /shorter than the 8-byte header length/);
  rmSync(join(dir, 'model.safetensors'));
  throwsNaming(() => loadCheckpoint(dir), weights(dir), /not found, and there is no model\.safetensors\.index\.json/);

  dir = handCheckpoint(config, f32(params));
  writeFileSync(join(dir, 'tinymem.json'), '{"seed": ');
  throwsNaming(() => loadCheckpoint(dir), join(dir, 'tinymem.json'), /is not valid JSON/);
  writeFileSync(join(dir, 'tinymem.json'), '[1]');
  throwsNaming(() => loadCheckpoint(dir), join(dir, 'tinymem.json'), /must be a JSON object/);
});

test('the PyTorch reference (torch_reference.py score) loads our checkpoints', async (t) => {
  const why = torchSkip();
  if (why) {
    t.skip(`skipped: ${why}`);
    return;
  }
  const params = randomParams(config, 7);
  const tied = freshDir();
  saveCheckpoint(tied, config, params);
  const untied = freshDir();
  saveCheckpoint(untied, config, params, undefined, { lmHead: new Float32Array(14 * 16) }); // zero head: uniform logits
  const r = rng(11);
  const seqs = [20, 20, 7].map((n) => Array.from({ length: n }, () => Math.floor(r() * 14)));
  const a = torchScore(tied, seqs);
  const b = torchScore(untied, seqs);
  assert.equal(a.loss.length, 3);
  // Small random weights give near-uniform predictions; a zero untied head gives exactly uniform ones (ln 14).
  for (const l of a.loss) assert.ok(Number.isFinite(l) && Math.abs(l - Math.log(14)) < 0.3, `loss ${l}`);
  for (const l of b.loss) assert.ok(Math.abs(l - Math.log(14)) < 1e-5, `untied loss ${l}`);
  assert.ok(a.loss.some((l) => Math.abs(l - Math.log(14)) > 1e-4), 'the tied model should not be exactly uniform');
});
