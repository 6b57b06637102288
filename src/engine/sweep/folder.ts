// A sweep's folder: the spec as given, the plan, and one folder per job holding what the job wrote itself (its exit
// record, its table rows, its log; a train job's checkpoints). Everything a backend or a report needs to know about
// finished work is read from here, so any machine that shares the folder can answer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExitRecord, JobState, SweepJob, SweepRow, SweepSpec, TrainCurves } from '../../shared/sweepTypes';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { userError } from '../../shared/userError';

export const PLAN_FILE = 'plan.json';

export const jobDir = (dir: string, id: string) => path.join(dir, 'jobs', id);
export const checkpointDir = (dir: string, trainId: string, epoch: number) =>
  path.join(jobDir(dir, trainId), 'checkpoints', `epoch-${epoch}`);
/** The train job's measurement of a checkpoint, which every unlearn job of that checkpoint starts from. */
export const evaluationFile = (dir: string, trainId: string, epoch: number) =>
  path.join(jobDir(dir, trainId), 'checkpoints', `epoch-${epoch}.evaluation.json`);

export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Writes a text file atomically (readers on other nodes see the old file or the new one, never half). */
export const writeText = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, [new TextEncoder().encode(text)]);
};

export const writeJson = (file: string, x: unknown) => writeText(file, JSON.stringify(x, null, 1) + '\n');

export const readExit = (dir: string, id: string) => readJson<ExitRecord>(path.join(jobDir(dir, id), 'exit.json'));
export const readRows = (dir: string, id: string) => readJson<SweepRow[]>(path.join(jobDir(dir, id), 'result.json'));
export const readCurves = (dir: string, id: string) =>
  readJson<TrainCurves>(path.join(jobDir(dir, id), 'curves.json'));

/** What the job's own files say: done (exit 0 and rows), failed, or pending (never ended, or ended elsewhere). */
export function fileState(dir: string, id: string): JobState {
  const exit = readExit(dir, id);
  if (!exit) return 'pending';
  if (exit.code !== 0) return exit.code === 143 ? 'cancelled' : 'failed';
  return readRows(dir, id) ? 'done' : 'failed';
}

export interface SweepPlan {
  spec: SweepSpec;
  jobs: SweepJob[];
}

/** The plan of a sweep folder; a folder that is not a sweep's fails naming what to pass instead. */
export function readPlan(dir: string): SweepPlan {
  const plan = readJson<SweepPlan>(path.join(dir, PLAN_FILE));
  if (!plan?.jobs) {
    throw userError(dir, `is not a sweep folder (no ${PLAN_FILE}); pass the folder \`tinymem sweep SPEC\` wrote`,
      'file');
  }
  return plan;
}

/**
 * Makes or reuses a sweep folder. A folder of an earlier sweep is reused (its finished jobs are kept, a changed
 * setting adds new job folders beside them); any other non-empty folder is refused, so nothing of the user's is
 * overwritten.
 */
export function writePlan(dir: string, specText: string, plan: SweepPlan): void {
  const entries = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  if (entries.length && !entries.includes(PLAN_FILE)) {
    throw userError(dir, 'exists and is not a sweep folder; choose another --out or empty it', 'output');
  }
  fs.mkdirSync(path.join(dir, 'jobs'), { recursive: true });
  writeText(path.join(dir, 'sweep.yaml'), specText);
  writeJson(path.join(dir, PLAN_FILE), plan);
  for (const j of plan.jobs) {
    const f = path.join(jobDir(dir, j.id), 'job.json');
    if (!fs.existsSync(f)) writeJson(f, j);
  }
}

/** A job of the plan by id. */
export function findJob(plan: SweepPlan, id: string): SweepJob {
  const job = plan.jobs.find((j) => j.id === id);
  if (!job) throw userError(id, 'is not a job of this sweep; see `tinymem sweep status DIR`');
  return job;
}
