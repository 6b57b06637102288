// The GPT-NeoX language model (Hugging Face GPTNeoXForCausalLM semantics, as used by Pythia) written with the
// tracing API, with the same hooks as gpt2.ts so every mitigation method runs on it.
//
// Differences from GPT-2 that matter here:
//   * weights are torch.nn.Linear, stored [out, in] (GPT-2's Conv1D is [in, out]), so y = x·Wᵀ + b;
//   * query_key_value is fused per head: its 3C outputs are H groups of [q(hd), k(hd), v(hd)];
//   * no learned positions: rotary embeddings rotate the first ⌊hd·rotary_pct⌋ channels of each query and key;
//   * parallel residual (x + attn(ln1 x) + mlp(ln2 x)) or the sequential one, per use_parallel_residual;
//   * exact (erf) GELU by default, and an untied output head embed_out.
//
// Hooks (as gpt2.ts): neuronMasks[i] [inner] multiplies layer i's MLP activations; weightMasks[i] {up?, down?}
// multiplies dense_h_to_4h / dense_4h_to_h elementwise (masks in the weight's own [out, in] shape); onActivation
// sees (and may replace) each layer's activations.
import * as v from 'valibot';
import { F, type DType, type Graph, type Tensor } from '../graph/index';
import { type Attend, type KVCache, cachedAttend, causalAttend, checkCapacity, prefillResult } from './attention';
import { bool, int, missing, mlpTensorNames, num, parseJson, refuse, showFields } from './configSchema';
import type { ModelFamily, ModelOptions as NeoxOptions } from './family';

const ACTIVATIONS = ['gelu', 'gelu_new', 'relu'] as const;
export type NeoxActivation = (typeof ACTIVATIONS)[number];
const INT = 'a positive integer';

/** The GPTNeoXConfig fields the model uses, named as in Hugging Face's config.json; defaults are Pythia's. */
const NeoxConfigJson = v.pipe(
  v.looseObject({
    rope_scaling: refuse((x) => x !== null, 'is set; tinymem implements plain rotary embeddings only, so it cannot ' +
      'run this model'),
    attention_bias: refuse((x) => x === false, 'is false; tinymem expects attention biases (as Pythia has)'),
  }),
  v.object({
    model_type: v.literal('gpt_neox'),
    vocab_size: int(INT),
    hidden_size: int(INT),
    num_hidden_layers: int(INT),
    num_attention_heads: int(INT),
    intermediate_size: int(INT),
    max_position_embeddings: v.nullish(int(INT), 2048),
    rotary_pct: num(0.25, (x) => x >= 0 && x <= 1, 'in [0, 1]'),
    rotary_emb_base: num(10000, (x) => x > 0, '> 0'),
    layer_norm_eps: num(1e-5, (x) => x > 0, '> 0'),
    use_parallel_residual: bool(true),
    hidden_act: v.nullish(v.picklist(ACTIVATIONS, (i) => `is ${JSON.stringify(i.input)}; tinymem supports "gelu" ` +
      `(exact), "gelu_new" and "relu"`), 'gelu'),
    initializer_range: num(0.02, (x) => x >= 0, '≥ 0'),
  }, missing(() => `add it (${INT}) to config.json`)),
  v.forward(v.check((c) => c.hidden_size % c.num_attention_heads === 0,
    (i) => `(${i.input.num_attention_heads}) must divide hidden_size (${i.input.hidden_size}); fix config.json`),
  ['num_attention_heads']),
  v.forward(v.check((c) => rotaryDims(c) % 2 === 0,
    (i) => `gives ${rotaryDims(i.input)} rotary channels per head; that must be even`), ['rotary_pct']),
);

export type NeoxConfig = v.InferOutput<typeof NeoxConfigJson>;

/** Validates a GPTNeoXConfig; missing optional fields get transformers' defaults (Pythia's values). */
export function validateNeoxConfig(raw: Record<string, unknown>, file: string): { config: NeoxConfig;
  notes: string[]; } {
  const hidden = raw.hidden_size;
  const config = parseJson(NeoxConfigJson, {
    ...raw,
    intermediate_size: raw.intermediate_size ?? (typeof hidden === 'number' ? 4 * hidden : undefined),
    rotary_pct: raw.rotary_pct
      ?? (typeof raw.partial_rotary_factor === 'number' ? raw.partial_rotary_factor : undefined),
    rotary_emb_base: raw.rotary_emb_base ?? (typeof raw.rope_theta === 'number' ? raw.rope_theta : undefined),
  }, file);
  return { config, notes: raw.intermediate_size === undefined
    ? ['config.json has no intermediate_size: 4·hidden_size assumed'] : [] };
}

