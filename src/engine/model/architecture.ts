// The one interface the metrics and mitigation methods see, so they run on every supported model family: each
// function looks up the config's family (family.ts) and asks it.
import type { DType, Graph, Tensor } from '../graph/index';
import type { KVCache } from './attention';
import type { MatrixLayout, MlpNames, ModelConfig, ModelDims, ModelOptions } from './family';
import { FAMILIES, familyOf } from './family';

export type { KVCache } from './attention';
export { nextTokenTargets } from './gpt2';
export type { ModelConfig, ModelDims, ModelOptions, ModelType, MlpNames, MatrixLayout } from './family';
export { familyOf } from './family';

export const dims = (c: ModelConfig): ModelDims => familyOf(c).dims(c);

/** The config field that holds the context length, for messages ("n_positions = 1024"). */
export const contextField = (c: ModelConfig): string => `${familyOf(c).contextField} = ${dims(c).context}`;

export const mlpNames = (c: ModelConfig, layer: number): MlpNames => familyOf(c).mlp.names(layer);
export const mlpLayout = (c: ModelConfig): MatrixLayout => familyOf(c).mlp.layout;

/** Every MLP tensor name (up/down weights and biases) of any family: the tensors weight methods may edit. */
export const isMlpTensor = (name: string): boolean => FAMILIES.some((f) => f.mlp.tensor.test(name));

/** Every layer's up and down weight matrices with their stored shapes (the matrices Subnet methods score). */
export function mlpMatrices(c: ModelConfig): { name: string; layer: number; role: 'up' | 'down';
  shape: [number, number]; }[] {
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
  return mlpLayout(c) === 'in_out' ? Array.from({ length: C }, (_, r) => r * inner + i)
    : Array.from({ length: C }, (_, j) => i * C + j);
}

/** L2 norm of each neuron's output weights (what it writes into the residual stream), from the down matrix. */
export function downWeightNorms(c: ModelConfig, down: Float32Array): Float64Array {
  const { hidden: C, inner } = dims(c);
  const sq = new Float64Array(inner);
  if (mlpLayout(c) === 'in_out') for (let i = 0; i < inner; i++) for (let j = 0; j < C; j++) sq[i] += down[i * C
    + j]! ** 2;
  else for (let j = 0; j < C; j++) for (let i = 0; i < inner; i++) sq[i] += down[j * inner + i]! ** 2;
  return sq.map(Math.sqrt);
}

export const paramShapes = (c: ModelConfig): [string, number[]][] => familyOf(c).paramShapes(c);

export const countParams = (c: ModelConfig): number =>
  paramShapes(c).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0);

/** Declares every parameter as a graph input (trainable tensors are inputs, never initializers). */
export function declareParams(g: Graph, c: ModelConfig, dtype: DType = 'float32'): Record<string, Tensor> {
  return Object.fromEntries(paramShapes(c).map(([name, shape]) => [name, g.input(name, dtype, shape)]));
}

/** Logits [B, T, V] for int64 tokens [B, T], and each layer's MLP activations [B, T, inner]. */
export function modelForward(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor, o: ModelOptions = {}): {
  logits: Tensor; activations: Tensor[]; } {
  return familyOf(c).forward(c, P, tokens, o);
}

/** Runs a prompt: last-position logits [B, V] and key/value caches with room for `capacity` positions. */
export function modelPrefill(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor, capacity: number,
  o: ModelOptions = {}): { logits: Tensor; cache: KVCache } {
  return familyOf(c).prefill(c, P, tokens, capacity, o);
}

/** One decoding step of tokens [B, 1] at position `pos` (int64 [1]) against the caches. */
export function modelDecodeStep(c: ModelConfig, P: Record<string, Tensor>, tokens: Tensor, pos: Tensor, cache: KVCache,
  o: ModelOptions = {}): { logits: Tensor; cache: KVCache } {
  return familyOf(c).decodeStep(c, P, tokens, pos, cache, o);
}

/** A cache key for compiled sessions: equal configs compile to equal graphs. */
export const configKey = (c: ModelConfig): string => JSON.stringify(c);
