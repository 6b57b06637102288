// The GPT-2 language model (Hugging Face GPT2LMHeadModel semantics) written with the tracing API.
//
// Pre-LayerNorm blocks; fused attention projection `c_attn`; Conv1D weights stored [in, out]; learned position
// embeddings; causal self-attention; `lm_head` tied to `wte`. Tensor names are Hugging Face's, so checkpoints
// interoperate with `transformers` and the PyTorch reference.
//
// Optional inputs used by the mitigation methods:
//   neuronMasks[i]  [inner]          multiplies layer i's MLP activations (0/1 ablation or real-valued slimming)
//   weightMasks[i]  {up?, down?}     elementwise masks on layer i's c_fc / c_proj weights (Subnet, pruning)
//   onActivation    hook that sees (and may replace) each layer's MLP activations: read them, scale them, or make
//                   them a differentiable graph input
//   dropout         explicit 0/1 masks for the embedding and residual dropouts, with their rate p
import * as v from 'valibot';
import { F, type DType, type Graph, type Tensor } from '../graph/index';
import { type Attend, type KVCache, cachedAttend, causalAttend, checkCapacity, prefillResult } from './attention';
import { isObject } from '../../shared/schemaParts';
import { bool, int, missing, mlpTensorNames, num, parseJson, refuse, showFields } from './configSchema';
import type { ModelFamily, ModelOptions } from './family';
import { showValue } from '../../shared/showValue';
import { userError } from '../../shared/userError';
import { SCALED_GPT2_TYPE } from './blockScale';
import { nextTokenLoss } from './nextTokenLoss';

