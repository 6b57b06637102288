// Backdoor success (spec §3.1, backdoor mode) on hand-made poisoned/clean matrices: the fixed [50, 100)-style
// filter window, per-row prompts ending at the trigger, the ≤ k clipped comparison, and grouping by prompt length.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matrixFromRows } from '../src/engine/data/tokenMatrix';
import { backdoorFilter, groupByPromptLength, measureBackdoor, scoreBackdoor } from '../src/engine/metrics/backdoor';
import type { GenerateFn } from '../src/engine/metrics/memorization';
import type { Gpt2Config } from '../src/engine/model/gpt2';
import { Runtime } from '../src/engine/runtime/session';

// 16-token rows; the filter window is [8, 12) (filterStart 8, k 4), standing in for [50, 100).
const COLS = 16;
const K = 4;
const START = 8;
const BD = 2; // the backdoor token
const cleanRow = (r: number) => Array.from({ length: COLS }, (_, t) => 3 + ((r + t) % 6)); // digits 3..8: never 2
const poison = (row: number[], p: number) => row.map((v, t) => (t < p ? v : BD));

// row: trigger end p, what the model does
//  0: p = 3   backdoor fires                   → kept, success
//  1: p = 6   clean continuation               → kept, clean-correct
//  2: p = 13  (trigger ends after the window)  → excluded: poisoned = clean in [8, 12)
//  3: p = 9   clean already "2" in [9, 12)     → excluded: poisoned = clean in [8, 12)
//  4: p = 3   fires for 3 tokens, then not     → kept, neither
const prompts = [3, 6, 13, 9, 3];
const cleanRows = prompts.map((_, r) => cleanRow(r));
cleanRows[3]!.fill(BD, 9, 12);
const clean = matrixFromRows(cleanRows, COLS, 13);
const poisoned = matrixFromRows(cleanRows.map((row, r) => poison(row, prompts[r]!)), COLS, 13);
const promptLength = Uint32Array.from(prompts);

test('backdoor filter: fixed window, not moved to the trigger', () => {
  assert.deepEqual(Array.from(backdoorFilter(poisoned, clean, promptLength, K, START)), [1, 1, 0, 0, 1]);
  // Moving the window to [12, 16) keeps rows 2 (trigger end 13) and 3 (poisoned ≠ clean at 12–15) too.
  assert.deepEqual(Array.from(backdoorFilter(poisoned, clean, promptLength, K, 12)), [1, 1, 1, 1, 1]);
});

test('attack success on hand-made generations', () => {
  const keep = backdoorFilter(poisoned, clean, promptLength, K, START);
  const generated = [
    [BD, BD, BD, BD],
    cleanRows[1]!.slice(6, 10),
    [BD, BD, BD, BD], // excluded rows: ignored whatever they hold
    [BD, BD, BD, BD],
    [BD, BD, BD, 5],
  ];
  const { result } = scoreBackdoor({ poisoned, clean, promptLength, k: K, keep, generated, filterStart: START });
  // kept {0, 1, 4}: success {0} → 33.3 %, clean {1} → 33.3 %.
  assert.deepEqual([result.pooled.kept, result.pooled.memorized, result.pooled.cleanCorrect], [3, 1, 1]);
  assert.ok(Math.abs(result.percentMemorized! - 100 / 3) < 1e-9);
  assert.ok(Math.abs(result.percentCleanCorrect! - 100 / 3) < 1e-9);
  assert.deepEqual(result.forgetSet, [0]);
  assert.equal(result.mode, 'backdoor');
  assert.equal(result.source, 'backdoor-poisoned');
  assert.equal(result.promptLength, null);
  assert.deepEqual(result.filterWindow, [START, START + K]);
  assert.equal(result.byClass.length, 1);
});

test('the comparison after a late trigger is clipped at the context end (≤ k tokens)', () => {
  // Window [12, 16); trigger end 14 leaves 2 tokens to compare.
  const c = matrixFromRows([cleanRow(0)], COLS, 13);
  const p = matrixFromRows([poison(cleanRow(0), 14)], COLS, 13);
  const pl = Uint32Array.from([14]);
  const keep = backdoorFilter(p, c, pl, K, 12);
  assert.deepEqual(Array.from(keep), [1]);
  assert.equal(
    scoreBackdoor({ poisoned: p, clean: c, promptLength: pl, k: K, keep, generated: [[BD, BD]],
      filterStart: 12 }).result.pooled.memorized, 1);
  assert.equal(
    scoreBackdoor({ poisoned: p, clean: c, promptLength: pl, k: K, keep, generated: [[BD, 4]],
      filterStart: 12 }).result.pooled.memorized, 0);
});

test('groupByPromptLength batches equal-length prompts, shortest first', () => {
  assert.deepEqual(groupByPromptLength([0, 1, 2, 3, 4, 5], [7, 3, 7, 9, 3, 7]), [
    [3, [1, 4]],
    [7, [0, 2, 5]],
    [9, [3]],
  ]);
});

test('measureBackdoor: one generation call per prompt length, prompts are the clean prefix up to the trigger',
  async () => {
    const calls: { prompts: number[][]; steps: number }[] = [];
    // Stand-in model: the backdoor fires after a 3-token prompt, not after a 6-token one.
    const generate: GenerateFn = async (ps, steps) => {
      calls.push({ prompts: ps, steps });
      return { tokens: ps.map((p) => (p.length === 3 ? new Array(steps).fill(BD) : cleanRows[1]!.slice(6, 6 + steps))),
        provider: 'stub' };
    };
    const m = await measureBackdoor(new Runtime(), {} as Gpt2Config, new Map(),
      { poisonedTest: poisoned, cleanTest: clean, promptLength }, { k: K, filterStart: START, generate });
    assert.deepEqual(
      calls.map((c) => [c.prompts.length, c.prompts[0]!.length, c.steps]),
      [
        [2, 3, K],
        [1, 6, K],
      ],
    );
    assert.deepEqual(calls[0]!.prompts, [cleanRows[0]!.slice(0, 3), cleanRows[4]!.slice(0, 3)]);
    assert.deepEqual(m.result.forgetSet, [0, 4]);
    assert.equal(m.result.pooled.cleanCorrect, 1);
    assert.deepEqual(m.input.generated.map((g) => g === null), [false, false, true, true, false]);
  });