const layerPrefix = (i: number) => `gpt_neox.layers.${i}.`;

/** Every parameter, in a fixed order, with its Hugging Face name and shape ([out, in] for Linear weights). */
export function neoxParamShapes(c: NeoxConfig): [string, number[]][] {
  const C = c.hidden_size;
  const I = c.intermediate_size;
  const out: [string, number[]][] = [['gpt_neox.embed_in.weight', [c.vocab_size, C]]];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const h = layerPrefix(i);
    out.push(
      [h + 'input_layernorm.weight', [C]], [h + 'input_layernorm.bias', [C]],
      [h + 'post_attention_layernorm.weight', [C]], [h + 'post_attention_layernorm.bias', [C]],
      [h + 'attention.query_key_value.weight', [3 * C, C]], [h + 'attention.query_key_value.bias', [3 * C]],
      [h + 'attention.dense.weight', [C, C]], [h + 'attention.dense.bias', [C]],
      [h + 'mlp.dense_h_to_4h.weight', [I, C]], [h + 'mlp.dense_h_to_4h.bias', [I]],
      [h + 'mlp.dense_4h_to_h.weight', [C, I]], [h + 'mlp.dense_4h_to_h.bias', [C]],
    );
  }
  out.push(['gpt_neox.final_layer_norm.weight', [C]], ['gpt_neox.final_layer_norm.bias', [C]],
    ['embed_out.weight', [c.vocab_size, C]]);
  return out;
}

/** Random initialisation for tests and benchmarks: weights ~ N(0, initializer_range), biases 0, LayerNorm 1. */
export function initNeoxParams(c: NeoxConfig, normal: () => number): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const [name, shape] of neoxParamShapes(c)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (/norm\.weight$/.test(name)) a.fill(1);
    else if (shape.length === 2) for (let i = 0; i < a.length; i++) a[i] = normal() * c.initializer_range;
    params.set(name, a);
  }
  return params;
}

const ACT: Record<NeoxActivation, (x: Tensor) => Tensor> = {
  gelu: (x) => F.gelu(x, 'none'),
  gelu_new: (x) => F.gelu(x, 'tanh'),
  relu: F.relu,
};

/** Channels of each head that rotary embeddings rotate (even, as the halves are swapped). */
export const rotaryDims = (c: { hidden_size: number; num_attention_heads: number; rotary_pct: number }): number =>
  Math.floor((c.hidden_size / c.num_attention_heads) * c.rotary_pct);

/**
 * cos and sin tables [positions, rot]: angle(p, j) = p·base^(−2j'/rot) with j' = j mod rot/2 (the frequencies
 * repeated for the two halves). Computed in float64 and rounded once, so they match float32 torch to rounding.
 */