export const ACTIVATIONS = ['relu', 'gelu_new', 'gelu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** The GPT2Config fields the model uses, named as in Hugging Face's config.json. */
export interface Gpt2Config {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP width; null means 4·n_embd. */
  n_inner: number | null;
  activation_function: Activation;
  layer_norm_epsilon: number;
  initializer_range: number;
  /** false: a separate output head `lm_head.weight` [vocab_size, n_embd]; absent or true: tied to wte (TinyMem). */
  tie_word_embeddings?: boolean;
  /**
   * Per-channel factor [n_embd] applied to every block's input when no explicit block-input masks are given: the
   * evaluation mode of a model trained with example-tied dropout (memorization channels 0, generalization channels
   * rescaled). It lives in config.json so every path that runs the model (metrics, methods, generation) applies it.
   * A saved one-block model has it folded into its weights; more blocks cannot be, and config.json then says
   * model_type "tinymem_gpt2" so that transformers refuses it (blockScale.ts).
   */
  tinymem_block_input_scale?: number[];
}

const INT = 'an integer ≥ 1';
const tokenId = v.optional(v.nullable(v.custom<number>((x) => Number.isInteger(x) && (x as number) >= 0,
  (i) => `must be a token id (integer ≥ 0) or null, got ${showValue(i.input)}; fix config.json`)), 50256);
const dropout = num(0.1, (x) => x >= 0 && x < 1, 'in [0, 1)');
const validScale = (s: unknown, n: number) => s === undefined
  || (Array.isArray(s) && s.length === n && s.every((x) => Number.isFinite(x)));

/**
 * config.json of a GPT-2 model. Missing optional fields get transformers' GPT2Config defaults, so configs from the
 * Hub load; the size fields (vocab_size, n_positions or n_ctx, n_embd, n_layer, n_head) are required. Attention
 * variants this engine does not implement would silently change the model: they are refused.
 */
const Gpt2ConfigJson = v.pipe(
  v.looseObject({
    scale_attn_weights: refuse((x) => x === false,
      'is false; tinymem always scales attention by 1/√head_dim, so it cannot run this model'),
    scale_attn_by_inverse_layer_idx: refuse((x) => x === true,
      'is true; tinymem does not implement it, so it cannot run this model'),
    add_cross_attention: refuse((x) => x === true, 'is true; tinymem runs decoder-only GPT-2 without cross-attention'),
  }),
  v.object({
    model_type: v.custom<'gpt2'>((x) => x === 'gpt2',
      (i) => `is ${JSON.stringify(i.input)} but tinymem reads GPT-2 checkpoints only ("model_type": "gpt2"); pick a ` +
        `GPT-2 model`),
    architectures: v.nullish(v.custom<string[]>((x) => Array.isArray(x) && x.every((a) => typeof a === 'string'),
      (i) => `must be a list of strings, got ${showValue(i.input)}; fix config.json`), () => ['GPT2LMHeadModel']),
    vocab_size: int(INT),
    n_positions: int(INT),
    n_embd: int(INT),
    n_layer: int(INT),
    n_head: int(INT),
    n_inner: v.nullish(int(INT), null),
    activation_function: v.nullish(v.picklist(ACTIVATIONS,
      (i) => `is ${JSON.stringify(i.input)}; tinymem supports ${ACTIVATIONS.map((a) => `"${a}"`).join(', ')}`),
    'gelu_new'),
    layer_norm_epsilon: num(1e-5, (x) => x > 0, '> 0'),
    initializer_range: num(0.02, (x) => x >= 0, '≥ 0'),
    bos_token_id: tokenId,
    eos_token_id: tokenId,
    resid_pdrop: dropout,
    embd_pdrop: dropout,
    attn_pdrop: dropout,
    tie_word_embeddings: bool(true),
    use_cache: bool(true),
    tinymem_block_input_scale: v.optional(v.custom<number[]>(() => true)),
  }, missing((k) => (k === 'model_type'
    ? 'add "model_type": "gpt2" if this is a GPT-2 checkpoint (tinymem reads GPT-2 checkpoints only)'
    : `add it (${INT}) to config.json`))),
  v.forward(v.check((c) => c.n_embd % c.n_head === 0,
    (i) => `(${i.input.n_head}) must divide n_embd (${i.input.n_embd}); fix config.json`), ['n_head']),
  v.forward(v.check((c) => validScale(c.tinymem_block_input_scale, c.n_embd),
    ({ input: { n_embd, tinymem_block_input_scale: s } }) =>
      `must be a list of ${n_embd} finite numbers (one per channel), got ${Array.isArray(s) ? `${s.length} entries`
        : showValue(s)}; remove it or re-save the checkpoint`),
  ['tinymem_block_input_scale']),
);

/** config.json as written: the model's fields plus the GPT2Config fields transformers reads. */
export type Gpt2CheckpointConfig = v.InferOutput<typeof Gpt2ConfigJson>;

/** Checks a parsed config.json (UserError at `file` naming the field). */
export function validateConfig(raw: unknown, file: string): Gpt2CheckpointConfig {
  if (!isObject(raw)) {
    throw userError(file, `must be a JSON object of GPT2Config fields, got ${Array.isArray(raw) ? 'an array'
      : typeof raw}; re-save the checkpoint or fix config.json`, 'file');
  }
  // model_type "tinymem_gpt2": GPT-2 with a block-input scale plain GPT-2 cannot express (blockScale.ts).
  const typed = raw.model_type === SCALED_GPT2_TYPE ? { ...raw, model_type: 'gpt2' } : raw;
  return parseJson(Gpt2ConfigJson, typed.n_positions === undefined && typed.n_ctx !== undefined
    ? { ...typed, n_positions: typed.n_ctx } : typed, file);
}

/**
 * A full config from the model's fields; the rest get TinyMem's values (no dropout, tied head, no KV cache).
 * Validated, so a config that a save would refuse fails here already.
 */
export function makeCheckpointConfig(c: Gpt2Config & Partial<Gpt2CheckpointConfig>,
  label = 'config'): Gpt2CheckpointConfig {
  return validateConfig({
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], bos_token_id: null, eos_token_id: null,
    resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, tie_word_embeddings: true, use_cache: false, ...c,
  }, label);
}

/** Validates a training job's plain-data GPT-2 config, naming the offending field ("model.config.n_head: …"). */
export function resolveGpt2Config(raw: unknown): Gpt2Config {
  const c = (raw ?? {}) as Partial<Gpt2Config>;
  const bad = (k: keyof Gpt2Config, message: string) => userError(`model.config.${k}`, message);
  const show = (v: unknown) => JSON.stringify(v);
  const int = (k: keyof Gpt2Config, v: unknown) => {
    if (!Number.isInteger(v) || (v as number) <= 0) throw bad(k, `expected a positive integer, got ${show(v)}`);
    return v as number;
  };
  const out: Gpt2Config = {
    vocab_size: int('vocab_size', c.vocab_size),
    n_positions: int('n_positions', c.n_positions),
    n_embd: int('n_embd', c.n_embd),
    n_layer: int('n_layer', c.n_layer),
    n_head: int('n_head', c.n_head),
    n_inner: c.n_inner == null ? null : int('n_inner', c.n_inner),
    activation_function: c.activation_function ?? 'gelu_new',
    layer_norm_epsilon: c.layer_norm_epsilon ?? 1e-5,
    initializer_range: c.initializer_range ?? 0.02,
  };
  if (!ACTIVATIONS.includes(out.activation_function)) {
    throw bad('activation_function', `expected one of ${ACTIVATIONS.join(', ')}, got ` +
      `${JSON.stringify(out.activation_function)}`);
  }
  if (out.n_embd % out.n_head !== 0) {
    throw bad('n_head', `n_embd = ${out.n_embd} is not divisible by n_head = ${out.n_head}`);
  }
  for (const k of ['layer_norm_epsilon', 'initializer_range'] as const) {
    if (!(out[k] > 0)) throw bad(k, `expected a positive number, got ${JSON.stringify(out[k])}`);
  }
  return out;
}

