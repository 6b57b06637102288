// The interface every unlearning method implements (one file per method, registered in registry.ts).
import type { TokenMatrix } from '../data/tokenMatrix';
import type { Gpt2Config } from '../model/gpt2';
import type { Runtime } from '../runtime/session';
import type { HyperValue, MethodInfo, MethodProgress } from '../../shared/methodTypes';

export type Params = Map<string, Float32Array>;

export interface UnlearnContext {
  runtime: Runtime;
  config: Gpt2Config;
  /** The model to edit. Never mutated: methods copy what they change. */
  params: Params;
  /** The sequences to forget (the memorized ones), rows × context. */
  forget: TokenMatrix;
  /** Sequences whose behaviour to keep (clean training data); methods that do not use it ignore it. */
  retain: TokenMatrix;
  /** Prompt length of the memorization metric (50 for TinyMem, 32 for Pythia): where the memorized suffix starts. */
  promptLength: number;
  /** Hyper-parameters, already validated and with defaults filled in. */
  hp: Record<string, HyperValue>;
  seed: number;
  onProgress?(p: MethodProgress): void;
  /** Checked between steps; when aborted the method throws the signal's reason. */
  signal?: AbortSignal;
  /** Upper bound for large intermediate buffers (integrated gradients, Fisher blocks), in bytes. */
  memoryBudget?: number;
}

export interface UnlearnResult {
  /** The edited model (every tensor; unchanged ones may be the same arrays as the input). */
  params: Params;
  /**
   * Per edited tensor, what was pruned: 0 = pruned, 1 = kept, same length as the tensor. Neuron methods give the
   * c_fc weight and bias masks of the ablated neurons. Baselines that change values without pruning give none.
   */
  masks: Map<string, Uint8Array>;
  /** Extra facts worth reporting (e.g. neurons per layer). */
  notes?: string[];
}

export interface UnlearningMethod extends MethodInfo {
  family: 'neuron' | 'weight' | 'baseline';
  /** Whether `retain` is used (Greedy, BalancedSubnet, the gradient-difference and KL baselines). */
  usesRetain: boolean;
  run(ctx: UnlearnContext): Promise<UnlearnResult>;
}
