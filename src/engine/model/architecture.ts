// The one interface the metrics and mitigation methods see, so they run on every supported model family: GPT-2
// (TinyMem and Hugging Face GPT2LMHeadModel) and GPT-NeoX (Pythia). A config says which family it is: NeoX configs
// carry model_type "gpt_neox"; a config without it is GPT-2 (TinyMem's own configs have no model_type).
//
// MLP conventions the methods rely on:
//   up    the input projection (GPT-2 mlp.c_fc, NeoX mlp.dense_h_to_4h); neuron i's input weights
//   down  the output projection (GPT-2 mlp.c_proj, NeoX mlp.dense_4h_to_h); neuron i's output weights
//   layout 'in_out': weights stored [in, out] (GPT-2 Conv1D): neuron i is up's column i and down's row i;
//          'out_in': weights stored [out, in] (torch Linear, NeoX): neuron i is up's row i and down's column i.
import type { DType, Graph, Tensor } from '../graph/index';
import {
  type Gpt2Config, type KVCache, declareGpt2Params, gpt2DecodeStep, gpt2Forward, gpt2ParamShapes, gpt2Prefill, mlpWidth as gpt2MlpWidth,
} from './gpt2';
import { type NeoxConfig, declareNeoxParams, neoxDecodeStep, neoxForward, neoxParamShapes, neoxPrefill } from './gptNeox';

export type { KVCache } from './gpt2';
export { nextTokenTargets } from './gpt2';

export type ModelConfig = Gpt2Config | NeoxConfig;
export type ModelType = 'gpt2' | 'gpt_neox';
export const SUPPORTED_MODEL_TYPES: readonly ModelType[] = ['gpt2', 'gpt_neox'];

export const isNeox = (c: ModelConfig): c is NeoxConfig => (c as Partial<NeoxConfig>).model_type === 'gpt_neox';
export const modelTypeOf = (c: ModelConfig): ModelType => (isNeox(c) ? 'gpt_neox' : 'gpt2');

/** Hooks every model implements (the subset of gpt2.ts's options the methods use). */
export interface ModelOptions {
  /** Multiplies layer i's MLP activations [inner]. */
  neuronMasks?: (Tensor | undefined)[];
  /** Elementwise masks on layer i's up/down MLP weights, in the weight's stored shape. */
  weightMasks?: ({ up?: Tensor; down?: Tensor } | undefined)[];
  /** Sees (and may replace) each layer's MLP activations. */
  onActivation?: (layer: number, act: Tensor) => Tensor;
}

/** Sizes under one set of names, whatever the config calls them. */
export interface ModelDims {
  layers: number;
  hidden: number;
  heads: number;
  inner: number;
  vocab: number;
  /** The longest sequence the model takes. */
  context: number;
}

export function dims(c: ModelConfig): ModelDims {
  if (isNeox(c)) {
    return { layers: c.num_hidden_layers, hidden: c.hidden_size, heads: c.num_attention_heads, inner: c.intermediate_size, vocab: c.vocab_size, context: c.max_position_embeddings };
  }
  return { layers: c.n_layer, hidden: c.n_embd, heads: c.n_head, inner: gpt2MlpWidth(c), vocab: c.vocab_size, context: c.n_positions };
}

export const mlpWidth = (c: ModelConfig): number => dims(c).inner;

/** The config field that holds the context length, for messages ("n_positions = 1024"). */
export const contextField = (c: ModelConfig): string => `${isNeox(c) ? 'max_position_embeddings' : 'n_positions'} = ${dims(c).context}`;

export interface MlpNames {
  up: string;
  upBias: string;
  down: string;
  downBias: string;
}

export function mlpNames(c: ModelConfig, layer: number): MlpNames {
  if (isNeox(c)) {
    const h = `gpt_neox.layers.${layer}.mlp.`;
    return { up: h + 'dense_h_to_4h.weight', upBias: h + 'dense_h_to_4h.bias', down: h + 'dense_4h_to_h.weight', downBias: h + 'dense_4h_to_h.bias' };
  }
  const h = `transformer.h.${layer}.mlp.`;
  return { up: h + 'c_fc.weight', upBias: h + 'c_fc.bias', down: h + 'c_proj.weight', downBias: h + 'c_proj.bias' };
}

export type MatrixLayout = 'in_out' | 'out_in';
export const mlpLayout = (c: ModelConfig): MatrixLayout => (isNeox(c) ? 'out_in' : 'in_out');

