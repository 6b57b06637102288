// Small random Hugging Face model folders for tests (no pretrained weights can be downloaded): GPT-2 and GPT-NeoX
// config.json + safetensors (single, sharded, F32/F16/BF16) + a tiny byte-level BPE tokenizer.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/engine/data/rng';
import { initGpt2Params } from '../../src/engine/model/gpt2';
import { loadModelFolder } from '../../src/engine/model/checkpoint';
import { initNeoxParams, validateNeoxConfig } from '../../src/engine/model/gptNeox';
import { modelGenerator } from '../../src/engine/metrics/memorization';
import { Runtime } from '../../src/engine/runtime/session';
import { type TensorInput, writeSafetensors } from '../../src/engine/model/safetensors';
import { TORCH_PYTHON, TORCH_REFERENCE, requireTorch } from './torchReference';

const made: string[] = [];
process.on('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh temporary folder, removed when the test process exits. */
export const freshDir = (label = 'hf'): string => {
  const dir = mkdtempSync(join(tmpdir(), `tinymem-${label}-`));
  made.push(dir);
  return dir;
};

/** Byte-level BPE: the 256 byte symbols, a few merges, and <|endoftext|> last. */
export const TOKENIZER_VOCAB = 256 + 6 + 1;

/** GPT-2's reversible byte → printable character map (bytes_to_unicode), written from its definition. */
function byteSymbols(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + n++));
  return out;
}

