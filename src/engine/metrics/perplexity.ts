// Perplexity (spec §3.3), reported two ways, both labelled: the paper's mean over batches (of 64 sequences) of
// exp(mean token cross-entropy of the batch), and exp of the mean token cross-entropy over all tokens. Every
// next-token position counts, padding included, as in the reference (Hugging Face loss with labels = inputs).
import type { PerplexityValue } from '../../shared/metricTypes';

/** The reference's batch size for perplexity (test and noise loaders). */
export const PAPER_PERPLEXITY_BATCH = 64;

/**
 * From each sequence's summed token cross-entropy and its number of tokens: consecutive rows form the batches,
 * the last one possibly smaller (it still counts as one batch, as averaging over a DataLoader does).
 */
export function perplexityFromRowSums(sums: ArrayLike<number>, counts: ArrayLike<number> | number,
  batch = PAPER_PERPLEXITY_BATCH): PerplexityValue {
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
  const rows = sums.length;
  if (typeof counts !== 'number' && counts.length !== rows) throw new RangeError(
    `counts has ${counts.length} entries for ${rows} rows`);
  const countOf = (r: number) => (typeof counts === 'number' ? counts : counts[r]!);
  let loss = 0;
  let tokens = 0;
  let expSum = 0;
  let batches = 0;
  for (let s = 0; s < rows; s += batch) {
    let bl = 0;
    let bn = 0;
    for (let r = s; r < Math.min(rows, s + batch); r++) {
      bl += sums[r]!;
      bn += countOf(r);
    }
    if (bn === 0) continue;
    expSum += Math.exp(bl / bn);
    batches++;
    loss += bl;
    tokens += bn;
  }
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    paper: batches ? finite(expSum / batches) : null,
    expMeanLoss: tokens ? finite(Math.exp(loss / tokens)) : null,
    meanLoss: tokens ? finite(loss / tokens) : null,
    tokens,
    batches,
    batchSize: batch,
  };
}

/** Per-token losses [rows, cols] (every entry counted), row-major; e.g. the T − 1 next-token losses of each row. */
export function perplexityFromTokenLosses(losses: { rows: number; cols: number; data: ArrayLike<number> },
  batch = PAPER_PERPLEXITY_BATCH): PerplexityValue {
  const { rows, cols, data } = losses;
  if (data.length !== rows * cols) throw new RangeError(
    `losses hold ${data.length} values for a ${rows}×${cols} matrix`);
  const sums = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let t = 0; t < cols; t++) sums[r] += data[r * cols + t]!;
  return perplexityFromRowSums(sums, cols, batch);
}