/** Every MLP tensor name (up/down weights and biases) of either family: the tensors weight methods may edit. */
export const isMlpTensor = (name: string): boolean => /\.mlp\.(c_fc|c_proj|dense_h_to_4h|dense_4h_to_h)\.(weight|bias)$/.test(name);

/** Every layer's up and down weight matrices with their stored shapes (the matrices Subnet methods score). */
export function mlpMatrices(c: ModelConfig): { name: string; layer: number; role: 'up' | 'down'; shape: [number, number] }[] {
  const shapes = new Map(paramShapes(c));
  const out: { name: string; layer: number; role: 'up' | 'down'; shape: [number, number] }[] = [];
  for (let l = 0; l < dims(c).layers; l++) {
    const n = mlpNames(c, l);
    out.push({ name: n.up, layer: l, role: 'up', shape: shapes.get(n.up) as [number, number] });
    out.push({ name: n.down, layer: l, role: 'down', shape: shapes.get(n.down) as [number, number] });
  }
  return out;
}

/** Flat indices of neuron i's input weights in the up matrix (hidden × inner values). */
export function upWeightIndices(c: ModelConfig, i: number): number[] {
  const { hidden: C, inner } = dims(c);
  return mlpLayout(c) === 'in_out' ? Array.from({ length: C }, (_, r) => r * inner + i) : Array.from({ length: C }, (_, j) => i * C + j);
}

/** L2 norm of each neuron's output weights (what it writes into the residual stream), from the down matrix. */
export function downWeightNorms(c: ModelConfig, down: Float32Array): Float64Array {
  const { hidden: C, inner } = dims(c);
  const sq = new Float64Array(inner);
  if (mlpLayout(c) === 'in_out') for (let i = 0; i < inner; i++) for (let j = 0; j < C; j++) sq[i] += down[i * C + j]! ** 2;
  else for (let j = 0; j < C; j++) for (let i = 0; i < inner; i++) sq[i] += down[j * inner + i]! ** 2;
  return sq.map(Math.sqrt);
}

/** The token-embedding tensor's name (its dtype is the model's). */
export const embeddingName = (c: ModelConfig): string => (isNeox(c) ? 'gpt_neox.embed_in.weight' : 'transformer.wte.weight');

export function paramShapes(c: ModelConfig): [string, number[]][] {
  return isNeox(c) ? neoxParamShapes(c) : gpt2ParamShapes(c);
}

export const countParams = (c: ModelConfig): number => paramShapes(c).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);

/** Declares every parameter as a graph input (trainable tensors are inputs, never initializers). */
export function declareParams(g: Graph, c: ModelConfig, dtype: DType = 'float32'): Record<string, Tensor> {
  return isNeox(c) ? declareNeoxParams(g, c, dtype) : declareGpt2Params(g, c, dtype);
}

const gpt2Options = (o: ModelOptions) => ({
  neuronMasks: o.neuronMasks,
  onActivation: o.onActivation,
  weightMasks: o.weightMasks?.map((m) => (m ? { c_fc: m.up, c_proj: m.down } : undefined)),
});

/** Logits [B, T, V] for int64 tokens [B, T], and each layer's MLP activations [B, T, inner]. */
export function modelForward(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor, o: ModelOptions = {}): { logits: Tensor; activations: Tensor[] } {
  return isNeox(c) ? neoxForward(c, P, tokens, o) : gpt2Forward(c, P, tokens, gpt2Options(o));
}

/** Runs a prompt: last-position logits [B, V] and key/value caches with room for `capacity` positions. */
export function modelPrefill(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor, capacity: number, o: ModelOptions = {}): { logits: Tensor; cache: KVCache } {
  return isNeox(c) ? neoxPrefill(c, P, tokens, capacity, o) : gpt2Prefill(c, P, tokens, capacity, gpt2Options(o));
}

/** One decoding step of tokens [B, 1] at position `pos` (int64 [1]) against the caches. */
export function modelDecodeStep(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor, pos: Tensor, cache: KVCache, o: ModelOptions = {}): { logits: Tensor; cache: KVCache } {
  return isNeox(c) ? neoxDecodeStep(c, P, tokens, pos, cache, o) : gpt2DecodeStep(c, P, tokens, pos, cache, gpt2Options(o));
}

/** A cache key for compiled sessions: equal configs compile to equal graphs. */
export const configKey = (c: ModelConfig): string => JSON.stringify(c);
