// Teacher-forced accuracy (spec §3.2) on a hand-made prediction matrix: the paper's way (all positions, padding
// included, per-batch average) and without padding targets. Expected values are counted by hand in the comments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matrixFromRows } from '../src/engine/data/tokenMatrix';
import { accuracyFromPredictions, summarizeAccuracy } from '../src/engine/metrics/accuracy';

const PAD = 13;
const X = 0; // the last column's prediction is never compared
const tokens = matrixFromRows(
  [
    [10, 1, 2, 11, PAD], // targets 1, 2, 11, PAD
    [10, 3, PAD, PAD, PAD], // targets 3, PAD, PAD, PAD
    [10, 1, 1, 1, 1], // targets 1, 1, 1, 1
  ],
  5,
  PAD,
);
// prediction at t is compared with the token at t + 1
const predictions = Int32Array.from([
  ...[1, 5, 11, PAD, X], // ✓ ✗ ✓ ✓(pad)        3/4, no-pad 2/3
  ...[4, PAD, 0, PAD, X], // ✗ ✓(pad) ✗(pad) ✓(pad)  2/4, no-pad 0/1
  ...[1, 1, 1, 1, PAD], // ✓ ✓ ✓ ✓            4/4, no-pad 4/4
]);

test('accuracy with and without padding, one batch', () => {
  const a = accuracyFromPredictions(tokens, predictions, PAD);
  // All positions: 3 + 2 + 4 = 9 of 12 = 75 %. Non-pad targets: 2/3 + 0/1 + 4/4 = 6 of 8 = 75 %.
  assert.deepEqual([a.correct, a.total, a.correctNoPad, a.totalNoPad], [9, 12, 6, 8]);
  assert.equal(a.paper, 75);
  assert.equal(a.noPad, 75);
  // The first two rows alone: 5/8 = 62.5 % with padding, 2/4 = 50 % without.
  const two = matrixFromRows([Array.from(tokens.data.subarray(0, 5)), Array.from(tokens.data.subarray(5, 10))], 5, PAD);
  const b = accuracyFromPredictions(two, predictions.subarray(0, 10), PAD);
  assert.equal(b.paper, 62.5);
  assert.equal(b.noPad, 50);
});

test('the paper averages per-batch accuracies', () => {
  // Batches of 2 rows: {0, 1} → 5/8, {2} → 4/4; mean = (62.5 + 100) / 2 = 81.25 (pooled would be 75).
  const a = accuracyFromPredictions(tokens, predictions, PAD, 2);
  assert.equal(a.paper, 81.25);
  assert.equal(a.noPad, 75);
  assert.deepEqual([a.correct, a.total], [9, 12]);
});

test('summarizeAccuracy averages the listed sets equally and keeps every set', () => {
  const a = accuracyFromPredictions(tokens, predictions, PAD); // 75 / 75
  const two = matrixFromRows([[10, 3, PAD, PAD, PAD]], 5, PAD);
  const b = accuracyFromPredictions(two, [3, 0, 0, 0, 0], PAD); // ✓ ✗ ✗ ✗ → 25 %; no-pad 1/1 = 100 %
  assert.equal(b.paper, 25);
  assert.equal(b.noPad, 100);
  const s = summarizeAccuracy(
    [
      { set: 'main-7', ...a },
      { set: 'extra-2', ...b },
      { set: 'backdoor-poisoned', ...b },
    ],
    ['main-7', 'extra-2'],
    PAD,
  );
  assert.equal(s.paper, 50);
  assert.equal(s.noPad, 87.5);
  assert.deepEqual(s.averagedSets, ['main-7', 'extra-2']);
  assert.equal(s.sets.length, 3);
});

test('no positions: accuracy is null, not NaN', () => {
  const a = accuracyFromPredictions(matrixFromRows([[PAD]], 1, PAD), [0], PAD);
  assert.equal(a.paper, null);
  assert.equal(a.noPad, null);
  assert.throws(() => accuracyFromPredictions(tokens, [1, 2], PAD), /predictions hold 2 values/);
});
