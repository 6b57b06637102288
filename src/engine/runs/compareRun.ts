// Comparing mitigation methods on one checkpoint: each method (at its defaults, or over a small grid of the paper's
// sweep values) is run on the same base model and forget/retain sets, measured, and scored with the paper's
// selection rule (spec §4.F): the lowest relative memorization change penalised by the relative loss of accuracy
// (math) or rise of perplexity (language, and a user's sequence sets with their perplexity text).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HyperValue } from '../../shared/methodTypes';
import { type ClaimedOutput, type ClaimOptions, claimOutputDir } from '../io/outputDir';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import type { EvaluationResult } from '../../shared/metricTypes';
import { getAnyMethod } from '../methods/registry';
import type { Runtime } from '../runtime/session';
import { type BaseModel, type MitigateOptions, mitigate } from './mitigateRun';

export interface CompareRow {
  method: string;
  name: string;
  family: string;
  hyperParams: Record<string, HyperValue>;
  seconds: number;
  memBefore: number;
  memAfter: number | null;
  /** Math: accuracy (paper's, with padding) in %; language: test perplexity (paper's). */
  utilityBefore: number | null;
  utilityAfter: number | null;
  /** Relative changes against the base model, in % (as the paper's *_perc_diff columns). */
  memChangePct: number | null;
  utilityChangePct: number | null;
  /** The selection score (lower is better); the chosen run per method has `selected`. */
  score: number | null;
  selected: boolean;
  error?: string;
}

export interface CompareResult {
  utility: 'accuracy' | 'perplexity';
  rows: CompareRow[];
}

/** The headline utility number: mean test accuracy (math) or the first test set's (or the text's) perplexity. */
export function utilityOf(r: EvaluationResult): number | null {
  if (r.dataset === 'math') return r.accuracy?.paper ?? null;
  return r.perplexity?.sets.find((s) => s.set.startsWith('test'))?.paper ?? r.perplexity?.sets[0]?.paper ?? null;
}

/** The relative change in % (the paper's *_perc_diff columns); null without both numbers or from zero. */
export const relChange = (after: number | null, before: number | null): number | null =>
  after === null || before === null || before === 0 ? null : (100 * (after - before)) / before;

/**
 * The selection score (lower is better): the relative memorization change penalised by the relative accuracy lost
 * or perplexity gained, both as fractions (as the reference's result files).
 */
export function selectionScore(memChangePct: number | null, utilityChangePct: number | null,
  utility: CompareResult['utility']): number | null {
  if (memChangePct === null || utilityChangePct === null) return null;
  const u = utilityChangePct / 100;
  return memChangePct / 100 + (utility === 'accuracy' ? -u : u);
}

/** One CSV cell: text as it is, objects as JSON, quoted when it holds a quote, comma or newline. */
export const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The points to try: each method's defaults, or the product of its hyper-parameter grids thinned to `maxPoints`. */
export function gridPoints(methodId: string, grid: boolean, maxPoints = 6): Record<string, HyperValue>[] {
  const m = getAnyMethod(methodId);
  if (!grid) return [{}];
  let points: Record<string, HyperValue>[] = [{}];
  for (const h of m.hyperParams) {
    if (!h.grid?.length) continue;
    points = points.flatMap((p) => h.grid!.map((v) => ({ ...p, [h.name]: v })));
  }
  if (points.length <= maxPoints) return points;
  // Evenly spaced over the (ordered) product, always including the first and last point.
  return Array.from({ length: maxPoints }, (_, i) => points[Math.round((i * (points.length - 1)) / (maxPoints - 1))]!);
}

export interface CompareOptions {
  methods: string[];
  grid?: boolean;
  maxPoints?: number;
  seed?: number;
  signal?: AbortSignal;
  onRun?(method: string, hp: Record<string, HyperValue>, i: number, n: number): void;
  progress?: MitigateOptions['onProgress'];
}

/** Runs every (method, grid point) on the prepared base model; marks each method's best run by the selection score. */
export async function compareMethods(rt: Runtime, base: BaseModel, o: CompareOptions): Promise<CompareResult> {
  const utility = base.before.dataset === 'math' ? 'accuracy' : 'perplexity';
  const memBefore = base.before.memorization?.percentMemorized ?? 0;
  const utilityBefore = utilityOf(base.before);
  const plan = o.methods.flatMap((m) => gridPoints(m, !!o.grid, o.maxPoints).map((hp) => ({ m, hp })));
  const rows: CompareRow[] = [];
  for (const [i, { m, hp }] of plan.entries()) {
    const method = getAnyMethod(m);
    o.onRun?.(m, hp, i, plan.length);
    const row: CompareRow = { method: m, name: method.name, family: method.family, hyperParams: hp, seconds: 0,
      memBefore, memAfter: null, utilityBefore, utilityAfter: null, memChangePct: null, utilityChangePct: null,
      score: null, selected: false };
    try {
      const r = await mitigate(rt, base, {
        method: m, hyperParams: hp, seed: o.seed, signal: o.signal, onProgress: o.progress,
      });
      row.hyperParams = r.record.hyperParams;
      row.seconds = r.record.seconds;
      row.memAfter = r.after.memorization?.percentMemorized ?? null;
      row.utilityAfter = utilityOf(r.after);
      row.memChangePct = relChange(row.memAfter, memBefore);
      row.utilityChangePct = relChange(row.utilityAfter, utilityBefore);
      row.score = selectionScore(row.memChangePct, row.utilityChangePct, utility);
    } catch (e) {
      if (o.signal?.aborted) throw e;
      row.error = e instanceof Error ? e.message : String(e);
    }
    rows.push(row);
  }
  for (const m of o.methods) {
    const best = rows.filter((r) => r.method === m && r.score !== null).sort((a, b) => a.score! - b.score!)[0];
    if (best) best.selected = true;
  }
  return { utility, rows };
}

export function compareCsv(r: CompareResult): string {
  const head = ['method', 'name', 'family', 'hyper_params', 'seconds', 'mem_before', 'mem_after', 'mem_change_pct',
    `${r.utility}_before`, `${r.utility}_after`, `${r.utility}_change_pct`, 'score', 'selected', 'error'];
  const lines = r.rows.map((x) => [x.method, x.name, x.family, x.hyperParams, x.seconds, x.memBefore, x.memAfter,
    x.memChangePct, x.utilityBefore, x.utilityAfter, x.utilityChangePct, x.score, x.selected, x.error]
    .map(csvCell).join(','));
  return [head.join(','), ...lines].join('\n') + '\n';
}

/** The files a comparison writes into its output folder. */
export const COMPARE_FILES = ['compare.csv', 'compare.json'] as const;

/** Checks and locks a comparison's output folder before any method runs: earlier compare files are kept unless
 * `force`. */
export function claimCompareOut(out: string, o: Omit<ClaimOptions, 'files'>): ClaimedOutput {
  return claimOutputDir(out, { ...o, files: COMPARE_FILES });
}

/** Writes compare.csv and compare.json atomically into the claimed folder; returns the CSV's path. */
export function writeCompareFiles(out: ClaimedOutput, csv: string, json: unknown): string {
  const enc = new TextEncoder();
  fs.mkdirSync(out.dir, { recursive: true });
  writeFileAtomicSync(path.join(out.dir, COMPARE_FILES[0]), [enc.encode(csv)]);
  writeFileAtomicSync(path.join(out.dir, COMPARE_FILES[1]), [enc.encode(JSON.stringify(json, null, 2) + '\n')]);
  return path.join(out.dir, COMPARE_FILES[0]);
}
