// Memorization % (spec §3.1) on hand-made noised/clean/generated matrices: the exclusion filter, exact match,
// per-duplication-class rates, the clean-continuation rate, the forget set, EOS handling and the heatmap payload.
// Every expected number below is worked out by hand in the comments.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type TokenMatrix, matrixFromRows } from '../src/engine/data/tokenMatrix';
import { buildHeatmap, spreadRows } from '../src/engine/metrics/heatmap';
import { type GenerateFn, measureMemorization, noiseFilter,
  scoreMemorization } from '../src/engine/metrics/memorization';
import { HEATMAP_CLEAN, HEATMAP_MATCH, HEATMAP_NOISED } from '../src/shared/metricTypes';
import type { Gpt2Config } from '../src/engine/model/gpt2';
import { Runtime } from '../src/engine/runtime/session';

// 12-token rows, prompt 4, k 4: the compared (and filter) window is columns [4, 8).
const COLS = 12;
const P = 4;
const K = 4;
const cleanRow = (r: number) => Array.from({ length: COLS }, (_, t) => (r * 3 + t) % 10);
/** The clean row with `delta` added at the given columns. */
const noisedRow = (r: number, at: number[], delta = 1) => cleanRow(r).map((v, t) => (at.includes(t) ? v + delta : v));
const window = (row: number[]) => row.slice(P, P + K);

// row: noise positions, class, what the model generates
//  0: [5]  class 0  the noised continuation   → kept, memorized
//  1: [9]  class 0  the noised continuation   → excluded (noise after the window)
//  2: [2]  class 0  the clean continuation    → excluded (noise inside the prompt)
//  3: [7]  class 0  the clean continuation    → kept, clean-correct
//  4: [4]  class 0  neither                   → kept, neither
//  5: [6]  class 1  the noised continuation   → kept, memorized
//  6: [5]  class 1  noised but last token off → kept, neither
//  7: []   class 1  anything                  → excluded (no noise)
//  8: [10] class 2  the noised continuation   → excluded: class 2 has no kept row
const noise = [[5], [9], [2], [7], [4], [6], [5], [], [10]];
const dupClass = Uint8Array.from([0, 0, 0, 0, 0, 1, 1, 1, 2]);
const dupFactors = [1, 10, 100];
const clean = matrixFromRows(noise.map((_, r) => cleanRow(r)), COLS, 13);
const noised = matrixFromRows(noise.map((at, r) => noisedRow(r, at)), COLS, 13);
const generated = [
  window(noisedRow(0, [5])),
  window(noisedRow(1, [9])),
  window(cleanRow(2)),
  window(cleanRow(3)),
  [9, 9, 9, 9],
  window(noisedRow(5, [6])),
  [...window(noisedRow(6, [5])).slice(0, 3), 7],
  [0, 0, 0, 0],
  window(noisedRow(8, [10])),
];

test('noise filter keeps exactly the rows whose noise falls inside [prompt, prompt + k)', () => {
  assert.deepEqual(Array.from(noiseFilter(noised, clean, P, K)), [1, 0, 0, 1, 1, 1, 1, 0, 0]);
  // A wider window (k = 8 → [4, 12)) also keeps rows 1 (noise at 9) and 8 (noise at 10).
  assert.deepEqual(Array.from(noiseFilter(noised, clean, P, 8)), [1, 1, 0, 1, 1, 1, 1, 0, 1]);
});