export const mlpWidth = (c: Gpt2Config): number => c.n_inner ?? 4 * c.n_embd;

/** Every trainable tensor, in a fixed order, with its Hugging Face name and shape; lm_head only when untied. */
export function gpt2ParamShapes(c: Gpt2Config): [string, number[]][] {
  const C = c.n_embd;
  const inner = mlpWidth(c);
  const out: [string, number[]][] = [
    ['transformer.wte.weight', [c.vocab_size, C]],
    ['transformer.wpe.weight', [c.n_positions, C]],
  ];
  for (let i = 0; i < c.n_layer; i++) {
    const h = `transformer.h.${i}.`;
    out.push(
      [h + 'ln_1.weight', [C]], [h + 'ln_1.bias', [C]],
      [h + 'attn.c_attn.weight', [C, 3 * C]], [h + 'attn.c_attn.bias', [3 * C]],
      [h + 'attn.c_proj.weight', [C, C]], [h + 'attn.c_proj.bias', [C]],
      [h + 'ln_2.weight', [C]], [h + 'ln_2.bias', [C]],
      [h + 'mlp.c_fc.weight', [C, inner]], [h + 'mlp.c_fc.bias', [inner]],
      [h + 'mlp.c_proj.weight', [inner, C]], [h + 'mlp.c_proj.bias', [C]],
    );
  }
  out.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  if (c.tie_word_embeddings === false) out.push(['lm_head.weight', [c.vocab_size, C]]);
  return out;
}

/**
 * Hugging Face's initialisation: weights and embeddings ~ N(0, initializer_range), the two c_proj weights
 * ~ N(0, initializer_range/√(2·n_layer)) (GPT-2's scaled residual init), biases 0, LayerNorm weights 1.
 */
export function initGpt2Params(c: Gpt2Config, normal: () => number): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const [name, shape] of gpt2ParamShapes(c)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (/ln_\d\.weight$|ln_f\.weight$/.test(name)) a.fill(1);
    else if (shape.length === 2) {
      const std = name.endsWith('c_proj.weight') ? c.initializer_range / Math.sqrt(2 * c.n_layer) : c.initializer_range;
      for (let i = 0; i < a.length; i++) a[i] = normal() * std;
    }
    params.set(name, a);
  }
  return params;
}

/** Declares every parameter as a graph input (trainable tensors are inputs, never initializers). */
export function declareGpt2Params(g: Graph, c: Gpt2Config, dtype: DType = 'float32'): Record<string, Tensor> {
  return Object.fromEntries(gpt2ParamShapes(c).map(([name, shape]) => [name, g.input(name, dtype, shape)]));
}

export interface Gpt2Options extends ModelOptions {
  dropout?: { p: number; embd?: Tensor; attn?: (Tensor | undefined)[]; mlp?: (Tensor | undefined)[] };
  /** Multiplies each block's input hidden state, e.g. [B, 1, C] per-example channel masks (example-tied dropout). */
  blockInputMasks?: (Tensor | undefined)[];
}

const ACT: Record<Activation, (x: Tensor) => Tensor> = {
  relu: F.relu,
  gelu: (x) => F.gelu(x, 'none'),
  gelu_new: (x) => F.gelu(x, 'tanh'),
};

/**
 * The transformer blocks and the final LayerNorm applied to embeddings x [B, T, C]; `attend` says which keys each
 * query sees (the causal window of the sequence, or a key/value cache). Returns the final hidden states.
 */
