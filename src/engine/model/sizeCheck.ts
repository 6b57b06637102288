// Checks a model's size before anything is allocated: the parameter count a config.json describes (computed, never
// by listing a billion layers) against the machine's memory, and the weights' headers (names, shapes, dtypes) against
// the config, so a typo such as n_layer: 1000000000 or a mismatched weights file is refused at once.
import { assertFitsMemory } from '../io/machine';
import { type ModelConfig, countParams, dims, familyOf } from './architecture';
import { elementCount, type TensorHeader } from './safetensors';

const F32 = 4;

const withLayers = (c: ModelConfig, layers: number): ModelConfig => familyOf(c).withLayers(c, layers);

/** The number of parameters of `c` (per-layer count × layers + the rest), in constant time. */
export function parameterCount(c: ModelConfig): number {
  const one = countParams(withLayers(c, 1));
  const perLayer = countParams(withLayers(c, 2)) - one;
  return one - perLayer + dims(c).layers * perLayer;
}

/** The config's size fields, for messages. */
export const sizeFields = (c: ModelConfig): string => familyOf(c).sizeFields(c);

/**
 * Refuses a config whose weights alone (F32) would not fit in this machine's memory; `factor` scales the estimate
 * for work that holds more than one copy (gradients, optimizer moments).
 */
export function assertModelFits(configFile: string, c: ModelConfig, factor = 1,
  purpose = 'holding its weights in F32'): void {
  const n = parameterCount(c);
  assertFitsMemory(configFile, n * F32 * factor,
    `the model it describes (${sizeFields(c)}) has ${n.toExponential(2)} parameters; ${purpose}`,
    'check these fields in config.json (they must match the weights) or use a machine with more memory');
}

/**
 * Refuses weights whose headers hold more data than the machine's memory (as F32), before any tensor is read.
 * Names and shapes are checked against the config by the loaders, also from the headers.
 */
export function assertWeightsFit(headers: ReadonlyMap<string, TensorHeader>, weightsFile: string): void {
  let elements = 0;
  for (const h of headers.values()) elements += elementCount(h.shape);
  assertFitsMemory(weightsFile, elements * F32,
    `holding the weights' ${headers.size} tensors (${elements.toExponential(2)} values) in F32`,
    'these weights are too large for this machine; use a machine with more memory');
}