function rotaryTables(c: NeoxConfig, positions: number): { cos: Float32Array; sin: Float32Array } {
  const rot = rotaryDims(c);
  const half = rot / 2;
  const cos = new Float32Array(positions * rot);
  const sin = new Float32Array(positions * rot);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < rot; j++) {
      const invFreq = Math.fround(1 / Math.pow(c.rotary_emb_base, (2 * (j % half)) / rot));
      const a = Math.fround(p * invFreq);
      cos[p * rot + j] = Math.cos(a);
      sin[p * rot + j] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** Rotates the first `rot` channels of t [B, H, T, hd] by the angles cos/sin [T, rot] (or [1, rot]). */
function rope(t: Tensor, cos: Tensor, sin: Tensor, rot: number): Tensor {
  if (rot === 0) return t;
  const hd = t.shape[3]!;
  const [r, rest] = rot === hd ? [t, null] : F.split(t, [rot, hd - rot], 3);
  const [r1, r2] = F.split(r!, [rot / 2, rot / 2], 3);
  const rotated = F.add(F.mul(r!, cos), F.mul(F.concat([F.neg(r2!), r1!], 3), sin));
  return rest ? F.concat([rotated, rest], 3) : rotated;
}

const linear = (x: Tensor, w: Tensor, b: Tensor): Tensor => F.add(F.matmul(x, w, { transB: true }), b);

/** The blocks and final LayerNorm on embeddings x [B, T, C]; `rotate` applies rotary embeddings to q or k. */
function blocks(c: NeoxConfig, P: Record<string, Tensor>, x: Tensor, o: NeoxOptions, rotate: (t: Tensor) => Tensor,
  attend: Attend): { hidden: Tensor; activations: Tensor[] } {
  const [B, T, C] = x.shape as [number, number, number];
  const H = c.num_attention_heads;
  const hd = C / H;
  const eps = c.layer_norm_eps;
  const activations: Tensor[] = [];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = (n: string) => P[layerPrefix(i) + n]!;
    const a = F.layerNorm(x, p('input_layernorm.weight'), p('input_layernorm.bias'), eps);
    // [B, T, 3C] → [B, T, H, 3, hd]: per head q, k, v in turn (the fused layout), then each to [B, H, T, hd].
    const qkv = F.reshape(linear(a, p('attention.query_key_value.weight'), p('attention.query_key_value.bias')),
      [B, T, H, 3, hd]);
    const [q, k, v] = F.split(qkv, [1, 1, 1], 3).map((t) => F.transpose(F.reshape(t, [B, T, H, hd]), [0, 2, 1, 3])) as [
      Tensor, Tensor, Tensor];
    const y = F.reshape(F.transpose(attend(i, F.mul(rotate(q), 1 / Math.sqrt(hd)), rotate(k), v), [0, 2, 1, 3]),
      [B, T, C]);
    const attnOut = linear(y, p('attention.dense.weight'), p('attention.dense.bias'));

    const mlp = (z: Tensor): Tensor => {
      const wm = o.weightMasks?.[i];
      const up = wm?.up ? F.mul(p('mlp.dense_h_to_4h.weight'), wm.up) : p('mlp.dense_h_to_4h.weight');
      const down = wm?.down ? F.mul(p('mlp.dense_4h_to_h.weight'), wm.down) : p('mlp.dense_4h_to_h.weight');
      let act = ACT[c.hidden_act](linear(z, up, p('mlp.dense_h_to_4h.bias')));
      if (o.neuronMasks?.[i]) act = F.mul(act, o.neuronMasks[i]!);
      if (o.onActivation) act = o.onActivation(i, act);
      activations.push(act);
      return linear(act, down, p('mlp.dense_4h_to_h.bias'));
    };
    const ln2 = (z: Tensor) => F.layerNorm(z, p('post_attention_layernorm.weight'), p('post_attention_layernorm.bias'),
      eps);
    if (c.use_parallel_residual) x = F.add(F.add(x, attnOut), mlp(ln2(x)));
    else {
      x = F.add(x, attnOut);
      x = F.add(x, mlp(ln2(x)));
    }
  }
  return { hidden: F.layerNorm(x, P['gpt_neox.final_layer_norm.weight']!, P['gpt_neox.final_layer_norm.bias']!, eps),
    activations };
}

const head = (P: Record<string, Tensor>, hidden: Tensor): Tensor =>
  F.matmul(hidden, P['embed_out.weight']!, { transB: true });

function checkLength(c: NeoxConfig, T: number): void {
  if (T > c.max_position_embeddings) throw new Error(
    `sequence length ${T} exceeds the model's context max_position_embeddings = ${c.max_position_embeddings}`);
}

/** Rotation at positions 0 … T−1 (constant tables). */
function prefixRotation(c: NeoxConfig, g: Graph, T: number, dtype: DType): (t: Tensor) => Tensor {
  const rot = rotaryDims(c);
  const { cos, sin } = rotaryTables(c, T);
  const cosT = F.constant(g, cos, dtype, [T, rot]);
  const sinT = F.constant(g, sin, dtype, [T, rot]);
  return (t) => rope(t, cosT, sinT, rot);
}

/** Logits [B, T, V] for int64 tokens [B, T], and each layer's MLP activations [B, T, inner]. */
export function neoxForward(c: NeoxConfig, P: Record<string, Tensor>, tokens: Tensor, o: NeoxOptions = {}): {
  logits: Tensor; activations: Tensor[]; } {
  const T = tokens.shape[1]!;
  checkLength(c, T);
  const x = F.gather(P['gpt_neox.embed_in.weight']!, tokens);
  const { hidden, activations } = blocks(c, P, x, o, prefixRotation(c, tokens.graph, T, x.dtype),
    causalAttend(tokens.graph, T, x.dtype));
  return { logits: head(P, hidden), activations };
}

