// Hand-made sweep table rows for the selection and report tests: three base models of the math noise preset, two
// methods, with failed, unscored and unedited rows that the selection must skip.
import type { SweepRow } from '../../src/shared/sweepTypes';

/** A row; the relative changes are written out by hand in each case (not computed from the before/after numbers). */
export function sweepRow(p: Partial<SweepRow> & Pick<SweepRow, 'job' | 'method'>): SweepRow {
  return {
    stage: p.method === 'base' ? 'train' : 'unlearn', preset: 'cpu-math-noise', set: {}, dataset: 'math',
    artifact: 'noise', nLayer: 2, seed: 0, checkpoint: 100, family: 'x', hyperParams: {}, utility: 'accuracy',
    memBefore: 40, memAfter: null, utilityBefore: 90, utilityAfter: null, memChangePct: null, utilityChangePct: null,
    score: null, seconds: 1, provider: 'cpu', threads: 1, host: 'h', finishedAt: '2026-01-01T00:00:00Z', ...p,
  };
}

const A = { seed: 0, memBefore: 40, utilityBefore: 90 };
const B = { seed: 1, memBefore: 20, utilityBefore: 80 };
const C = { set: { 'model.n_layer': 4 }, nLayer: 4, memBefore: 50, utilityBefore: 95 };
/** Three base models; scores (mem change − accuracy change, as fractions) in the comments. */
export const ROWS: SweepRow[] = [
  sweepRow({ job: 'base0', method: 'base', ...A, memAfter: 40, utilityAfter: 90, memChangePct: 0,
    utilityChangePct: 0 }),
  // cell A: r1 −1 + 0.1 = −0.9 beats r2 −0.75; r3 would score −1 but failed.
  sweepRow({ job: 'r1', method: 'balanced-subnet', ...A, memAfter: 0, utilityAfter: 81, memChangePct: -100,
    utilityChangePct: -10, seconds: 10 }),
  sweepRow({ job: 'r2', method: 'balanced-subnet', ...A, memAfter: 10, utilityAfter: 90, memChangePct: -75,
    utilityChangePct: 0, seconds: 99 }),
  sweepRow({ job: 'r3', method: 'balanced-subnet', ...A, memAfter: 0, utilityAfter: 90, memChangePct: -100,
    utilityChangePct: 0, error: 'out of memory' }),
  sweepRow({ job: 'g1', method: 'greedy', ...A, memAfter: 20, utilityAfter: 87.3, memChangePct: -50,
    utilityChangePct: -3, seconds: 4 }),
  sweepRow({ job: 'g2', method: 'greedy', ...A, memAfter: null, utilityAfter: 90, utilityChangePct: 0 }),
  // cell B: r4 −0.9 beats r5 −0.75; g3 −1 + 0.05 = −0.95.
  sweepRow({ job: 'r4', method: 'balanced-subnet', ...B, memAfter: 2, utilityAfter: 80, memChangePct: -90,
    utilityChangePct: 0, seconds: 20 }),
  sweepRow({ job: 'r5', method: 'balanced-subnet', ...B, memAfter: 0, utilityAfter: 60, memChangePct: -100,
    utilityChangePct: -25 }),
  sweepRow({ job: 'g3', method: 'greedy', ...B, memAfter: 0, utilityAfter: 76, memChangePct: -100,
    utilityChangePct: -5, seconds: 6 }),
  // cell C (4 layers): r6 alone.
  sweepRow({ job: 'r6', method: 'balanced-subnet', ...C, memAfter: 5, utilityAfter: 95, memChangePct: -90,
    utilityChangePct: 0, seconds: 30 }),
];
