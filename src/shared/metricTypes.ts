// The results of evaluating a model (spec §3): memorization, backdoor success, accuracy, perplexity and the
// memorization heatmap. Plain JSON data only (numbers, strings, arrays; `null` where a value is undefined, never
// NaN), because the renderer draws them and notebooks store them. Nothing here imports the engine.

/** How a value is shown: percentages are 0–100, perplexities are ≥ 1, counts are integers. */
export type MetricUnit = 'percent' | 'perplexity' | 'count';

/** One metric as users see it in a table: a short label, its value and a one-line description. */
export interface MetricValue {
  /** Stable id, e.g. `memorization`, `accuracy.paper`, `accuracy.noPad.main-7`. */
  readonly id: string;
  readonly label: string;
  /** null when undefined, e.g. a percentage of zero evaluated sequences. */
  readonly value: number | null;
  readonly unit: MetricUnit;
  readonly description: string;
  /** The few numbers to show first; the rest are per-set or per-class details. */
  readonly headline: boolean;
}

// ---- memorization (spec §3.1) -----------------------------------------------------------------------------------

export interface MemorizationCounts {
  /** Sequences given. */
  readonly rows: number;
  /** Sequences that passed the noise filter (the denominator). */
  readonly kept: number;
  /** Kept sequences whose greedy continuation exactly equals the noised/backdoored continuation. */
  readonly memorized: number;
  /** Kept sequences whose greedy continuation exactly equals the clean continuation (`perc_not_mem_correct_out`). */
  readonly cleanCorrect: number;
  /** 100 · memorized / kept; null when nothing was kept. */
  readonly percentMemorized: number | null;
  /** 100 · cleanCorrect / kept; null when nothing was kept. */
  readonly percentCleanCorrect: number | null;
}

export interface DupClassCounts extends MemorizationCounts {
  /** Index of the duplication class (`perc_mem_<dupClass>`). */
  readonly dupClass: number;
  /** How often the class is repeated in training (1, 10, 100, 1000). */
  readonly factor: number;
}

export interface MemorizationResult {
  /** `noise`: training artifacts vs. their clean twins; `backdoor`: held-out poisoned test set (attack success). */
  readonly mode: 'noise' | 'backdoor';
  /** Which rows `forgetSet` and the heatmap index: the artifact set or the held-out poisoned test set. */
  readonly source: 'artifacts' | 'backdoor-poisoned';
  /** Prompt length in tokens; null in backdoor mode, where each row is prompted up to and including its trigger. */
  readonly promptLength: number | null;
  /** Tokens compared after the prompt (fewer where the context ends first). */
  readonly k: number;
  /** [start, end): a row is kept only if its artifact and clean versions differ somewhere in this window. */
  readonly filterWindow: readonly [number, number] | null;
  /**
   * The paper's number: the mean of the per-class percentages over classes with kept rows (`avg_perc_mem`); with
   * one class (no duplication) it equals `pooled.percentMemorized`.
   */
  readonly percentMemorized: number | null;
  /** The same mean for the clean-continuation rate. */
  readonly percentCleanCorrect: number | null;
  /** All rows together. */
  readonly pooled: MemorizationCounts;
  readonly byClass: readonly DupClassCounts[];
  /** Memorized rows (ascending indices into `source`): the unlearning forget set. */
  readonly forgetSet: readonly number[];
  /**
   * Token that the reference's generation can never emit (Hugging Face `min_length = max_ctx` suppresses EOS), so a
   * target window holding it never counts as matched; null when not applied.
   */
  readonly unmatchableToken: number | null;
}

// ---- accuracy (spec §3.2) ---------------------------------------------------------------------------------------

export interface AccuracyValue {
  /** Percent of all next-token positions (padding included), averaged over batches as the paper does. */
  readonly paper: number | null;
  /** Percent of next-token positions whose target is not padding. */
  readonly noPad: number | null;
  readonly correct: number;
  readonly total: number;
  readonly correctNoPad: number;
  readonly totalNoPad: number;
}

export interface NamedAccuracy extends AccuracyValue {
  readonly set: string;
}

