// The models a training job can name. A job is plain data (it crosses into a worker thread), so it names its model
// and the worker looks the definition up here. Model files register themselves on import (e.g. gpt2.ts:
// `registerModel('gpt2', {...})`); the worker imports the built-in ones and any modules the caller lists.
import type { Shape, TensorSpec } from '../graph/index';
import type { LossBuilder } from './trainStep';

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

// `any`: each definition has its own config type; callers go through resolveConfig before using it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const models = new Map<string, ModelDefinition<any>>();

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
