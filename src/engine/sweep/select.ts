// The paper's selection of one run per method and base model (spec §4.F) and the per-method summaries of its
// tables (spec §5), computed from the sweep's table rows.
import type { SweepRow } from '../../shared/sweepTypes';
import { selectionScore } from '../runs/compareRun';
import { PAPER_TABLES } from './paperTables';
import { canonicalJson } from './plan';

/** The paper's tables are per dataset and artifact ("math-noise", "language-backdoor", ...). */
export const experimentOf = (r: Pick<SweepRow, 'dataset' | 'artifact'>): string => `${r.dataset}-${r.artifact}`;

/** A base model at one checkpoint (preset and its overrides, seed, epoch): each method's best run is chosen in it. */
export const cellOf = (r: SweepRow): string =>
  canonicalJson([r.preset, r.set, r.dataset, r.artifact, r.nLayer, r.seed, r.checkpoint]);

const scoreOf = (r: SweepRow) => (r.error ? null : selectionScore(r.memChangePct, r.utilityChangePct, r.utility));

/**
 * The chosen run of each (cell, method): the lowest score; ties go to the lower job id so the choice does not depend
 * on the table's order. Unedited models ("base") are no method; failed or unscored runs are never chosen.
 */
export function selectRuns(rows: readonly SweepRow[]): SweepRow[] {
  const best = new Map<string, { r: SweepRow; s: number }>();
  for (const r of rows) {
    const s = scoreOf(r);
    if (r.method === 'base' || s === null || !Number.isFinite(s)) continue;
    const k = `${cellOf(r)}\u0000${r.method}`;
    const b = best.get(k);
    if (!b || s < b.s || (s === b.s && r.job < b.r.job)) best.set(k, { r, s });
  }
  return [...best.values()].map((b) => b.r);
}

export interface MethodSummary {
  experiment: string;
  utility: SweepRow['utility'];
  method: string;
  /** Set in the by-model-size summary only. */
  nLayer: number | null;
  /** Base models (cells) with a chosen run. */
  cells: number;
  /** Means over the chosen runs: memorization after (%), utility after, its change (%), seconds. */
  mem: number;
  utilityAfter: number;
  utilityChangePct: number;
  utilityChangeMedian: number;
  seconds: number;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The paper's table order: lowest mean memorization first; equal memorization (within 1e-9) ranks the smaller
 * utility cost first (accuracy: the larger change; perplexity: the smaller).
 */
export function paperOrder(a: Pick<MethodSummary, 'mem' | 'utilityChangePct' | 'utility'>,
  b: Pick<MethodSummary, 'mem' | 'utilityChangePct' | 'utility'>): number {
  if (Math.abs(a.mem - b.mem) > 1e-9) return a.mem - b.mem;
  return a.utility === 'accuracy' ? b.utilityChangePct - a.utilityChangePct : a.utilityChangePct - b.utilityChangePct;
}

/** Per experiment and method (and model size with `byLayer`), the means of the chosen runs, in the paper's order. */
export function summarize(selected: readonly SweepRow[], o: { byLayer?: boolean } = {}): MethodSummary[] {
  const groups = new Map<string, SweepRow[]>();
  for (const r of selected) {
    const k = JSON.stringify([experimentOf(r), r.method, o.byLayer ? r.nLayer : null]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out = [...groups.values()].map((rs): MethodSummary => {
    const r0 = rs[0]!;
    const change = rs.map((r) => r.utilityChangePct!);
    return {
      experiment: experimentOf(r0), utility: r0.utility, method: r0.method, nLayer: o.byLayer ? r0.nLayer : null,
      cells: rs.length,
      mem: mean(rs.map((r) => r.memAfter!)),
      utilityAfter: mean(rs.map((r) => r.utilityAfter!)),
      utilityChangePct: mean(change),
      utilityChangeMedian: median(change),
      seconds: mean(rs.map((r) => r.seconds)),
    };
  });
  return out.sort((a, b) => a.experiment.localeCompare(b.experiment) || (a.nLayer ?? 0) - (b.nLayer ?? 0) ||
    paperOrder(a, b) || a.method.localeCompare(b.method));
}

export interface PaperComparison {
  experiment: string;
  /** Rank by the paper's order among the methods both tables hold (1 = first), ours and the paper's. */
  ranks: { method: string; ours: number; paper: number }[];
  /** Spearman's rank correlation of the two orders; null with fewer than 2 common methods. */
  spearman: number | null;
}

/** Our order of the methods next to the paper's, per experiment the paper has a table for. */
export function compareWithPaper(summary: readonly MethodSummary[]): PaperComparison[] {
  const experiments = [...new Set(summary.map((s) => s.experiment))].filter((e) => PAPER_TABLES[e]);
  return experiments.map((experiment) => {
    const table = PAPER_TABLES[experiment]!.methods;
    const ours = summary.filter((s) => s.experiment === experiment && s.nLayer === null && table[s.method])
      .sort((a, b) => paperOrder(a, b) || a.method.localeCompare(b.method));
    const utility = ours[0]?.utility ?? 'accuracy';
    const paper = ours.map((s) => ({ method: s.method, ...table[s.method]!, utility }))
      .sort((a, b) => paperOrder(a, b) || a.method.localeCompare(b.method)).map((p) => p.method);
    const ranks = ours.map((s, i) => ({ method: s.method, ours: i + 1, paper: paper.indexOf(s.method) + 1 }));
    const n = ranks.length;
    const d2 = ranks.reduce((t, r) => t + (r.ours - r.paper) ** 2, 0);
    return { experiment, ranks, spearman: n < 2 ? null : 1 - (6 * d2) / (n * (n * n - 1)) };
  });
}
