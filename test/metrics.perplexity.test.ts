// Perplexity (spec §3.3) both ways on hand-made per-token losses: the paper's mean of per-batch exp(mean CE) and
// exp(mean CE) over all tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { perplexityFromRowSums, perplexityFromTokenLosses } from '../src/engine/metrics/perplexity';

const close = (a: number | null, b: number) =>
  assert.ok(a !== null && Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${a} ≠ ${b}`);

test('paper perplexity averages exp over batches; the other is exp of the overall mean', () => {
  // Rows (2 tokens each): [1, 3] sum 4, [0, 2] sum 2, [6, 6] sum 12.
  const losses = { rows: 3, cols: 2, data: [1, 3, 0, 2, 6, 6] };
  // Batch 2: {row 0, row 1} mean 6/4 = 1.5, {row 2} mean 12/2 = 6 → (e^1.5 + e^6) / 2. Overall mean 18/6 = 3 → e^3.
  const p = perplexityFromTokenLosses(losses, 2);
  close(p.paper, (Math.exp(1.5) + Math.exp(6)) / 2);
  close(p.expMeanLoss, Math.exp(3));
  close(p.meanLoss, 3);
  assert.deepEqual([p.tokens, p.batches, p.batchSize], [6, 2, 2]);
  // One batch of all rows: both definitions agree.
  const one = perplexityFromTokenLosses(losses, 64);
  close(one.paper, Math.exp(3));
  close(one.expMeanLoss, Math.exp(3));
  // Batch 1: (e^2 + e^1 + e^6) / 3.
  close(perplexityFromTokenLosses(losses, 1).paper, (Math.exp(2) + Math.exp(1) + Math.exp(6)) / 3);
});

test('row sums with per-row token counts', () => {
  // Row 0: sum 3 over 3 tokens, row 1: sum 6 over 2 tokens; one batch: mean 9/5.
  const p = perplexityFromRowSums([3, 6], [3, 2], 64);
  close(p.paper, Math.exp(9 / 5));
  close(p.expMeanLoss, Math.exp(9 / 5));
  // Two batches: e^1 and e^3.
  close(perplexityFromRowSums([3, 6], [3, 2], 1).paper, (Math.exp(1) + Math.exp(3)) / 2);
});

test('empty input gives null, not NaN', () => {
  const p = perplexityFromRowSums([], 149);
  assert.equal(p.paper, null);
  assert.equal(p.expMeanLoss, null);
  assert.equal(p.tokens, 0);
});