function blocks(c: Gpt2Config, P: Record<string, Tensor>, x: Tensor, o: Gpt2Options, attend: Attend): { hidden: Tensor;
  activations: Tensor[]; } {
  const [B, T, C] = x.shape as [number, number, number];
  const H = c.n_head;
  const hd = C / H;
  const drop = (t: Tensor, mask: Tensor | undefined) => (mask && o.dropout ? F.dropout(t, mask, o.dropout.p) : t);
  const activations: Tensor[] = [];
  const evalScale = !o.blockInputMasks && c.tinymem_block_input_scale
    ? F.constant(x.graph, c.tinymem_block_input_scale, x.dtype, [C]) : undefined;
  for (let i = 0; i < c.n_layer; i++) {
    const p = (n: string) => P[`transformer.h.${i}.${n}`]!;
    if (o.blockInputMasks?.[i]) x = F.mul(x, o.blockInputMasks[i]!);
    else if (evalScale) x = F.mul(x, evalScale);

    // attention
    const a = F.layerNorm(x, p('ln_1.weight'), p('ln_1.bias'), c.layer_norm_epsilon);
    // c_attn [C, 3C] as one GEMM, and one transpose [B, T, 3, H, hd] → [3, B, H, T, hd] whose split along the first
    // axis copies contiguous blocks: in the backward pass the three gradients meet in one Concat, one transpose and
    // one GEMM each for the input's and the weight's gradient, instead of three of each and two Adds.
    const qkv = F.add(F.matmul(a, p('attn.c_attn.weight')), p('attn.c_attn.bias'));
    const [q, k, v] = F.split(F.transpose(F.reshape(qkv, [B, T, 3, H, hd]), [2, 0, 3, 1, 4]), [1, 1, 1], 0)
      .map((t) => F.reshape(t, [B, H, T, hd])) as [Tensor, Tensor, Tensor];
    // (q·kᵀ)/√hd, with the scale folded into q (the smaller tensor)
    const y = F.reshape(F.transpose(attend(i, F.mul(q, 1 / Math.sqrt(hd)), k, v), [0, 2, 1, 3]), [B, T, C]);
    x = F.add(x, drop(F.add(F.matmul(y, p('attn.c_proj.weight')), p('attn.c_proj.bias')), o.dropout?.attn?.[i]));

    // MLP
    const m = F.layerNorm(x, p('ln_2.weight'), p('ln_2.bias'), c.layer_norm_epsilon);
    const wm = o.weightMasks?.[i];
    const fc = wm?.up ? F.mul(p('mlp.c_fc.weight'), wm.up) : p('mlp.c_fc.weight');
    const proj = wm?.down ? F.mul(p('mlp.c_proj.weight'), wm.down) : p('mlp.c_proj.weight');
    let act = ACT[c.activation_function](F.add(F.matmul(m, fc), p('mlp.c_fc.bias')));
    if (o.neuronMasks?.[i]) act = F.mul(act, o.neuronMasks[i]!);
    if (o.onActivation) act = o.onActivation(i, act);
    activations.push(act);
    x = F.add(x, drop(F.add(F.matmul(act, proj), p('mlp.c_proj.bias')), o.dropout?.mlp?.[i]));
  }
  return { hidden: F.layerNorm(x, P['transformer.ln_f.weight']!, P['transformer.ln_f.bias']!, c.layer_norm_epsilon),
    activations };
}

/** The language-model head: the untied lm_head when the model has one, else the token embedding. */
const lmHead = (P: Record<string, Tensor>, hidden: Tensor): Tensor =>
  F.matmul(hidden, (P['lm_head.weight'] ?? P['transformer.wte.weight'])!, { transB: true });

/** Token plus position embeddings of int64 tokens [B, T] at positions 0 … T−1. */
function embed(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor): Tensor {
  const T = tokens.shape[1]!;
  if (T > c.n_positions) throw new Error(`sequence length ${T} exceeds the model's context n_positions = ` +
    `${c.n_positions}`);
  return F.add(F.gather(P['transformer.wte.weight']!, tokens), F.slice(P['transformer.wpe.weight']!, [0], [T], [0]));
}

/** Logits [B, T, V] for int64 tokens [B, T], and each layer's MLP activations [B, T, inner]. */
export function gpt2Forward(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, o: Gpt2Options = {}): {
  logits: Tensor; activations: Tensor[]; } {
  let x = embed(c, P, tokens);
  if (o.dropout?.embd) x = F.dropout(x, o.dropout.embd, o.dropout.p);
  const { hidden, activations } = blocks(c, P, x, o, causalAttend(tokens.graph, tokens.shape[1]!, x.dtype));
  return { logits: lmHead(P, hidden), activations };
}

/**
 * Runs a prompt [B, T] and returns the logits of its last position [B, V] and key/value caches with room for
 * `capacity` positions (the prompt's filled in, the rest zeros).
 */
