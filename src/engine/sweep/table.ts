// The sweep's one table: every job's rows (a failed job as a row with its error), with each regularized model's
// "before" taken from the unregularized model of the same preset, seed and checkpoint; written as results.jsonl and
// results.csv (one column per hyper-parameter).
import * as path from 'node:path';
import type { SweepRow, TrainCurves, TrainKey } from '../../shared/sweepTypes';
import { getAnyMethod } from '../methods/registry';
import { csvCell } from '../runs/compareRun';
import { cellOf } from './select';
import { type SweepPlan, fileState, readCurves, readExit, readRows, writeText } from './folder';
import { keyPreset, withChanges } from './runJob';

/** All rows of the sweep's jobs that ended, in plan order. */
export function gatherRows(dir: string, plan: SweepPlan): SweepRow[] {
  const rows: SweepRow[] = [];
  for (const job of plan.jobs) {
    const state = fileState(dir, job.id);
    if (state === 'done') {
      rows.push(...readRows(dir, job.id)!);
      continue;
    }
    if (state === 'pending') continue;
    const k = job.key;
    const train = (k.stage === 'train' ? k : plan.jobs.find((j) => j.id === k.train)?.key) as TrainKey | undefined;
    if (!train) continue;
    const p = keyPreset(train);
    const exit = readExit(dir, job.id)!;
    const method = k.stage === 'train' ? k.regularizer : { id: k.method, hyperParams: k.hyperParams };
    for (const checkpoint of k.stage === 'train' ? k.checkpoints : [k.checkpoint]) {
      rows.push({
        job: job.id, stage: k.stage, preset: p.name, set: train.set, dataset: p.data.dataset,
        artifact: p.data.options.artifact, nLayer: p.model.n_layer, seed: k.seed, checkpoint,
        method: method?.id ?? 'base', family: method ? getAnyMethod(method.id).family : 'base',
        hyperParams: method?.hyperParams ?? {}, utility: p.data.dataset === 'math' ? 'accuracy' : 'perplexity',
        memBefore: null, memAfter: null, utilityBefore: null, utilityAfter: null, memChangePct: null,
        utilityChangePct: null, score: null, seconds: exit.seconds, provider: exit.provider, threads: 0,
        host: exit.host, finishedAt: exit.finishedAt, error: exit.error ?? `exit code ${exit.code}`,
      });
    }
  }
  const bases = new Map(rows.filter((r) => r.method === 'base' && !r.error).map((r) => [cellOf(r), r]));
  return rows.map((r) => {
    if (r.family !== 'regularizer' || r.error) return r;
    const b = bases.get(cellOf(r));
    return withChanges({ ...r, memBefore: b?.memAfter ?? null, utilityBefore: b?.utilityAfter ?? null });
  });
}

export function gatherCurves(dir: string, plan: SweepPlan): TrainCurves[] {
  return plan.jobs.filter((j) => j.key.stage === 'train').map((j) => readCurves(dir, j.id))
    .filter((c): c is TrainCurves => c !== null);
}

const COLUMNS: (keyof SweepRow)[] = ['job', 'stage', 'preset', 'set', 'dataset', 'artifact', 'nLayer', 'seed',
  'checkpoint', 'method', 'family', 'utility', 'memBefore', 'memAfter', 'utilityBefore', 'utilityAfter',
  'memChangePct', 'utilityChangePct', 'score', 'seconds', 'provider', 'threads', 'host', 'finishedAt', 'error', 'note'];

export function rowsCsv(rows: SweepRow[]): string {
  const hps = [...new Set(rows.flatMap((r) => Object.keys(r.hyperParams)))].sort();
  const head = [...COLUMNS, ...hps.map((h) => `hp.${h}`)];
  const lines = rows.map((r) => [...COLUMNS.map((c) => r[c]), ...hps.map((h) => r.hyperParams[h])].map(csvCell));
  return [head, ...lines].map((l) => l.join(',')).join('\n') + '\n';
}

/** Writes results.jsonl and results.csv; returns the CSV's path. */
export function writeTable(dir: string, rows: SweepRow[]): string {
  writeText(path.join(dir, 'results.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  const csv = path.join(dir, 'results.csv');
  writeText(csv, rowsCsv(rows));
  return csv;
}
