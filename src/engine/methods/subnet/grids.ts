// Hyper-parameter specs shared by Subnet and BalancedSubnet: the paper's sweep grids (spec §4.C).
import type { HyperParamSpec } from '../../../shared/methodTypes';

/** Subnet and BalancedSubnet ratios: the weight-method grid {1e-5 … 0.05} plus {0.1, 0.25, 0.3, 0.5, 0.8}. */
export const RATIO_GRID = [1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.3, 0.5, 0.8];

/** Epochs over the loader; the grid of the latest sweep ({1, 10, 30} in an older one). */
export const EPOCHS_PARAM: HyperParamSpec = {
  name: 'epochs',
  type: 'integer',
  default: 10,
  min: 0,
  max: 1000,
  grid: [1, 10, 20],
  description: 'Passes over the training loader (0 keeps the random initial mask).',
};