export function tokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteSymbols().forEach((s, i) => (vocab[s] = i));
  const merges = ['Ġ t', 'h e', 'Ġt he', 'i n', 'a n', 'Ġ a'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const eos = Object.keys(vocab).length;
  vocab['<|endoftext|>'] = eos;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eos, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false,
      normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

export type StoreDtype = 'F32' | 'F16' | 'BF16';

/** Writes weights as model.safetensors, or as `shards` files plus model.safetensors.index.json. */
export function writeWeights(dir: string, params: Map<string, Float32Array>, shapes: [string, number[]][],
  o: { dtype?: StoreDtype; shards?: number } = {}): void {
  const dtype = o.dtype ?? 'F32';
  const entries: [string, TensorInput][] = shapes.map(([n, shape]) => [n, { dtype, shape, data: params.get(n)! }]);
  const shards = o.shards ?? 1;
  if (shards <= 1) {
    writeSafetensors(join(dir, 'model.safetensors'), Object.fromEntries(entries), { format: 'pt' });
    return;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(entries.length / shards);
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = entries.slice(s * per, (s + 1) * per);
    for (const [n] of part) weightMap[n] = file;
    writeSafetensors(join(dir, file), Object.fromEntries(part), { format: 'pt' });
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
}

export interface NeoxSpec {
  layers?: number;
  hidden?: number;
  heads?: number;
  inner?: number;
  vocab?: number;
  context?: number;
  rotaryPct?: number;
  parallel?: boolean;
  std?: number;
}

export function neoxRawConfig(s: NeoxSpec = {}): Record<string, unknown> {
  const hidden = s.hidden ?? 32;
  return {
    architectures: ['GPTNeoXForCausalLM'],
    model_type: 'gpt_neox',
    vocab_size: s.vocab ?? TOKENIZER_VOCAB,
    hidden_size: hidden,
    num_hidden_layers: s.layers ?? 2,
    num_attention_heads: s.heads ?? 4,
    intermediate_size: s.inner ?? 4 * hidden,
    max_position_embeddings: s.context ?? 128,
    rotary_pct: s.rotaryPct ?? 0.25,
    rotary_emb_base: 10000,
    layer_norm_eps: 1e-5,
    use_parallel_residual: s.parallel ?? true,
    hidden_act: 'gelu',
    initializer_range: s.std ?? 0.02,
    tie_word_embeddings: false,
    bos_token_id: (s.vocab ?? TOKENIZER_VOCAB) - 1,
    eos_token_id: (s.vocab ?? TOKENIZER_VOCAB) - 1,
    torch_dtype: 'float32',
  };
}

/** Random GPT-NeoX params for a raw config (std: initializer_range; large values give peaked, testable logits). */
export function randomNeoxParams(raw: Record<string, unknown>, seed: number): Map<string, Float32Array> {
  const { config } = validateNeoxConfig(raw, 'config.json');
  const r = new Rng(seed);
  const p = initNeoxParams(config, () => r.normal());
  // Non-trivial biases and LayerNorm parameters, so their layout is checked too.
  for (const [n, a] of p) if (a.length > 0 && !n.endsWith('.weight')) for (let i = 0; i < a.length;
    i++) a[i] = 0.1 * r.normal();
  return p;
}

export function writeNeoxFolder(dir: string, raw: Record<string, unknown>, params: Map<string, Float32Array>,
  o: { dtype?: StoreDtype; shards?: number; tokenizer?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  const { config } = validateNeoxConfig(raw, 'config.json');
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  writeWeights(dir, params, [...params.keys()].map((n) => [n, shapeOf(config, n)]), o);
  if (o.tokenizer !== false) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  return dir;
}

/**
 * A random GPT-NeoX folder (hidden 32, 2 layers) and a sequence set for it in `memFile`: 6 random prompts of
 * `prompt` tokens, each followed by the model's own greedy continuation of `continuation` tokens (memorized by
 * construction), then `controls` random rows of the same length. Prompts and controls come from one Rng(1).
 */
export async function writeMemorizedNeox(dir: string, memFile: string, o: { prompt: number; continuation: number;
  controls: number; threads?: number; }): Promise<void> {
  const raw = neoxRawConfig({ std: 0.3, hidden: 32, layers: 2, inner: 64 });
  writeNeoxFolder(dir, raw, randomNeoxParams(raw, 3));
  const model = loadModelFolder(dir);
  const eos = raw.eos_token_id as number;
  const r = new Rng(1);
  const prompts = Array.from({ length: 6 }, () => Array.from({ length: o.prompt }, () => r.int(eos - 1)));
  const rt = new Runtime({ threads: o.threads ?? 1 });
  try {
    // The model's own greedy continuations (EOS suppressed, as the evaluation does) are sequences it reproduces.
    const g = await modelGenerator(rt, model.config, model.params, 64, [eos])(prompts, o.continuation);
    const memorized = prompts.map((p, i) => [...p, ...g.tokens[i]!]);
    const controls = Array.from({ length: o.controls },
      () => Array.from({ length: o.prompt + o.continuation }, () => r.int(eos - 1)));
    writeFileSync(memFile, [...memorized, ...controls].map((x) => JSON.stringify(x)).join('\n') + '\n');
  } finally {
    await rt.dispose();
  }
}

function shapeOf(c: ReturnType<typeof validateNeoxConfig>['config'], name: string): number[] {
  const C = c.hidden_size;
  const I = c.intermediate_size;
  if (name === 'gpt_neox.embed_in.weight' || name === 'embed_out.weight') return [c.vocab_size, C];
  if (name.endsWith('query_key_value.weight')) return [3 * C, C];
  if (name.endsWith('query_key_value.bias')) return [3 * C];
  if (name.endsWith('attention.dense.weight')) return [C, C];
  if (name.endsWith('dense_h_to_4h.weight')) return [I, C];
  if (name.endsWith('dense_h_to_4h.bias')) return [I];
  if (name.endsWith('dense_4h_to_h.weight')) return [C, I];
  return [C];
}

export interface Gpt2Spec {
  layers?: number;
  hidden?: number;
  heads?: number;
  vocab?: number;
  context?: number;
  untied?: boolean;
  std?: number;
}

export function gpt2RawConfig(s: Gpt2Spec = {}): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: s.vocab ?? TOKENIZER_VOCAB,
    n_positions: s.context ?? 128,
    n_embd: s.hidden ?? 32,
    n_layer: s.layers ?? 2,
    n_head: s.heads ?? 4,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: 1e-5,
    initializer_range: s.std ?? 0.02,
    tie_word_embeddings: !s.untied,
    bos_token_id: (s.vocab ?? TOKENIZER_VOCAB) - 1,
    eos_token_id: (s.vocab ?? TOKENIZER_VOCAB) - 1,
  };
}

/** Random GPT-2 params (with lm_head.weight when untied), as Hugging Face names them. */
export function randomGpt2Params(raw: Record<string, unknown>, seed: number): Map<string, Float32Array> {
  const c = { ...(raw as never as import('../../src/engine/model/gpt2').Gpt2Config) };
  const r = new Rng(seed);
  const p = initGpt2Params({ ...c, tie_word_embeddings: true }, () => r.normal());
  for (const [n, a] of p) if (!n.endsWith('.weight') || /ln_/.test(n)) for (let i = 0; i < a.length; i++) a[i] = (
    n.endsWith('.weight') ? 1 : 0) + 0.1 * r.normal();
  if (raw.tie_word_embeddings === false) p.set('lm_head.weight',
    Float32Array.from({ length: c.vocab_size * c.n_embd }, () => r.normal() * c.initializer_range));
  return p;
}

export function writeGpt2Folder(dir: string, raw: Record<string, unknown>, params: Map<string, Float32Array>,
  o: { dtype?: StoreDtype; shards?: number; tokenizer?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  const C = raw.n_embd as number;
  const V = raw.vocab_size as number;
  const T = raw.n_positions as number;
  const inner = 4 * C;
  const shapeOf = (n: string): number[] => {
    if (n === 'transformer.wte.weight' || n === 'lm_head.weight') return [V, C];
    if (n === 'transformer.wpe.weight') return [T, C];
    if (n.endsWith('c_attn.weight')) return [C, 3 * C];
    if (n.endsWith('c_attn.bias')) return [3 * C];
    if (n.endsWith('attn.c_proj.weight')) return [C, C];
    if (n.endsWith('c_fc.weight')) return [C, inner];
    if (n.endsWith('c_fc.bias')) return [inner];
    if (n.endsWith('mlp.c_proj.weight')) return [inner, C];
    return [C];
  };
  writeWeights(dir, params, [...params.keys()].map((n) => [n, shapeOf(n)]), o);
  if (o.tokenizer !== false) writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  return dir;
}

/** Full logits [seq][pos][vocab] from the PyTorch reference's own loader and forward pass (torch_reference.py). */
export function torchLogits(modelDir: string, seqs: number[][]): number[][][] {
  requireTorch();
  const file = join(modelDir, 'logit-seqs.json');
  writeFileSync(file, JSON.stringify(seqs));
  const code = [
    'import sys, json, torch',
    `sys.path.insert(0, ${JSON.stringify(join(TORCH_REFERENCE, '..'))})`,
    'import torch_reference as R',
    'torch.set_num_threads(1)',
    `m = R.load(${JSON.stringify(modelDir)})`,
    `seqs = json.load(open(${JSON.stringify(file)}))`,
    'with torch.no_grad(): print(json.dumps([m(torch.tensor([s]))[0].tolist() for s in seqs]))',
  ].join('\n');
  const r = spawnSync(TORCH_PYTHON, ['-c', code], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`torch reference forward failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}