export interface AccuracyResult {
  /** Mean of the per-set `paper` accuracies over `averagedSets` (`avg_acc`). */
  readonly paper: number | null;
  /** Mean of the per-set `noPad` accuracies over `averagedSets`. */
  readonly noPad: number | null;
  readonly averagedSets: readonly string[];
  readonly padToken: number;
  readonly sets: readonly NamedAccuracy[];
}

// ---- perplexity (spec §3.3) -------------------------------------------------------------------------------------

export interface PerplexityValue {
  /** The paper's number: mean over batches of exp(mean token cross-entropy of the batch). */
  readonly paper: number | null;
  /** exp(mean token cross-entropy over all tokens). */
  readonly expMeanLoss: number | null;
  /** Mean token cross-entropy (nats). */
  readonly meanLoss: number | null;
  readonly tokens: number;
  readonly batches: number;
  readonly batchSize: number;
}

export interface NamedPerplexity extends PerplexityValue {
  /** A test set name, or `artifacts-noised` / `artifacts-clean` (the noise set and its clean twins). */
  readonly set: string;
  /** Set for the per-duplication-class rows of the artifact sets. */
  readonly dupClass?: number;
}

export interface PerplexityResult {
  readonly sets: readonly NamedPerplexity[];
}

// ---- heatmap ----------------------------------------------------------------------------------------------------

/** Bits of `HeatmapRow.flags`, one value per compared position. */
export const HEATMAP_MATCH = 1; // generated token equals the artifact (noised/backdoored) token
export const HEATMAP_NOISED = 2; // the artifact token differs from the clean token here
export const HEATMAP_CLEAN = 4; // generated token equals the clean token

export interface HeatmapRow {
  /** Index into the source matrix (artifact set or poisoned test set). */
  readonly row: number;
  readonly dupClass: number;
  readonly memorized: boolean;
  readonly cleanCorrect: boolean;
  /** The prompt fed to the model (clean tokens). */
  readonly prompt: readonly number[];
  /** The artifact's continuation after the prompt. */
  readonly target: readonly number[];
  /** The clean continuation after the prompt. */
  readonly clean: readonly number[];
  /** What the model generated greedily (same length as target). */
  readonly generated: readonly number[];
  /** Per compared position: HEATMAP_MATCH | HEATMAP_NOISED | HEATMAP_CLEAN bits. */
  readonly flags: readonly number[];
}

export type HeatmapMode = 'noise' | 'backdoor' | 'sequences';

export interface HeatmapPayload {
  /** noise / backdoor: TinyMem artifacts; sequences: a user's memorized-sequence set (every position is checked). */
  readonly mode: HeatmapMode;
  /** How to show token ids: math digits/symbols or GPT-2 BPE. */
  readonly tokenizer: 'math' | 'gpt2';
  /** Tokens compared per row (columns of the heatmap); rows whose prompt ends near the context end compare fewer. */
  readonly k: number;
  /** Evaluated (kept) rows in total; `rows` holds at most the cap of them. */
  readonly evaluatedRows: number;
  readonly truncated: boolean;
  readonly dupFactors: readonly number[];
  readonly rows: readonly HeatmapRow[];
}

// ---- the whole evaluation ---------------------------------------------------------------------------------------

export interface EvaluationResult {
  /** TinyMem data, or `sequences`: a user's memorized-sequence set and text (perplexity set `text`). */
  readonly dataset: 'math' | 'language' | 'sequences';
  /** TinyMem data only. */
  readonly artifact?: 'noise' | 'backdoor';
  /** Execution provider that ran the model ('' when nothing ran). */
  readonly provider: string;
  /** Every metric as a labelled, described value, headline ones first. */
  readonly metrics: readonly MetricValue[];
  /** Noise runs: memorization of the artifacts; backdoor runs: attack success on the held-out poisoned set. */
  readonly memorization: MemorizationResult | null;
  readonly accuracy: AccuracyResult | null;
  readonly perplexity: PerplexityResult | null;
  readonly heatmap: HeatmapPayload | null;
  /** Wall-clock seconds of the whole evaluation. */
  readonly seconds: number;
}
