// Teacher-forced next-token accuracy (spec §3.2): the argmax at position t against the token at t + 1.
// Reported two ways, both labelled: as the paper computes it (all T − 1 positions, padding included, averaged over
// batches of 1000, then over the test sets) and with padding targets left out (what a reader would expect).
import type { AccuracyResult, AccuracyValue, NamedAccuracy } from '../../shared/metricTypes';
import type { TokenMatrix } from '../data/tokenMatrix';
import { meanOf } from './memorization';

/** The reference's test-loader batch: per-batch accuracies are averaged (one batch for 1000-row test sets). */
export const PAPER_ACCURACY_BATCH = 1000;

/**
 * Accuracy of `predictions` ([rows, cols], the model's argmax at every position; the last column is unused) against
 * `tokens`. Padding is a target equal to `pad`.
 */
export function accuracyFromPredictions(tokens: TokenMatrix, predictions: ArrayLike<number>, pad: number,
  paperBatch = PAPER_ACCURACY_BATCH): AccuracyValue {
  const { rows, cols } = tokens;
  if (predictions.length !== rows * cols) throw new RangeError(
    `predictions hold ${predictions.length} values for a ${rows}×${cols} matrix`);
  if (!Number.isInteger(paperBatch) || paperBatch < 1) throw new RangeError(
    `paperBatch must be a positive integer, got ${paperBatch}`);
  let correct = 0;
  let correctNoPad = 0;
  let totalNoPad = 0;
  const batchAcc: number[] = [];
  let batchCorrect = 0;
  let batchTotal = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let t = 0; t + 1 < cols; t++) {
      const target = tokens.data[o + t + 1]!;
      const hit = predictions[o + t] === target ? 1 : 0;
      batchCorrect += hit;
      batchTotal++;
      if (target !== pad) {
        totalNoPad++;
        correctNoPad += hit;
      }
    }
    if ((r + 1) % paperBatch === 0 || r + 1 === rows) {
      if (batchTotal > 0) batchAcc.push(batchCorrect / batchTotal);
      correct += batchCorrect;
      batchCorrect = 0;
      batchTotal = 0;
    }
  }
  const total = rows * Math.max(0, cols - 1);
  return {
    paper: batchAcc.length ? (100 * batchAcc.reduce((a, b) => a + b, 0)) / batchAcc.length : null,
    noPad: totalNoPad > 0 ? (100 * correctNoPad) / totalNoPad : null,
    correct,
    total,
    correctNoPad,
    totalNoPad,
  };
}

/** The averages over `averaged` sets (each set weighted equally, like `avg_acc`), with every set listed. */
export function summarizeAccuracy(sets: readonly NamedAccuracy[], averaged: readonly string[],
  padToken: number): AccuracyResult {
  const chosen = sets.filter((s) => averaged.includes(s.set));
  return {
    paper: meanOf(chosen.map((s) => s.paper)),
    noPad: meanOf(chosen.map((s) => s.noPad)),
    averagedSets: chosen.map((s) => s.set),
    padToken,
    sets,
  };
}
