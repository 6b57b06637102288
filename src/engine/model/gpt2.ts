// The GPT-2 language model (Hugging Face GPT2LMHeadModel semantics) written with the tracing API.
//
// Pre-LayerNorm blocks; fused attention projection `c_attn`; Conv1D weights stored [in, out]; learned position
// embeddings; causal self-attention; `lm_head` tied to `wte`. Tensor names are Hugging Face's, so checkpoints
// interoperate with `transformers` and the PyTorch reference.
//
// Optional inputs used by the mitigation methods:
//   neuronMasks[i]  [inner]          multiplies layer i's MLP activations (0/1 ablation or real-valued slimming)
//   weightMasks[i]  {c_fc?, c_proj?} elementwise masks on layer i's MLP weight matrices (Subnet, pruning)
//   onActivation    hook that sees (and may replace) each layer's MLP activations: read them, scale them, or make
//                   them a differentiable graph input
//   dropout         explicit 0/1 masks for the embedding and residual dropouts, with their rate p
import { F, type DType, type Graph, type Tensor } from '../graph/index';

export type Activation = 'relu' | 'gelu_new' | 'gelu';

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
   * transformers ignores the field and runs the unscaled model.
   */
  tinymem_block_input_scale?: number[];
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

export const countParams = (c: Gpt2Config): number => gpt2ParamShapes(c).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);

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

export interface Gpt2Options {
  neuronMasks?: (Tensor | undefined)[];
  weightMasks?: ({ c_fc?: Tensor; c_proj?: Tensor } | undefined)[];
  onActivation?: (layer: number, act: Tensor) => Tensor;
  dropout?: { p: number; embd?: Tensor; attn?: (Tensor | undefined)[]; mlp?: (Tensor | undefined)[] };
  /** Multiplies each block's input hidden state, e.g. [B, 1, C] per-example channel masks (example-tied dropout). */
  blockInputMasks?: (Tensor | undefined)[];
}

const ACT: Record<Activation, (x: Tensor) => Tensor> = {
  relu: F.relu,
  gelu: (x) => F.gelu(x, 'none'),
  gelu_new: (x) => F.gelu(x, 'tanh'),
};

/** The most negative finite float32, the value Hugging Face gives masked attention scores. */
const MASKED = -3.4028234663852886e38;

/**
 * Additive causal mask [T, T]: 0 where key j ≤ query i, else MASKED. Adding it gives the masked scores the value
 * MASKED (|score| ≪ |MASKED|), as masked_fill does, so softmax gives them exactly 0 and, being 0, they pass no
 * gradient: the backward pass needs no mask.
 */
function causalMask(g: Graph, T: number, dtype: DType): Tensor {
  const m = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = MASKED;
  return F.constant(g, m, dtype, [T, T]);
}

/** Attention for layer i: queries, keys, values [B, H, T, hd] (queries pre-scaled by 1/√hd) → output [B, H, T, hd]. */
type Attend = (layer: number, q: Tensor, k: Tensor, v: Tensor) => Tensor;

/**
 * The transformer blocks and the final LayerNorm applied to embeddings x [B, T, C]; `attend` says which keys each
 * query sees (the causal window of the sequence, or a key/value cache). Returns the final hidden states.
 */
function blocks(c: Gpt2Config, P: Record<string, Tensor>, x: Tensor, o: Gpt2Options, attend: Attend): { hidden: Tensor; activations: Tensor[] } {
  const [B, T, C] = x.shape as [number, number, number];
  const H = c.n_head;
  const hd = C / H;
  const drop = (t: Tensor, mask: Tensor | undefined) => (mask && o.dropout ? F.dropout(t, mask, o.dropout.p) : t);
  const heads = (t: Tensor) => F.transpose(F.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]); // [B, H, T, hd]
  const activations: Tensor[] = [];
  const evalScale = !o.blockInputMasks && c.tinymem_block_input_scale ? F.constant(x.graph, c.tinymem_block_input_scale, x.dtype, [C]) : undefined;
  for (let i = 0; i < c.n_layer; i++) {
    const p = (n: string) => P[`transformer.h.${i}.${n}`]!;
    if (o.blockInputMasks?.[i]) x = F.mul(x, o.blockInputMasks[i]!);
    else if (evalScale) x = F.mul(x, evalScale);

    // attention
    const a = F.layerNorm(x, p('ln_1.weight'), p('ln_1.bias'), c.layer_norm_epsilon);
    // c_attn is fused [C, 3C]; splitting the (small) weight rather than the (large) activations avoids a strided copy.
    const [wq, wk, wv] = F.split(p('attn.c_attn.weight'), [C, C, C], 1);
    const [bq, bk, bv] = F.split(p('attn.c_attn.bias'), [C, C, C], 0);
    const [q, k, v] = [[wq, bq], [wk, bk], [wv, bv]].map(([w, b]) => heads(F.add(F.matmul(a, w!), b!))) as [Tensor, Tensor, Tensor];
    // (q·kᵀ)/√hd, with the scale folded into q (the smaller tensor)
    const y = F.reshape(F.transpose(attend(i, F.mul(q, 1 / Math.sqrt(hd)), k, v), [0, 2, 1, 3]), [B, T, C]);
    x = F.add(x, drop(F.add(F.matmul(y, p('attn.c_proj.weight')), p('attn.c_proj.bias')), o.dropout?.attn?.[i]));

    // MLP
    const m = F.layerNorm(x, p('ln_2.weight'), p('ln_2.bias'), c.layer_norm_epsilon);
    const wm = o.weightMasks?.[i];
    const fc = wm?.c_fc ? F.mul(p('mlp.c_fc.weight'), wm.c_fc) : p('mlp.c_fc.weight');
    const proj = wm?.c_proj ? F.mul(p('mlp.c_proj.weight'), wm.c_proj) : p('mlp.c_proj.weight');
    let act = ACT[c.activation_function](F.add(F.matmul(m, fc), p('mlp.c_fc.bias')));
    if (o.neuronMasks?.[i]) act = F.mul(act, o.neuronMasks[i]!);
    if (o.onActivation) act = o.onActivation(i, act);
    activations.push(act);
    x = F.add(x, drop(F.add(F.matmul(act, proj), p('mlp.c_proj.bias')), o.dropout?.mlp?.[i]));
  }
  return { hidden: F.layerNorm(x, P['transformer.ln_f.weight']!, P['transformer.ln_f.bias']!, c.layer_norm_epsilon), activations };
}

