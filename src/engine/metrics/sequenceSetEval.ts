// Measuring a pretrained model (a Hugging Face folder) the way the paper measures Pythia (spec §6): % of a
// memorized-sequence set that greedy decoding still reproduces (prompt 32, exact match on the next 40), and
// perplexity on user text in 80-token chunks, batches of 32, mean over batches of exp(batch-mean CE).
import type { TokenMatrix } from '../data/tokenMatrix';
import { MEMPI_CONTINUATION_LENGTH, MEMPI_PROMPT_LENGTH } from '../data/memorizedSequences';
import { type ModelConfig, dims } from '../model/architecture';
import type { Runtime } from '../runtime/session';
import type { MemorizationResult, MetricValue, PerplexityValue } from '../../shared/metricTypes';
import { measureMemorization, throwIfAborted } from './memorization';
import { perplexityFromTokenLosses } from './perplexity';
import type { Params } from './score';
import { teacherForced } from './teacherForced';

/** The Pythia perplexity batch (spec §6: 51 batches of 32). */
export const PYTHIA_PERPLEXITY_BATCH = 32;

export interface SequenceSetEvalOptions {
  promptLength?: number;
  continuationLength?: number;
  /** Token that greedy decoding never emits (EOS, as generate(min_length = max_length) does); null: none. */
  suppressToken?: number | null;
  /** Prompts per generation run (default: sized to the vocabulary). */
  batch?: number;
  perplexityBatch?: number;
  signal?: AbortSignal;
  onProgress?(p: { stage: string; done: number; total: number }): void;
}

export interface SequenceSetEvaluation {
  memorization: MemorizationResult | null;
  perplexity: PerplexityValue | null;
  metrics: MetricValue[];
  seconds: number;
  provider: string;
}

/** Memorization of `sequences` and perplexity on `text` (either may be absent). */
export async function evaluateSequenceSets(
  rt: Runtime,
  c: ModelConfig,
  params: Params,
  sets: { sequences?: TokenMatrix; text?: TokenMatrix },
  o: SequenceSetEvalOptions = {},
): Promise<SequenceSetEvaluation> {
  const t0 = performance.now();
  const p = o.promptLength ?? MEMPI_PROMPT_LENGTH;
  const k = o.continuationLength ?? MEMPI_CONTINUATION_LENGTH;
  let provider = '';
  let memorization: MemorizationResult | null = null;
  if (sets.sequences) {
    const s = sets.sequences;
    const batch = o.batch ?? Math.max(1, Math.min(64, Math.floor(2 ** 27 / ((p + k) * dims(c).vocab))));
    const m = await measureMemorization(rt, c, params, { tokens: s, clean: s }, {
      promptLength: p, k, filter: false, batch, unmatchableToken: o.suppressToken ?? null, signal: o.signal,
      onProgress: (done, total) => o.onProgress?.({ stage: 'memorization', done, total }),
    });
    memorization = m.result;
    provider = m.provider || provider;
  }
  let perplexity: PerplexityValue | null = null;
  if (sets.text) {
    throwIfAborted(o.signal);
    const m = sets.text;
    const tf = await teacherForced(rt, c, params, m, { signal: o.signal, onBatch: (done) => o.onProgress?.({ stage: 'perplexity', done, total: m.rows }) });
    provider = tf.provider || provider;
    // The T − 1 next-token losses of each row (the last column has no next token).
    const T1 = m.cols - 1;
    const losses = new Float32Array(m.rows * T1);
    for (let r = 0; r < m.rows; r++) losses.set(tf.losses.subarray(r * m.cols, r * m.cols + T1), r * T1);
    perplexity = perplexityFromTokenLosses({ rows: m.rows, cols: T1, data: losses }, o.perplexityBatch ?? PYTHIA_PERPLEXITY_BATCH);
  }
  const metrics: MetricValue[] = [];
  if (memorization) {
    metrics.push(
      { id: 'memorization', label: 'memorization %', value: memorization.percentMemorized, unit: 'percent', headline: true, description: `share of the ${memorization.pooled.rows} sequences whose greedy continuation of the first ${p} tokens reproduces the next ${memorization.k} exactly` },
      { id: 'memorization.count', label: 'memorized sequences', value: memorization.pooled.memorized, unit: 'count', headline: true, description: 'sequences memorized (the forget set)' },
    );
  }
  if (perplexity) {
    metrics.push(
      { id: 'perplexity.paper', label: 'perplexity', value: perplexity.paper, unit: 'perplexity', headline: true, description: `mean over batches of ${perplexity.batchSize} of exp(batch-mean token cross-entropy), ${perplexity.tokens} tokens` },
      { id: 'perplexity.expMeanLoss', label: 'perplexity (exp mean loss)', value: perplexity.expMeanLoss, unit: 'perplexity', headline: false, description: 'exp of the mean token cross-entropy over all tokens' },
    );
  }
  return { memorization, perplexity, metrics, seconds: (performance.now() - t0) / 1000, provider };
}