test('memorization %: exclusion filter, exact match, per-class and pooled rates, clean continuation, forget set',
  () => {
    const keep = noiseFilter(noised, clean, P, K);
    const { result, memorized, cleanCorrect } = scoreMemorization(
      { mode: 'noise', tokens: noised, clean, promptLength: P, k: K, keep, generated, dupClass, dupFactors });
    // class 0: kept {0, 3, 4} = 3, memorized {0}, clean {3}; class 1: kept {5, 6} = 2, memorized {5}; class 2: none
    // kept.
    assert.deepEqual(
      result.byClass.map((c) => [c.dupClass, c.factor, c.rows, c.kept, c.memorized, c.cleanCorrect]),
      [
        [0, 1, 5, 3, 1, 1],
        [1, 10, 3, 2, 1, 0],
        [2, 100, 1, 0, 0, 0],
      ],
    );
    const near = (a: number | null, b: number) => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);
    near(result.byClass[0]!.percentMemorized, 100 / 3);
    near(result.byClass[1]!.percentMemorized, 50);
    assert.equal(result.byClass[2]!.percentMemorized, null);
    near(result.byClass[0]!.percentCleanCorrect, 100 / 3);
    near(result.byClass[1]!.percentCleanCorrect, 0);
    // The paper's number: mean over classes with kept rows = (33.33 + 50) / 2; pooled = 2 / 5.
    near(result.percentMemorized, (100 / 3 + 50) / 2);
    near(result.pooled.percentMemorized, 40);
    near(result.percentCleanCorrect, (100 / 3 + 0) / 2);
    near(result.pooled.percentCleanCorrect, 20);
    assert.deepEqual([result.pooled.rows, result.pooled.kept, result.pooled.memorized, result.pooled.cleanCorrect],
      [9, 5, 2, 1]);
    assert.deepEqual(result.forgetSet, [0, 5]);
    assert.deepEqual(Array.from(memorized), [1, 0, 0, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual(Array.from(cleanCorrect), [0, 0, 0, 1, 0, 0, 0, 0, 0]);
    assert.equal(result.mode, 'noise');
    assert.equal(result.source, 'artifacts');
    // The result is plain JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
  });

test('a target window holding the unmatchable token (EOS) never counts as matched', () => {
  // Row 0: noise at 5 and EOS (11) at 6 in both versions; the model "generates" the noised window, EOS included.
  const c0 = cleanRow(0);
  c0[6] = 11;
  const n0 = c0.slice();
  n0[5] += 1;
  const tokens = matrixFromRows([n0], COLS, 13);
  const cl = matrixFromRows([c0], COLS, 13);
  const input = { mode: 'noise' as const, tokens, clean: cl, promptLength: P, k: K, keep: [1],
    generated: [window(n0)] };
  assert.equal(scoreMemorization(input).result.pooled.memorized, 1);
  assert.equal(scoreMemorization({ ...input, unmatchableToken: 11 }).result.pooled.memorized, 0);
  assert.equal(
    scoreMemorization({ ...input, unmatchableToken: 11, generated: [window(c0)] }).result.pooled.cleanCorrect, 0);
});

test('the compared window is clipped at the end of the context', () => {
  // 6-token rows, prompt 4, k 50: only columns 4 and 5 are compared.
  const c = matrixFromRows([[1, 2, 3, 4, 5, 6]], 6, 13);
  const n = matrixFromRows([[1, 2, 3, 4, 5, 7]], 6, 13);
  const r = scoreMemorization(
    { mode: 'noise', tokens: n, clean: c, promptLength: 4, k: 50, keep: noiseFilter(n, c, 4, 50),
      generated: [[5, 7]] });
  assert.deepEqual([r.result.pooled.kept, r.result.pooled.memorized], [1, 1]);
  assert.throws(
    () => scoreMemorization({ mode: 'noise', tokens: n, clean: c, promptLength: 4, k: 50, keep: [1],
      generated: [[5]] }), /needs 2 generated tokens/);
});

test('heatmap rows: prompt, target, clean, generated and per-position match/noised/clean flags', () => {
  const keep = noiseFilter(noised, clean, P, K);
  const input = { mode: 'noise' as const, tokens: noised, clean, promptLength: P, k: K, keep, generated, dupClass,
    dupFactors };
  const score = scoreMemorization(input);
  const h = buildHeatmap(input, score, { tokenizer: 'math' });
  assert.deepEqual(h.rows.map((r) => r.row), [0, 3, 4, 5, 6]);
  assert.equal(h.evaluatedRows, 5);
  assert.equal(h.truncated, false);
  const r0 = h.rows[0]!;
  assert.deepEqual(r0.prompt, cleanRow(0).slice(0, P));
  assert.deepEqual(r0.target, window(noisedRow(0, [5])));
  assert.deepEqual(r0.clean, window(cleanRow(0)));
  assert.deepEqual(r0.generated, generated[0]);
  // Row 0 generated the noised window: every position matches; column 5 (index 1) is noised and differs from clean.
  const M = HEATMAP_MATCH;
  const N = HEATMAP_NOISED;
  const C = HEATMAP_CLEAN;
  assert.deepEqual(r0.flags, [M | C, M | N, M | C, M | C]);
  // Row 3 generated the clean window: noise at column 7 (index 3) is the one mismatch.
  assert.deepEqual(h.rows[1]!.flags, [M | C, M | C, M | C, N | C]);
  assert.deepEqual(h.rows.map((r) => [r.dupClass, r.memorized, r.cleanCorrect]), [
    [0, true, false],
    [0, false, true],
    [0, false, false],
    [1, true, false],
    [1, false, false],
  ]);
  // Capped: 2 of 5 rows, spread evenly.
  const capped = buildHeatmap(input, score, { tokenizer: 'math', maxRows: 2 });
  assert.deepEqual(capped.rows.map((r) => r.row), [0, 4]);
  assert.equal(capped.truncated, true);
  assert.deepEqual(spreadRows(10, 4), [0, 2, 5, 7]);
});

test('measureMemorization prompts with the clean prefix of kept rows only and generates k tokens', async () => {
  const calls: { prompts: number[][]; steps: number }[] = [];
  // Stand-in model: regurgitates the noised window for even rows, the clean one for odd rows.
  const byPrompt = new Map<string, number>(noise.map((_, r) => [cleanRow(r).slice(0, P).join(','), r]));
  const generate: GenerateFn = async (prompts, steps) => {
    calls.push({ prompts, steps });
    return {
      tokens: prompts.map((p) => {
        const r = byPrompt.get(p.join(','))!;
        return r % 2 === 0 ? window(noisedRow(r, noise[r]!)) : window(cleanRow(r));
      }),
      provider: 'stub',
    };
  };
  const progress: number[] = [];
  const m = await measureMemorization(new Runtime(), {} as Gpt2Config, new Map(),
    { tokens: noised, clean, dupClass, dupFactors }, {
      promptLength: P,
      k: K,
      generate,
      batch: 2,
      onProgress: (d) => progress.push(d),
    });
  // Kept rows 0, 3, 4, 5, 6 in batches of 2.
  assert.deepEqual(calls.map((c) => c.prompts.map((p) => byPrompt.get(p.join(',')))), [[0, 3], [4, 5], [6]]);
  assert.ok(calls.every((c) => c.steps === K));
  assert.deepEqual(progress, [2, 4, 5]);
  // Memorized: even kept rows 0, 4, 6.
  assert.deepEqual(m.result.forgetSet, [0, 4, 6]);
  assert.equal(m.provider, 'stub');
  assert.deepEqual(m.result.filterWindow, [P, P + K]);
  // Without the filter (no clean twins, e.g. Pythia) every row is scored.
  const zeros: GenerateFn = async (p) => ({ tokens: p.map(() => [0, 0, 0, 0]), provider: 'stub' });
  const all = await measureMemorization(new Runtime(), {} as Gpt2Config, new Map(),
    { tokens: noised, clean: noised as TokenMatrix }, { promptLength: P, k: K, generate: zeros, filter: false });
  assert.equal(all.result.pooled.kept, 9);
  assert.equal(all.result.filterWindow, null);
});

test('an aborted signal stops generation with its reason', async () => {
  const ac = new AbortController();
  ac.abort(new Error('stopped by user'));
  let called = false;
  const generate: GenerateFn = async (p) => ((called = true), { tokens: p.map(() => [0, 0, 0, 0]), provider: 'stub' });
  await assert.rejects(measureMemorization(new Runtime(), {} as Gpt2Config, new Map(), { tokens: noised, clean },
    { promptLength: P, k: K, generate, signal: ac.signal }), /stopped by user/);
  assert.equal(called, false);
});