/** The prompt [B, T]: last-position logits [B, V] and key/value caches with room for `capacity` positions. */
export function neoxPrefill(c: NeoxConfig, P: Record<string, Tensor>, tokens: Tensor, capacity: number,
  o: NeoxOptions = {}): { logits: Tensor; cache: KVCache } {
  const T = tokens.shape[1]!;
  checkCapacity(T, capacity, c.max_position_embeddings, `max_position_embeddings = ${c.max_position_embeddings}`);
  const x = F.gather(P['gpt_neox.embed_in.weight']!, tokens);
  const kv: { k: Tensor; v: Tensor }[] = [];
  // The cache holds keys after rotation, so decoding never re-rotates old positions.
  const { hidden } = blocks(c, P, x, o, prefixRotation(c, tokens.graph, T, x.dtype),
    causalAttend(tokens.graph, T, x.dtype, kv));
  const { last, cache } = prefillResult(hidden, kv, capacity);
  return { logits: head(P, last), cache };
}

/** One decoding step at position `pos` (int64 [1]) against the caches; as gpt2DecodeStep. */
export function neoxDecodeStep(c: NeoxConfig, P: Record<string, Tensor>, tokens: Tensor, pos: Tensor, cache: KVCache,
  o: NeoxOptions = {}): { logits: Tensor; cache: KVCache } {
  const g = tokens.graph;
  const capacity = cache.k[0]!.shape[2]!;
  const x = F.gather(P['gpt_neox.embed_in.weight']!, tokens);
  const rot = rotaryDims(c);
  const { cos, sin } = rotaryTables(c, capacity);
  const cosP = F.gather(F.constant(g, cos, x.dtype, [capacity, rot]), pos); // [1, rot]
  const sinP = F.gather(F.constant(g, sin, x.dtype, [capacity, rot]), pos);
  const next: KVCache = { k: [], v: [] };
  const { hidden } = blocks(c, P, x, o, (t) => rope(t, cosP, sinP, rot), cachedAttend(cache, pos, x.dtype, next));
  return { logits: head(P, F.reshape(hidden, [tokens.shape[0]!, c.hidden_size])), cache: next };
}

export const gptNeox: ModelFamily<NeoxConfig> = {
  modelType: 'gpt_neox',
  name: 'GPTNeoXForCausalLM',
  architecture: 'GPTNeoXForCausalLM',
  parseConfig: (raw, file) => validateNeoxConfig(raw as Record<string, unknown>, file),
  trainConfig: (raw) => validateNeoxConfig({ ...(raw as object), model_type: 'gpt_neox' }, 'model.config').config,
  // The stored config keeps every original field, with the values this engine ran and F32 weights.
  configJson: ({ model_type: _t, ...fields }, raw) =>
    ({ ...raw, ...fields, model_type: 'gpt_neox', architectures: raw.architectures ?? ['GPTNeoXForCausalLM'],
      tie_word_embeddings: false, torch_dtype: 'float32' }),
  dims: (c) => ({
    layers: c.num_hidden_layers, hidden: c.hidden_size, heads: c.num_attention_heads, inner: c.intermediate_size,
    vocab: c.vocab_size, context: c.max_position_embeddings,
  }),
  withLayers: (c, num_hidden_layers) => ({ ...c, num_hidden_layers }),
  sizeFields: (c) =>
    showFields(c, ['num_hidden_layers', 'hidden_size', 'intermediate_size', 'vocab_size', 'max_position_embeddings']),
  contextField: 'max_position_embeddings',
  paramShapes: neoxParamShapes,
  init: initNeoxParams,
  forward: neoxForward,
  prefill: neoxPrefill,
  decodeStep: neoxDecodeStep,
  mlp: {
    layout: 'out_in',
    names: (l) => mlpTensorNames(`${layerPrefix(l)}mlp.`, 'dense_h_to_4h', 'dense_4h_to_h'),
    tensor: /\.mlp\.(dense_h_to_4h|dense_4h_to_h)\.(weight|bias)$/,
  },
  checkpoint: {
    embedding: 'gpt_neox.embed_in.weight',
    // Pythia's head is untied; a tied one (tie_word_embeddings true) may be stored only once, and is copied on load.
    head: { name: 'embed_out.weight', optional: false },
    // Buffers of older GPT-NeoX exports (causal mask, rotary frequencies), which transformers also ignores.
    buffers: /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/,
    buffersNote: (names) => [`ignored ${names.length} attention buffer(s) (masks, rotary frequencies): not parameters`],
    fix: 're-export the weights',
    unexpectedHint: () => ' Check that config.json belongs to these weights.',
  },
};
