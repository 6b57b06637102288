// The paper's selection rule and table summaries on hand-computed rows: which run each method keeps per base model,
// the means and medians of the chosen runs, the table order, and the rank comparison with the paper's numbers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SweepRow } from '../src/shared/sweepTypes';
import { ROWS, sweepRow } from './helpers/sweepRows';
import { selectionScore } from '../src/engine/runs/compareRun';
import { type MethodSummary, compareWithPaper, selectRuns,
  summarize } from '../src/engine/sweep/select';

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);
const jobs = (rs: SweepRow[]) => rs.map((r) => r.job).sort();

describe('sweep selection (spec §4.F)', () => {
  it('scores memorization change penalised by accuracy lost or perplexity gained', () => {
    near(selectionScore(-100, -10, 'accuracy')!, -0.9);
    near(selectionScore(-50, 20, 'perplexity')!, -0.3);
    near(selectionScore(-50, 20, 'accuracy')!, -0.7);
    assert.equal(selectionScore(null, 0, 'accuracy'), null);
  });

  it('keeps the lowest-scoring run per base model and method, never a failed, unscored or base row', () => {
    assert.deepEqual(jobs(selectRuns(ROWS)), ['g1', 'g3', 'r1', 'r4', 'r6']);
    // Order of the table does not matter.
    assert.deepEqual(jobs(selectRuns([...ROWS].reverse())), ['g1', 'g3', 'r1', 'r4', 'r6']);
  });

  it('uses the perplexity rule for language rows', () => {
    const lang = { dataset: 'language', utility: 'perplexity', memBefore: 10, utilityBefore: 50 } as const;
    // p1: −0.5 + 0.2 = −0.3; p2: −0.6 + 0.4 = −0.2. Under the accuracy rule p2 (−1.0) would win over p1 (−0.7).
    const rs = [sweepRow({ job: 'p1', method: 'subnet', ...lang, memAfter: 5, utilityAfter: 60, memChangePct: -50,
      utilityChangePct: 20 }),
    sweepRow({ job: 'p2', method: 'subnet', ...lang, memAfter: 4, utilityAfter: 70, memChangePct: -60,
      utilityChangePct: 40 })];
    assert.deepEqual(jobs(selectRuns(rs)), ['p1']);
  });

  it('tells base models apart by their overrides (in any key order), ties go to the lower job id', () => {
    const x = { method: 'subnet', memAfter: 0, utilityAfter: 90, memChangePct: -100, utilityChangePct: 0 };
    const rs = [sweepRow({ job: 'b', ...x, set: { a: 1, b: 2 } }), sweepRow({ job: 'a', ...x, set: { b: 2, a: 1 } }),
      sweepRow({ job: 'c', ...x, set: { a: 1, b: 3 } })];
    assert.deepEqual(jobs(selectRuns(rs)), ['a', 'c']);
  });

  it('summarizes the chosen runs per method in the paper\u2019s order', () => {
    const s = summarize(selectRuns(ROWS));
    assert.deepEqual(s.map((x) => [x.experiment, x.method, x.cells]),
      [['math-noise', 'balanced-subnet', 3], ['math-noise', 'greedy', 2]]);
    const [bs, g] = s as [MethodSummary, MethodSummary];
    near(bs.mem, 7 / 3); // (0 + 2 + 5) / 3
    near(bs.utilityAfter, 256 / 3); // (81 + 80 + 95) / 3
    near(bs.utilityChangePct, -10 / 3);
    near(bs.utilityChangeMedian, 0);
    near(bs.seconds, 20); // (10 + 20 + 30) / 3
    near(g.mem, 10);
    near(g.utilityAfter, 81.65);
    near(g.utilityChangePct, -4);
    near(g.utilityChangeMedian, -4);
    near(g.seconds, 5);
  });

  it('summarizes per model size', () => {
    const s = summarize(selectRuns(ROWS), { byLayer: true });
    assert.deepEqual(s.map((x) => [x.method, x.nLayer, x.cells]),
      [['balanced-subnet', 2, 2], ['greedy', 2, 2], ['balanced-subnet', 4, 1]]);
    near(s[0]!.mem, 1);
    near(s[0]!.utilityChangePct, -5);
    near(s[2]!.mem, 5);
  });

  it('breaks ties in memorization by the smaller utility cost', () => {
    const one = (job: string, method: string, utility: 'accuracy' | 'perplexity', change: number) =>
      sweepRow({ job, method, utility, memAfter: 0, utilityAfter: 1, memChangePct: -100, utilityChangePct: change });
    const acc = summarize(selectRuns([one('1', 'm1', 'accuracy', -5), one('2', 'm2', 'accuracy', -1)]));
    assert.deepEqual(acc.map((x) => x.method), ['m2', 'm1']);
    const ppl = summarize(selectRuns([one('1', 'm1', 'perplexity', 1), one('2', 'm2', 'perplexity', 5)]));
    assert.deepEqual(ppl.map((x) => x.method), ['m1', 'm2']);
  });

  it('ranks our order next to the paper\u2019s with Spearman\u2019s correlation', () => {
    const m = (method: string, mem: number): MethodSummary => ({ experiment: 'math-noise', utility: 'accuracy', method,
      nLayer: null, cells: 1, mem, utilityAfter: 90, utilityChangePct: -1, utilityChangeMedian: -1, seconds: 1 });
    // Paper (spec §5.2, mult + noise): balanced-subnet 0.00, greedy 0.84, zero-out 17.40; "mine" has no paper row.
    const [c] = compareWithPaper([m('zero-out', 5), m('balanced-subnet', 1), m('greedy', 0), m('mine', 0.5)]);
    assert.deepEqual(c!.ranks, [{ method: 'greedy', ours: 1, paper: 2 },
      { method: 'balanced-subnet', ours: 2, paper: 1 }, { method: 'zero-out', ours: 3, paper: 3 }]);
    near(c!.spearman!, 0.5); // 1 − 6·(1 + 1 + 0) / (3·(9 − 1))
    assert.deepEqual(compareWithPaper([m('mine', 1)]), [{ experiment: 'math-noise', ranks: [], spearman: null }]);
    // Paper ties at 0.00 % (math backdoor): the smaller accuracy loss first (balanced-subnet −0.34 before
    // activations −1.87).
    const bd = (method: string, mem: number) => ({ ...m(method, mem), experiment: 'math-backdoor' });
    assert.deepEqual(compareWithPaper([bd('activations', 0), bd('balanced-subnet', 1)])[0]!.ranks,
      [{ method: 'activations', ours: 1, paper: 2 }, { method: 'balanced-subnet', ours: 2, paper: 1 }]);
  });
});
