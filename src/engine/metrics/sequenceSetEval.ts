// Measuring a model on a user's sets the way the paper measures Pythia (spec §6): % of a memorized-sequence set that
// greedy decoding still reproduces (prompt 32, exact match on the next 40), and perplexity on user text in 80-token
// chunks, batches of 32, mean over batches of exp(batch-mean CE). `evaluate` calls this for `sequences` data.
import { type TokenMatrix } from '../data/tokenMatrix';
import { type ModelConfig, dims } from '../model/architecture';
import type { Runtime } from '../runtime/session';
import {
  HEATMAP_MATCH, HEATMAP_NOISED, type EvaluationResult, type HeatmapPayload, type MemorizationResult, type MetricValue,
  type PerplexityValue,
} from '../../shared/metricTypes';
import type { EvaluateOptions } from './evaluate';
import { buildHeatmap } from './heatmap';
import { type MeasuredMemorization, measureMemorization, throwIfAborted } from './memorization';
import { perplexityFromTokenLosses } from './perplexity';
import type { Params } from './score';
import { teacherForced } from './teacherForced';

/** The Pythia perplexity batch (spec §6: 51 batches of 32). */
export const PYTHIA_PERPLEXITY_BATCH = 32;
/** Rows of the heatmap: memorized ones first (what an edit should change), then others for contrast. */
export const HF_HEATMAP_MEMORIZED_ROWS = 32;
export const HF_HEATMAP_OTHER_ROWS = 16;

/** A user's sets, checked against the model: what `evaluate` measures for `sequences` data. */
export interface SequenceSetData {
  readonly kind: 'sequences';
  readonly sequences: TokenMatrix | null;
  readonly text: TokenMatrix | null;
  readonly promptLength: number;
  readonly continuationLength: number;
  /** Token that greedy decoding never emits (EOS, as generate(min_length = max_length) does); null: none. */
  readonly eos: number | null;
}

const spreadOf = (xs: readonly number[], n: number): number[] =>
  xs.length <= n ? [...xs] : Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]!);

/** The rows the heatmap shows: some memorized sequences and some others, ascending. */
export function heatmapRows(total: number, forgetSet: readonly number[]): number[] {
  const memorized = new Set(forgetSet);
  const others = Array.from({ length: total }, (_, r) => r).filter((r) => !memorized.has(r));
  const rows = [...spreadOf(forgetSet, HF_HEATMAP_MEMORIZED_ROWS), ...spreadOf(others, HF_HEATMAP_OTHER_ROWS)];
  return rows.sort((a, b) => a - b);
}

/**
 * The heatmap of `rows` of the set. A sequence set has no clean twin: every compared token is the memorized content,
 * so each position is flagged as an artifact position and reads as memorized (reproduced) or not reproduced.
 */
function sequenceHeatmap(m: MeasuredMemorization, rows: readonly number[]): HeatmapPayload {
  const h = buildHeatmap(m.input, m, { tokenizer: 'gpt2', maxRows: m.input.tokens.rows });
  const shown = new Set(rows);
  const flags = (fs: readonly number[]) => fs.map((f) => (f & HEATMAP_MATCH) | HEATMAP_NOISED);
  const kept = h.rows.filter((r) => shown.has(r.row)).map((r) => ({ ...r, flags: flags(r.flags) }));
  const total = m.input.tokens.rows;
  return { ...h, mode: 'sequences', evaluatedRows: total, truncated: kept.length < total, rows: kept };
}

/** Memorization of the sequences and perplexity on the text (either may be absent). */
export async function evaluateSequenceSets(
  rt: Runtime,
  c: ModelConfig,
  params: Params,
  ds: SequenceSetData,
  o: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const t0 = performance.now();
  const p = ds.promptLength;
  const k = ds.continuationLength;
  let provider = '';
  let memorization: MemorizationResult | null = null;
  let heatmap: HeatmapPayload | null = null;
  if (ds.sequences && (o.memorization ?? true)) {
    const s = ds.sequences;
    const batch = o.generationBatch ?? Math.max(1, Math.min(64, Math.floor(2 ** 27 / ((p + k) * dims(c).vocab))));
    const m = await measureMemorization(rt, c, params, { tokens: s, clean: s }, {
      promptLength: p, k, filter: false, batch,
      unmatchableToken: o.unmatchableToken === undefined ? ds.eos : o.unmatchableToken,
      generate: o.generate, signal: o.signal,
      onProgress: (done, total) => o.onProgress?.({ stage: 'memorization', done, total }),
    });
    memorization = m.result;
    provider = m.provider || provider;
    if (o.heatmap ?? true) heatmap = sequenceHeatmap(m, heatmapRows(s.rows, o.heatmapFocus ?? m.result.forgetSet));
  }
  let perplexity: PerplexityValue | null = null;
  if (ds.text && (o.perplexity ?? true)) {
    throwIfAborted(o.signal);
    const m = ds.text;
    const onBatch = (done: number) => o.onProgress?.({ stage: 'perplexity', done, total: m.rows });
    const tf = await teacherForced(rt, c, params, m, { batch: o.evalBatch, signal: o.signal, onBatch });
    provider = tf.provider || provider;
    // The T − 1 next-token losses of each row (the last column has no next token).
    const T1 = m.cols - 1;
    const losses = new Float32Array(m.rows * T1);
    for (let r = 0; r < m.rows; r++) losses.set(tf.losses.subarray(r * m.cols, r * m.cols + T1), r * T1);
    const batch = o.perplexityBatch ?? PYTHIA_PERPLEXITY_BATCH;
    perplexity = perplexityFromTokenLosses({ rows: m.rows, cols: T1, data: losses }, batch);
  }
  const metrics: MetricValue[] = [];
  if (memorization) {
    metrics.push(
      { id: 'memorization', label: 'memorization %', value: memorization.percentMemorized, unit: 'percent',
        headline: true, description: `share of the ${memorization.pooled.rows} sequences whose greedy continuation ` +
        `of the first ${p} tokens reproduces the next ${memorization.k} exactly` },
      { id: 'memorization.count', label: 'memorized sequences', value: memorization.pooled.memorized, unit: 'count',
        headline: true, description: 'sequences memorized (the forget set)' },
    );
  }
  if (perplexity) {
    metrics.push(
      { id: 'perplexity.paper', label: 'perplexity', value: perplexity.paper, unit: 'perplexity', headline: true,
        description: `mean over batches of ${perplexity.batchSize} of exp(batch-mean token cross-entropy), ` +
        `${perplexity.tokens} tokens` },
      { id: 'perplexity.expMeanLoss', label: 'perplexity (exp mean loss)', value: perplexity.expMeanLoss,
        unit: 'perplexity', headline: false, description: 'exp of the mean token cross-entropy over all tokens' },
    );
  }
  return {
    dataset: 'sequences', provider, metrics, memorization, accuracy: null,
    perplexity: perplexity ? { sets: [{ set: 'text', ...perplexity }] } : null,
    heatmap, seconds: (performance.now() - t0) / 1000,
  };
}
