// One job of a sweep, run in the current process: train a preset (keeping the checkpoints to unlearn and measuring
// each), or unlearn one checkpoint with one method setting. The job writes its rows (result.json) and then its exit
// record (exit.json) itself, so whichever backend ran it, the folder says how it ended.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EvaluationResult } from '../../shared/metricTypes';
import type { RunManifest } from '../../shared/runManifest';
import type { ExitRecord, SweepJob, SweepRow, TrainCurves, TrainKey, UnlearnKey } from '../../shared/sweepTypes';
import { getAnyMethod, resolveHyperParams } from '../methods/registry';
import { type ResolvedPreset, resolvePreset } from '../presets';
import { relChange, selectionScore, utilityOf } from '../runs/compareRun';
import { mitigate, prepareBase } from '../runs/mitigateRun';
import { evaluateSubject, openSubject } from '../runs/subject';
import { trainRun } from '../runs/trainRun';
import { Runtime } from '../runtime/session';
import type { TrainJob } from '../../shared/engineMessages';
import { checkpointDir, evaluationFile, findJob, jobDir, readJson, readPlan, writeJson } from './folder';
import { overrideWords } from './spec';

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
/** A row's derived fields from its before/after measurements. */
export function withChanges(r: SweepRow): SweepRow {
  const memChangePct = relChange(r.memAfter, r.memBefore);
  const utilityChangePct = relChange(r.utilityAfter, r.utilityBefore);
  return { ...r, memChangePct, utilityChangePct, score: selectionScore(memChangePct, utilityChangePct, r.utility) };
}

/** The preset a train key trains, with checkpoints saved at every epoch the sweep unlearns. */
export function keyPreset(k: TrainKey): ResolvedPreset {
  const every = k.checkpoints.reduce(gcd);
  const words = { ...overrideWords(k.set), seed: String(k.seed), 'train.checkpointEvery': String(every) };
  return resolvePreset(k.preset, words);
}

function baseRow(job: SweepJob, p: ResolvedPreset, checkpoint: number, rt: Runtime): SweepRow {
  const k = job.key;
  return {
    job: job.id, stage: k.stage, preset: p.name, set: k.stage === 'train' ? k.set : {}, dataset: p.data.dataset,
    artifact: p.data.options.artifact, nLayer: p.model.n_layer, seed: k.seed, checkpoint, method: 'base',
    family: 'base', hyperParams: {}, utility: p.data.dataset === 'math' ? 'accuracy' : 'perplexity', memBefore: null,
    memAfter: null, utilityBefore: null, utilityAfter: null, memChangePct: null, utilityChangePct: null, score: null,
    seconds: 0, provider: '', threads: rt.threads, host: os.hostname(), finishedAt: '',
  };
}

const measured = (e: EvaluationResult) =>
  ({ memAfter: e.memorization?.percentMemorized ?? null, utilityAfter: utilityOf(e), provider: e.provider });

/** A job's runtime settings: threads, providers and, for train jobs, training steps per session run. */
type JobRuntime = NonNullable<TrainJob['runtime']>;

async function trainJob(dir: string, job: SweepJob, k: TrainKey, rt: Runtime,
  runtime: JobRuntime): Promise<SweepRow[]> {
  const preset = keyPreset(k);
  const out = path.join(jobDir(dir, job.id), 'model');
  const keep = new Set(k.checkpoints);
  const run = trainRun({
    preset, out, force: true, evaluate: false, runtime,
    regularizer: k.regularizer ?? undefined,
    // Each checkpoint the sweep unlearns is copied as it is saved (the folder itself is overwritten by the next).
    onCheckpoint: (c) => {
      if (!keep.has(Math.round(c.epoch))) return;
      const to = checkpointDir(dir, job.id, Math.round(c.epoch));
      fs.rmSync(to, { recursive: true, force: true });
      fs.cpSync(c.dir, to, { recursive: true, filter: (f) => !path.basename(f).startsWith('.') || f === c.dir });
    },
  });
  const r = await run.result;
  if (r.stopped) throw new Error('training was stopped');
  const seconds = r.manifest.progress.seconds;
  const rows: SweepRow[] = [];
  const metrics: TrainCurves['metrics'] = [];
  for (const epoch of k.checkpoints) {
    const e = await evaluateSubject(rt, openSubject(checkpointDir(dir, job.id, epoch)));
    writeJson(evaluationFile(dir, job.id, epoch), e);
    const row = { ...baseRow(job, preset, epoch, rt), ...measured(e), seconds, finishedAt: new Date().toISOString() };
    if (k.regularizer) {
      Object.assign(row, { method: k.regularizer.id, family: 'regularizer', hyperParams: k.regularizer.hyperParams });
    }
    rows.push(row);
    metrics.push({ epoch, memorization: row.memAfter, utility: row.utilityAfter });
  }
  const curves: TrainCurves = { job: job.id, preset: preset.name, seed: k.seed, regularizer: k.regularizer?.id ?? null,
    loss: (r.manifest as RunManifest).lossHistory, metrics };
  writeJson(path.join(jobDir(dir, job.id), 'curves.json'), curves);
  return rows;
}