/** The language-model head: the untied lm_head when the model has one, else the token embedding. */
const lmHead = (P: Record<string, Tensor>, hidden: Tensor): Tensor => F.matmul(hidden, (P['lm_head.weight'] ?? P['transformer.wte.weight'])!, { transB: true });

/** Token plus position embeddings of int64 tokens [B, T] at positions 0 … T−1. */
function embed(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor): Tensor {
  const T = tokens.shape[1]!;
  if (T > c.n_positions) throw new Error(`sequence length ${T} exceeds the model's context n_positions = ${c.n_positions}`);
  return F.add(F.gather(P['transformer.wte.weight']!, tokens), F.slice(P['transformer.wpe.weight']!, [0], [T], [0]));
}

/** Causal self-attention over the sequence itself; records each layer's keys and values in `kv` when given. */
function causalAttend(T: number, dtype: DType, g: Graph, kv?: { k: Tensor; v: Tensor }[]): Attend {
  const mask = causalMask(g, T, dtype);
  return (_i, q, k, v) => {
    kv?.push({ k, v });
    return F.matmul(F.softmax(F.add(F.matmul(q, k, { transB: true }), mask), -1), v);
  };
}

/** Logits [B, T, V] for int64 tokens [B, T], and each layer's MLP activations [B, T, inner]. */
export function gpt2Forward(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, o: Gpt2Options = {}): { logits: Tensor; activations: Tensor[] } {
  let x = embed(c, P, tokens);
  if (o.dropout?.embd) x = F.dropout(x, o.dropout.embd, o.dropout.p);
  const { hidden, activations } = blocks(c, P, x, o, causalAttend(tokens.shape[1]!, x.dtype, tokens.graph));
  return { logits: lmHead(P, hidden), activations };
}

/** Per-layer key and value caches [B, H, capacity, hd]. */
export interface KVCache {
  k: Tensor[];
  v: Tensor[];
}

/**
 * Runs a prompt [B, T] and returns the logits of its last position [B, V] and key/value caches with room for
 * `capacity` positions (the prompt's filled in, the rest zeros).
 */
export function gpt2Prefill(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, capacity: number, o: Gpt2Options = {}): { logits: Tensor; cache: KVCache } {
  const [B, T] = tokens.shape as [number, number];
  if (capacity < T || capacity > c.n_positions) throw new Error(`cache capacity ${capacity} must lie in [${T}, n_positions = ${c.n_positions}]`);
  const kv: { k: Tensor; v: Tensor }[] = [];
  const { hidden } = blocks(c, P, embed(c, P, tokens), o, causalAttend(T, P['transformer.wte.weight']!.dtype, tokens.graph, kv));
  const last = F.reshape(F.slice(hidden, [T - 1], [T], [1]), [B, c.n_embd]);
  const grow = (t: Tensor) => F.pad(t, [0, 0, 0, 0, 0, 0, capacity - T, 0]);
  return { logits: lmHead(P, last), cache: { k: kv.map((e) => grow(e.k)), v: kv.map((e) => grow(e.v)) } };
}

/**
 * One decoding step: tokens [B, 1] at position `pos` (int64 [1]) attend to the cached positions ≤ pos. Writes this
 * step's keys and values into the caches at `pos` and returns the logits [B, V] with the updated caches.
 */
export function gpt2DecodeStep(c: Gpt2Config, P: Record<string, Tensor>, tokens: Tensor, pos: Tensor, cache: KVCache, o: Gpt2Options = {}): { logits: Tensor; cache: KVCache } {
  const g = tokens.graph;
  const B = tokens.shape[0]!;
  const capacity = cache.k[0]!.shape[2]!;
  const dtype = P['transformer.wte.weight']!.dtype;
  const x = F.add(F.gather(P['transformer.wte.weight']!, tokens), F.gather(P['transformer.wpe.weight']!, pos));
  const slots = F.constant(g, [...Array(capacity).keys()], 'int64', [1, 1, capacity, 1]);
  const here = F.cast(F.equal(slots, pos), dtype); // [1, 1, capacity, 1]: 1 at pos
  const visible = F.reshape(F.where(F.lessEqual(slots, pos), F.scalar(g, 0, dtype), F.scalar(g, MASKED, dtype)), [1, 1, 1, capacity]);
  const next: KVCache = { k: [], v: [] };
  const { hidden } = blocks(c, P, x, o, (i, q, k, v) => {
    // cache + (new − cache)·onehot(pos): writes k, v [B, H, 1, hd] into slot pos.
    const K = F.add(cache.k[i]!, F.mul(F.sub(k, cache.k[i]!), here));
    const V = F.add(cache.v[i]!, F.mul(F.sub(v, cache.v[i]!), here));
    next.k.push(K);
    next.v.push(V);
    return F.matmul(F.softmax(F.add(F.matmul(q, K, { transB: true }), visible), -1), V);
  });
  return { logits: lmHead(P, F.reshape(hidden, [B, c.n_embd])), cache: next };
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
