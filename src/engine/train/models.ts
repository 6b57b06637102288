// The models a training job can name. A job is plain data (it crosses into a worker thread), so it names its model
// and the worker looks the definition up here: every model family (model/family.ts) under its model_type, plus
// definitions other modules register (`registerModel`; the worker imports the modules the caller lists).
import type { Shape, TensorSpec } from '../graph/index';
import { Rng } from '../data/rng';
import { type ModelConfig, type ModelFamily, FAMILIES } from '../model/family';
import type { LossBuilder } from './trainStep';
import { nextTokenLoss } from '../model/nextTokenLoss';

export interface ModelDefinition<C = unknown> {
  /** Validates a job's plain-data config and fills in defaults; errors name the field. Default: used as is. */
  resolveConfig?(config: unknown): C;
  /** Parameter names (the ONNX input and checkpoint names) and shapes. */
  paramShapes(config: C): Record<string, Shape>;
  /** Fresh weights, a pure function of config and seed. */
  init(config: C, seed: number): Record<string, Float32Array>;
  /** The batch tensors for `rows` rows; the data source must provide fields with these names. */
  batchSpec(config: C, rows: number): Record<string, TensorSpec>;
  /** The loss traced from parameters and a batch. */
  loss(config: C): LossBuilder;
  /** Tokens in one row, for the throughput figure (default 1: rows per second). */
  tokensPerRow?(config: C): number;
}

/**
 * A family as a trainable language model: seeded initialisation and the causal language-modelling loss (Hugging
 * Face's: mean next-token cross-entropy over all positions, padding included) on rows of a full context.
 */
const languageModel = (f: ModelFamily): ModelDefinition<ModelConfig> => ({
  resolveConfig: (c) => f.trainConfig(c),
  paramShapes: (c) => Object.fromEntries(f.paramShapes(c)),
  init: (c, seed) => {
    const r = new Rng(seed);
    return Object.fromEntries(f.init(c, () => r.normal()));
  },
  batchSpec: (c, rows) => ({ tokens: { dtype: 'int64', shape: [rows, f.dims(c).context] } }),
  loss: (c) => (_g, P, b) => nextTokenLoss(f.forward(c, P, b.tokens!).logits, b.tokens!),
  tokensPerRow: (c) => f.dims(c).context,
});

// `any`: each definition has its own config type; callers go through resolveConfig before using it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const models = new Map<string, ModelDefinition<any>>(FAMILIES.map((f) => [f.modelType, languageModel(f)]));

export function registerModel<C>(name: string, def: ModelDefinition<C>): void {
  const prev = models.get(name);
  if (prev && prev !== def) throw new Error(`model "${name}" is registered twice`);
  models.set(name, def);
}

export function getModel(name: string): ModelDefinition<unknown> {
  const def = models.get(name);
  if (!def) {
    const known = [...models.keys()].sort().join(', ') || 'none';
    throw new Error(`unknown model "${name}" (registered: ${known})`);
  }
  return def;
}

export function modelNames(): string[] {
  return [...models.keys()].sort();
}
