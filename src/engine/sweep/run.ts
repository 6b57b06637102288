// Running, watching and mending a sweep: plan the spec into its folder, hand the jobs that are not done to the
// backend, and gather the table. Re-running a spec skips done jobs; failed or cancelled ones wait for `retry`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobState, SweepJob, SweepRow, TrainCurves } from '../../shared/sweepTypes';
import type { SweepBackend } from './backend';
import { type SweepPlan, fileState, jobDir, readExit, readPlan, writePlan } from './folder';
import { localBackend } from './local';
import { planSweep } from './plan';
import { writeSweepReport } from './report';
import { slurmBackend } from './slurm';
import { loadSweepSpec } from './spec';
import { gatherCurves, gatherRows, writeTable } from './table';

export interface SweepProgress {
  done: number;
  failed: number;
  total: number;
  running: string[];
}

export interface SweepRunOptions {
  out?: string;
  backend?: 'local' | 'slurm';
  signal?: AbortSignal;
  onNote?(line: string): void;
  onProgress?(p: SweepProgress): void;
}

export interface SweepResult {
  dir: string;
  /** Jobs handed to the backend by this call (0 when everything was done already). */
  submitted: number;
  rows: SweepRow[];
  curves: TrainCurves[];
}

export const backendFor = (name: 'local' | 'slurm'): SweepBackend => (name === 'slurm' ? slurmBackend : localBackend);

/** Every job's state: the scheduler's word for live jobs, else the job's own files. */
export async function jobStates(dir: string, plan = readPlan(dir)): Promise<Map<string, JobState>> {
  const live = await backendFor(plan.spec.backend).states(dir);
  return new Map(plan.jobs.map((j) => {
    const own = fileState(dir, j.id);
    return [j.id, own === 'pending' ? live.get(j.id) ?? own : own];
  }));
}

const count = (states: Map<string, JobState>, s: JobState) => [...states.values()].filter((x) => x === s).length;

async function submit(dir: string, plan: SweepPlan, jobs: SweepJob[], o: SweepRunOptions): Promise<void> {
  const note = o.onNote ?? (() => {});
  if (!jobs.length) return;
  const backend = backendFor(plan.spec.backend);
  const total = plan.jobs.length;
  const progress = (running: string[]) => {
    const states = plan.jobs.map((j) => fileState(dir, j.id));
    o.onProgress?.({ done: states.filter((s) => s === 'done').length,
      failed: states.filter((s) => s === 'failed' || s === 'cancelled').length, total, running });
  };
  progress([]);
  await backend.submit(dir, plan.spec, jobs, { onNote: note, onProgress: progress, signal: o.signal });
}

/** Writes results.csv, results.jsonl and report.html from what the jobs wrote; returns the rows and curves. */
export async function reportSweep(dir: string, plan = readPlan(dir)): Promise<{ rows: SweepRow[];
  curves: TrainCurves[]; }> {
  const data = { rows: gatherRows(dir, plan), curves: gatherCurves(dir, plan) };
  writeTable(dir, data.rows);
  await writeSweepReport(dir, data);
  return data;
}

export async function runSweep(specFile: string, o: SweepRunOptions = {}): Promise<SweepResult> {
  const spec = loadSweepSpec(specFile);
  if (o.backend) spec.backend = o.backend;
  const dir = o.out ?? path.join('sweeps', spec.name);
  const plan: SweepPlan = { spec, jobs: planSweep(spec) };
  writePlan(dir, fs.readFileSync(specFile, 'utf8'), plan);
  const states = await jobStates(dir, plan);
  const todo = plan.jobs.filter((j) => states.get(j.id) === 'pending');
  const stuck = count(states, 'failed') + count(states, 'cancelled');
  o.onNote?.(`${plan.jobs.length} jobs: ${count(states, 'done')} done, ${todo.length} to run` +
    `${stuck ? `, ${stuck} failed or cancelled (not re-run: \`tinymem sweep retry ${dir}\`)` : ''}` +
    `${count(states, 'queued') + count(states, 'running') ? ', others queued or running' : ''}`);
  await submit(dir, plan, todo, o);
  return { dir, submitted: todo.length, ...(spec.backend === 'local' || !todo.length ? await reportSweep(dir, plan)
    : { rows: [], curves: [] }) };
}

/** Re-runs the failed and cancelled jobs (and those that never ran because of them). */
export async function retrySweep(dir: string, o: SweepRunOptions = {}): Promise<SweepResult> {
  const plan = readPlan(dir);
  const states = await jobStates(dir, plan);
  const todo = plan.jobs.filter((j) => ['failed', 'cancelled', 'pending'].includes(states.get(j.id)!));
  for (const j of todo) fs.rmSync(path.join(jobDir(dir, j.id), 'exit.json'), { force: true });
  o.onNote?.(`re-running ${todo.length} of ${plan.jobs.length} jobs`);
  await submit(dir, plan, todo, o);
  return { dir, submitted: todo.length, ...(plan.spec.backend === 'local' || !todo.length ? await reportSweep(dir, plan)
    : { rows: [], curves: [] }) };
}

export async function cancelSweep(dir: string): Promise<string[]> {
  return backendFor(readPlan(dir).spec.backend).cancel(dir);
}

export interface SweepStatus {
  counts: Record<JobState, number>;
  total: number;
  jobs: { id: string; label: string; state: JobState; error?: string }[];
}

export async function sweepStatus(dir: string): Promise<SweepStatus> {
  const plan = readPlan(dir);
  const states = await jobStates(dir, plan);
  const all: JobState[] = ['pending', 'queued', 'running', 'done', 'failed', 'cancelled'];
  return {
    counts: Object.fromEntries(all.map((s) => [s, count(states, s)])) as Record<JobState, number>,
    total: plan.jobs.length,
    jobs: plan.jobs.map((j) => {
      const error = readExit(dir, j.id)?.error;
      return { id: j.id, label: j.label, state: states.get(j.id)!, ...(error ? { error } : {}) };
    }),
  };
}
