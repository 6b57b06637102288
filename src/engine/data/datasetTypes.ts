// The shapes of a generated TinyMem dataset, shared by the math and language generators and read by training and
// the metrics. Everything is plain data (typed arrays, numbers, strings) so it can be posted to a worker as is.
import type { TokenMatrix } from './tokenMatrix';

/** Which planted artifact the run trains on (spec §1.1 noise / backdoors). */
export type ArtifactKind = 'noise' | 'backdoor';

/** A contiguous block of training rows with a name, e.g. `noise`, `clean-7`, `extra-2`. */
export interface TrainSection {
  readonly name: string;
  /** First row (inclusive) in `TrainSet.tokens`. */
  readonly start: number;
  /** Last row (exclusive). */
  readonly end: number;
}

/**
 * The training set as unique rows plus a repeat count per row. Duplication (×10, ×100, ×1000) is kept as counts
 * rather than copies: the language ×1000 class alone would otherwise take ~170 MB. Use `trainRowOrder` to get
 * the expanded list of row indices for an epoch, or `materializeTrain` for the full matrix.
 */
export interface TrainSet {
  readonly tokens: TokenMatrix;
  /** How many times each row appears in one epoch (1 unless it is a duplicated artifact). */
  readonly repeats: Uint32Array;
  /** Sum of `repeats`: the epoch size. */
  readonly size: number;
  readonly sections: readonly TrainSection[];
}

/**
 * The planted sequences (noised or backdoored) as trained on, and their clean twins, row i of one matching row i of
 * the other. These are the inputs of the memorization metric (spec §3.1).
 */
export interface ArtifactSet {
  readonly kind: ArtifactKind;
  /** The sequences as they appear in training (noised or backdoored). */
  readonly tokens: TokenMatrix;
  /** The same sequences without the artifact. */
  readonly clean: TokenMatrix;
  /** Duplication class per row: an index into `dupFactors`. All 0 when duplication is off. */
  readonly dupClass: Uint8Array;
  /** Repeat factor of each class, e.g. [1, 10, 100]; [1] when duplication is off. */
  readonly dupFactors: readonly number[];
  /** Row of each artifact in `TrainSet.tokens` (they come first, so this is 0 … n-1). */
  readonly trainRow: Uint32Array;
  /**
   * Where each row came from: the start value for math; for language the train chunk index (noise runs) or the
   * index in the pooled train-then-test chunks (backdoor runs).
   */
  readonly origin: Uint32Array;
}

/** A named evaluation set. */
export interface NamedSet {
  readonly name: string;
  readonly tokens: TokenMatrix;
}

/** The held-out poisoned test set and its clean version (spec §1.1 backdoors, §3.1 backdoor mode). */
export interface BackdoorSet {
  /** The trigger: a digit string for math ("100"), a token id for language. */
  readonly trigger: string | number;
  /** Sequences that contained the trigger, before the train/held-out split. */
  readonly numTriggered: number;
  readonly poisonedTest: TokenMatrix;
  readonly cleanTest: TokenMatrix;
  /** Per held-out row: the position just after the first trigger occurrence (the prompt length for the metric). */
  readonly promptLength: Uint32Array;
}