async function unlearnJob(dir: string, job: SweepJob, k: UnlearnKey, rt: Runtime): Promise<SweepRow[]> {
  const plan = readPlan(dir);
  const train = findJob(plan, k.train).key as TrainKey;
  const preset = keyPreset(train);
  const subject = openSubject(checkpointDir(dir, k.train, k.checkpoint));
  // The train job measured this checkpoint already (the same model, data and providers); a sweep folder from before
  // that file existed is measured here.
  const e = readJson<EvaluationResult>(evaluationFile(dir, k.train, k.checkpoint))
    ?? await evaluateSubject(rt, subject);
  const before = measured(e);
  const row = { ...baseRow(job, preset, k.checkpoint, rt), set: train.set, method: k.method,
    family: getAnyMethod(k.method).family, memBefore: before.memAfter, utilityBefore: before.utilityAfter };
  // A checkpoint that memorized nothing has nothing to unlearn: the row keeps the base model's numbers, with a note.
  if (!e.memorization?.forgetSet.length) {
    const hyperParams = resolveHyperParams(getAnyMethod(k.method), k.hyperParams);
    return [withChanges({ ...row, ...before, hyperParams, finishedAt: new Date().toISOString(),
      note: 'nothing memorized at this checkpoint: the method was not run' })];
  }
  const base = await prepareBase(rt, subject.dir, { sets: subject, before: e, seed: k.seed });
  const m = await mitigate(rt, base, { method: k.method, hyperParams: k.hyperParams, seed: k.seed });
  return [withChanges({ ...row, hyperParams: m.record.hyperParams, ...measured(m.after), seconds: m.record.seconds,
    finishedAt: new Date().toISOString() })];
}

/** Runs job `id` of the sweep in `dir`; writes result.json and exit.json and returns the exit code (0 = done). */
export async function runSweepJob(dir: string, id: string, runtime: JobRuntime = {}): Promise<number> {
  const job = findJob(readPlan(dir), id);
  const folder = jobDir(dir, id);
  fs.mkdirSync(folder, { recursive: true });
  fs.rmSync(path.join(folder, 'exit.json'), { force: true });
  fs.rmSync(path.join(folder, 'result.json'), { force: true });
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const rt = new Runtime(runtime);
  const exit = (code: number, provider: string, error?: string): ExitRecord => ({
    job: id, code, ...(error ? { error } : {}), startedAt, finishedAt: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000, host: os.hostname(), provider,
  });
  try {
    const k = job.key;
    const rows = k.stage === 'train' ? await trainJob(dir, job, k, rt, runtime) : await unlearnJob(dir, job, k, rt);
    writeJson(path.join(folder, 'result.json'), rows);
    writeJson(path.join(folder, 'exit.json'), exit(0, rows[0]?.provider ?? ''));
    return 0;
  } catch (e) {
    writeJson(path.join(folder, 'exit.json'), exit(1, '', e instanceof Error ? e.message : String(e)));
    return 1;
  } finally {
    await rt.dispose();
  }
}

/** Records a job ended by a signal (SIGTERM from `sweep cancel` or Slurm's scancel) before the process exits. */
export function recordCancelled(dir: string, id: string, signal: string): void {
  const at = new Date().toISOString();
  writeJson(path.join(jobDir(dir, id), 'exit.json'), {
    job: id, code: 143, error: `cancelled (${signal})`, startedAt: at, finishedAt: at, seconds: 0, host: os.hostname(),
    provider: '',
  } satisfies ExitRecord);
}
