// What the UI and the CLI know about mitigation methods: plain data read from the engine's registry.

/**
 * regularizer: applied while training from scratch; fine-tune: continued training on chosen data;
 * neuron / weight: unlearning that ablates MLP neurons or individual weights; baseline: gradient-ascent baselines.
 */
export type MethodFamily = 'regularizer' | 'fine-tune' | 'neuron' | 'weight' | 'baseline';

export type HyperValue = number | boolean | string;

export interface HyperParamSpec {
  name: string;
  type: 'number' | 'integer' | 'boolean' | 'choice';
  /** The paper's default. */
  default: HyperValue;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Allowed values of a choice. */
  choices?: string[];
  /** The values the paper swept (spec §4.C), used by `tinymem compare --grid`. */
  grid?: HyperValue[];
  /** One line shown next to the field. */
  description: string;
}

export interface MethodInfo {
  /** Stable id used on the command line and in notebooks, e.g. `balanced-subnet`. */
  id: string;
  /** The paper's name, e.g. "BalancedSubnet". */
  name: string;
  family: MethodFamily;
  /** One line. */
  description: string;
  /** Which tensors the method may change, in words (e.g. "MLP c_fc and c_proj weights"). */
  edits: string;
  /** New in the paper (as opposed to prior work or a baseline). */
  novel: boolean;
  hyperParams: HyperParamSpec[];
}

export interface MethodProgress {
  stage: string;
  done: number;
  total: number;
  /** The method's objective at this point, when it has one. */
  loss?: number;
}

/** What an edit pruned in one tensor. */
export interface PrunedTensor {
  tensor: string;
  shape: number[];
  /** Entries set to zero (or neurons ablated, for neuron methods: counted in neurons). */
  pruned: number;
  total: number;
}