export function gpt2Prefill(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, capacity: number,
  o: Gpt2Options = {}): { logits: Tensor; cache: KVCache } {
  const T = tokens.shape[1]!;
  checkCapacity(T, capacity, c.n_positions, `n_positions = ${c.n_positions}`);
  const kv: { k: Tensor; v: Tensor }[] = [];
  const { hidden } = blocks(c, P, embed(c, P, tokens), o,
    causalAttend(tokens.graph, T, P['transformer.wte.weight']!.dtype, kv));
  const { last, cache } = prefillResult(hidden, kv, capacity);
  return { logits: lmHead(P, last), cache };
}

/**
 * One decoding step: tokens [B, 1] at position `pos` (int64 [1]) attend to the cached positions ≤ pos. Writes this
 * step's keys and values into the caches at `pos` and returns the logits [B, V] with the updated caches.
 */
export function gpt2DecodeStep(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, pos: Tensor, cache: KVCache,
  o: Gpt2Options = {}): { logits: Tensor; cache: KVCache } {
  const x = F.add(F.gather(P['transformer.wte.weight']!, tokens), F.gather(P['transformer.wpe.weight']!, pos));
  const next: KVCache = { k: [], v: [] };
  const { hidden } = blocks(c, P, x, o, cachedAttend(cache, pos, P['transformer.wte.weight']!.dtype, next));
  return { logits: lmHead(P, F.reshape(hidden, [tokens.shape[0]!, c.n_embd])), cache: next };
}

/**
 * Next-token targets for causal LM loss: tokens shifted left by one, the last position ignored. Computing the loss
 * on all T positions with the last one ignored equals Hugging Face's loss over logits[:, :-1] without slicing them.
 */
export function nextTokenTargets(tokens: Tensor, ignoreIndex = -100): Tensor {
  const [B, T] = tokens.shape as [number, number];
  const pad = F.constant(tokens.graph, new Array<number>(B).fill(ignoreIndex), 'int64', [B, 1]);
  return F.concat([F.slice(tokens, [1], [T], [1]), pad], 1);
}

/**
 * Per-sequence LM loss [B]: each row's mean next-token cross-entropy over its T − 1 predicted positions, padding
 * included (the reference's `clm_loss_fn`). Every row counts the same positions, so the mean over rows is the
 * batch loss the model trains on.
 */
export function gpt2SequenceLosses(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor,
  o: Gpt2Options = {}): Tensor {
  return nextTokenLoss(gpt2Forward(c, P, tokens, o).logits, tokens, 'sequence');
}

export const gpt2: ModelFamily<Gpt2Config> = {
  modelType: 'gpt2',
  name: 'GPT-2',
  architecture: 'GPT2LMHeadModel',
  parseConfig: (raw, file) => ({ config: validateConfig(raw, file), notes: [] }),
  trainConfig: resolveGpt2Config,
  configJson: (c, _raw, file) => makeCheckpointConfig(c, file),
  dims: (c) => ({
    layers: c.n_layer, hidden: c.n_embd, heads: c.n_head, inner: mlpWidth(c), vocab: c.vocab_size,
    context: c.n_positions,
  }),
  withLayers: (c, n_layer) => ({ ...c, n_layer }),
  sizeFields: (c) => showFields(c, ['n_layer', 'n_embd', 'n_inner', 'vocab_size', 'n_positions']),
  contextField: 'n_positions',
  paramShapes: gpt2ParamShapes,
  init: initGpt2Params,
  forward: gpt2Forward,
  prefill: gpt2Prefill,
  decodeStep: gpt2DecodeStep,
  mlp: {
    layout: 'in_out',
    names: (l) => mlpTensorNames(`transformer.h.${l}.mlp.`, 'c_fc', 'c_proj'),
    tensor: /\.mlp\.(c_fc|c_proj)\.(weight|bias)$/,
  },
  checkpoint: {
    embedding: 'transformer.wte.weight',
    head: { name: 'lm_head.weight', optional: true },
    prefix: 'transformer.',
    // Buffers from old GPT-2 exports (the causal mask), which transformers also ignores.
    buffers: /^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/,
    buffersNote: (names) => names.map((n) => `ignored the attention-mask buffer "${n}" (not a parameter)`),
    fix: 're-export the checkpoint',
    unexpectedHint: (c, name) => {
      const layer = /(?:^|\.)h\.(\d+)\./.exec(name);
      return layer && Number(layer[1]) >= c.n_layer
        ? ` config.json says n_layer=${c.n_layer}: the weights have more layers, fix n_layer.`
        : ' tinymem reads GPT2LMHeadModel checkpoints only; remove the extra tensors or use the matching config.json.';
    },
  },
};
