// Hyper-parameter specs that several methods share.
import type { HyperParamSpec } from '../../../shared/methodTypes';

/** The pruning ratio: a fraction in [0, 1], with the paper's sweep values and what it counts for this method. */
export function ratioParam(defaultValue: number, grid: number[], description: string): HyperParamSpec {
  return { name: 'ratio', type: 'number', default: defaultValue, min: 0, max: 1, grid, description };
}

/** The ratio grid of the weight-level methods (spec §4.C). */
export const WEIGHT_RATIO_GRID = [1e-5, 1e-4, 1e-3, 0.01, 0.05];

/** Sequences per batch (the weight methods' `batchSize`): a value the paper held fixed (`paper`), not swept. */
export function batchSizeParam(defaultValue: number, description: string, paper = defaultValue): HyperParamSpec {
  return { name: 'batchSize', type: 'integer', default: defaultValue, min: 1, max: 65536, paper, description };
}
