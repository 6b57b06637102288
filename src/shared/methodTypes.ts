// What the UI and the CLI know about mitigation methods: plain data read from the engine's registry, and the check of
// hyper-parameter values against their specs (the engine and the command palette's input boxes both run it).
import { showValue } from './showValue';
import { UserError, under, userError } from './userError';

/**
 * regularizer: applied while training from scratch; fine-tune: continued training on chosen data;
 * neuron / weight: unlearning that ablates MLP neurons or individual weights; baseline: gradient-ascent baselines.
 */
export type MethodFamily = 'regularizer' | 'fine-tune' | 'neuron' | 'weight' | 'baseline';

export type HyperValue = number | boolean | string;

export interface HyperParamSpec {
  name: string;
  type: 'number' | 'integer' | 'boolean' | 'choice';
  /**
   * Our default. Where the paper used one value it is `paper`; where it differs, the description says why (e.g.
   * "our default (tuned on …)").
   */
  default: HyperValue;
  /**
   * The paper's value where the reference used one (its default or a fixed value; spec §4). Absent where the paper
   * swept the parameter (see `grid`) and for methods that are not in the paper (the gradient-ascent baselines).
   */
  paper?: HyperValue;
  /** Inclusive bounds for numbers. */
  min?: number;
  max?: number;
  /** Allowed values of a choice. */
  choices?: string[];
  /**
   * The values the paper swept (spec §4), used by `tinymem compare --grid` and sweeps with `grid: paper`. Absent for
   * a parameter the paper held fixed. For the baselines (not in the paper), our own sweep, which their descriptions
   * say.
   */
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

function checkValue(spec: HyperParamSpec, v: HyperValue): HyperValue {
  const bad = (message: string) => userError(spec.name, message);
  switch (spec.type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw bad(`expected true or false, got ${showValue(v)}`);
      return v;
    case 'choice':
      if (typeof v !== 'string' || !spec.choices!.includes(v)) {
        throw bad(`expected one of ${spec.choices!.join(', ')}, got ${showValue(v)}`);
      }
      return v;
    default: {
      if (typeof v !== 'number' || !Number.isFinite(v) || (spec.type === 'integer' && !Number.isInteger(v))) {
        throw bad(`expected ${spec.type === 'integer' ? 'an integer' : 'a number'}, got ${showValue(v)}`);
      }
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        throw bad(`${v} is out of range [${spec.min ?? '-∞'}, ${spec.max ?? '∞'}] (default ${spec.default})`);
      }
      return v;
    }
  }
}

/** Fills in defaults and validates the given values; string values (from a command line) are parsed. */
export function resolveHyperParams(m: MethodInfo,
  given: Record<string, HyperValue | string> = {}): Record<string, HyperValue> {
  const out: Record<string, HyperValue> = {};
  for (const k of Object.keys(given)) {
    if (!m.hyperParams.some((h) => h.name === k)) {
      const known = m.hyperParams.map((h) => h.name).join(', ') || 'none';
      throw userError(m.id, `unknown hyper-parameter "${k}"; it has ${known}`);
    }
  }
  for (const spec of m.hyperParams) {
    let v = given[spec.name] ?? spec.default;
    if (typeof v === 'string' && spec.type !== 'choice') {
      v = spec.type === 'boolean' ? v === 'true' ? true : v === 'false' ? false : v : Number(v.trim() === '' ? NaN : v);
    }
    try {
      out[spec.name] = checkValue(spec, v);
    } catch (e) {
      throw e instanceof UserError ? under(`${m.id}: `, e) : e;
    }
  }
  return out;
}
