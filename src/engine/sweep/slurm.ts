// The Slurm backend: a sweep's jobs as sbatch job arrays, one per stage (the train jobs; the unlearn jobs of each
// train job, waiting for its array task with --dependency=afterok; a report job at the end). Each array task runs
// one job (`tinymem sweep job DIR --list FILE --index $SLURM_ARRAY_TASK_ID`), which writes its own exit record; the
// cluster shares the sweep folder. What was submitted is recorded in DIR/slurm/submissions.json, so `status`,
// `cancel` and `retry` can ask Slurm's own tools (squeue; sacct where the cluster keeps accounting, else scontrol)
// about exactly those tasks. Nothing here needs accounting. spec.slurm.maxParallel throttles each array (`%N`);
// Slurm has no throttle across arrays, so the unlearn jobs of K train jobs may run up to K×N at once (a cluster's
// QOS limits still apply).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { JobState, SlurmResources, SweepJob } from '../../shared/sweepTypes';
import { userError } from '../../shared/userError';
import { type SweepBackend, jobCommand, runtimeArgs } from './backend';
import { readExit, readJson, writeJson } from './folder';
import { reportScript, taskScript } from './slurmScripts';

/** One sbatch call, as recorded in DIR/slurm/submissions.json (appended; the newest record of a job wins). */
export interface SlurmSubmission {
  /** When it was submitted (ISO time). */
  at: string;
  stage: 'train' | 'unlearn' | 'report';
  /** Slurm's job id of the array (or of the report job). */
  slurmId: string;
  /** The list file, relative to the sweep folder (null for the report job). */
  list: string | null;
  /** Sweep job ids by array task index. */
  jobs: string[];
  dependency: string | null;
}

export interface SlurmBackendOptions {
  /** The program and first arguments that run `sweep job …` and `sweep report …` (default: node bin/tinymem.js). */
  command?: string[];
}

/** Slurm's default MaxArraySize is 1001 (task indices 0-1000). */
const MAX_ARRAY = 1000;

const run = (cmd: string, args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(userError('', `Slurm's ${cmd} was not found on PATH: run the sweep with backend: local, or on a ` +
          "cluster's login node", 'resource'));
      } else resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });

const failed = (cmd: string, args: string[], stderr: string) =>
  new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || 'no message'}`);

const submissionsFile = (dir: string) => path.join(dir, 'slurm', 'submissions.json');

export const readSubmissions = (dir: string) => readJson<SlurmSubmission[]>(submissionsFile(dir)) ?? [];
const addSubmission = (dir: string, s: SlurmSubmission) =>
  writeJson(submissionsFile(dir), [...readSubmissions(dir), s]);

/** Each submitted sweep job's newest array task: "ARRAY_INDEX", and when it was submitted. */
function latestTasks(subs: SlurmSubmission[]): Map<string, { task: string; at: string }> {
  const out = new Map<string, { task: string; at: string }>();
  for (const s of subs) s.jobs.forEach((id, i) => out.set(id, { task: `${s.slurmId}_${i}`, at: s.at }));
  return out;
}

const QUEUED = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'CONFIGURING',
  'SUSPENDED']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESIZING']);

/** A Slurm job state as a sweep job state; COMPLETED gives null (the job's own exit record says how it ended). */
function fromSlurm(state: string): JobState | null {
  const s = state.split(/[ +]/)[0]!;
  if (QUEUED.has(s)) return 'queued';
  if (RUNNING.has(s)) return 'running';
  if (s === 'COMPLETED') return null;
  return s === 'CANCELLED' ? 'cancelled' : 'failed';
}

/** Queued and running tasks of the given Slurm job ids ("ARRAY_INDEX", or the id of a job that is no array). */
async function queue(ids: string[]): Promise<Map<string, JobState>> {
  const out = new Map<string, JobState>();
  if (!ids.length) return out;
  const args = ['--noheader', '--array', '--format=%i|%T', `--jobs=${ids.join(',')}`];
  const r = await run('squeue', args);
  // squeue fails on a list of ids that are all unknown to the controller (all long finished).
  if (r.code !== 0 && /invalid job id/i.test(r.stderr)) return out;
  if (r.code !== 0) throw failed('squeue', args, r.stderr);
  for (const line of r.stdout.split('\n')) {
    const [task, state] = line.trim().split('|');
    const s = task && state ? fromSlurm(state) : null;
    if (s) out.set(task!, s);
  }
  return out;
}

let accounting: Promise<boolean> | null = null;
/** Whether the cluster keeps accounting (sacct answers): AccountingStorageType other than accounting_storage/none. */
const hasAccounting = () => (accounting ??= run('scontrol', ['show', 'config']).then((r) => {
  const m = /^AccountingStorageType\s*=\s*(\S+)/m.exec(r.stdout);
  return r.code === 0 && !!m && m[1] !== 'accounting_storage/none';
}));

/** Task indices of an array range as Slurm prints it ("3", "0-7%2", "1,4-5"). */
const indices = (range: string): number[] => range.replace(/%\d+$/, '').split(',').flatMap((part) => {
  const [a, b = a] = part.split('-').map(Number);
  return Number.isInteger(a) && Number.isInteger(b) ? Array.from({ length: b! - a! + 1 }, (_, i) => a! + i) : [];
});

/** Records of array tasks ("123_4", or "123_[0-3]" for tasks that never started) as states by "ARRAY_INDEX". */
export function taskStates(records: { array: string; range: string; state: string }[]) {
  const out = new Map<string, JobState | null>();
  for (const r of records) for (const i of indices(r.range)) out.set(`${r.array}_${i}`, fromSlurm(r.state));
  return out;
}

/** sacct's `JobID|State` lines (--parsable2 --format=JobID,State) as records of array tasks. */
export const sacctRecords = (stdout: string) => stdout.split('\n').flatMap((line) => {
  const m = /^(\d+)_\[?([\d,%-]+)\]?\|(.+)$/.exec(line.trim());
  return m ? [{ array: m[1]!, range: m[2]!, state: m[3]! }] : [];
});

/** `scontrol --oneliner show job ARRAY`'s lines as records of its tasks. */
export const scontrolRecords = (array: string, stdout: string) => stdout.split('\n').flatMap((line) => {
  const range = /\bArrayTaskId=(\S+)/.exec(line)?.[1];
  const state = /\bJobState=(\S+)/.exec(line)?.[1];
  return range && state ? [{ array, range, state }] : [];
});

/**
 * How tasks that left the queue ended, by "ARRAY_INDEX": from sacct, else from scontrol while Slurm remembers them.
 * Tasks that never started (cancelled while pending) are one record for a range of indices in both.
 */
async function ended(arrays: string[]): Promise<Map<string, JobState | null>> {
  if (await hasAccounting()) {
    const r = await run('sacct', ['--noheader', '--parsable2', '--allocations', '--format=JobID,State',
      `--jobs=${arrays.join(',')}`]);
    return taskStates(sacctRecords(r.stdout));
  }
  const records = [];
  for (const a of arrays) {
    const r = await run('scontrol', ['--oneliner', 'show', 'job', a]);
    if (r.code === 0) records.push(...scontrolRecords(a, r.stdout));
  }
  return taskStates(records);
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
/** sbatch options from the spec's resources; the report job (`job` false) takes one CPU and no GPU. */
const resources = (r: SlurmResources, job: boolean) => [
  `--cpus-per-task=${job ? r.cpus : 1}`, `--mem=${r.mem}`, `--time=${r.time}`,
  ...(r.partition ? [`--partition=${r.partition}`] : []), ...(r.account ? [`--account=${r.account}`] : []),
  ...(r.qos ? [`--qos=${r.qos}`] : []), ...(job && r.gpus > 0 ? [`--gres=gpu:${r.gpus}`] : []), ...r.extra,
];

export function makeSlurmBackend(o: SlurmBackendOptions = {}): SweepBackend {
  return {
    name: 'slurm',

    async submit(dirIn, spec, jobs, { onNote }) {
      if (!jobs.length) return;
      const dir = path.resolve(dirIn);
      const sdir = path.join(dir, 'slurm');
      fs.mkdirSync(sdir, { recursive: true });
      fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
      const command = (o.command ?? jobCommand()).map(quote).join(' ');
      const task = path.join(sdir, 'task.sh');
      const report = path.join(sdir, 'report.sh');
      fs.writeFileSync(task, taskScript(command, quote(dir), runtimeArgs(spec).map(quote).join(' ')), { mode: 0o755 });
      fs.writeFileSync(report, reportScript(command, quote(dir)), { mode: 0o755 });
      const batch = `${Date.now().toString(36)}`;
      const name = `tinymem-${spec.name.replace(/[^\w.-]+/g, '-')}`;
      const sbatch = async (stage: SlurmSubmission['stage'], list: SweepJob[], dependency: string | null) => {
        const listFile = stage === 'report' ? null : path.join('slurm', `${batch}-${stage}-${list[0]!.id}.list`);
        if (listFile) fs.writeFileSync(path.join(dir, listFile), list.map((j) => j.id).join('\n') + '\n');
        const max = spec.slurm.maxParallel ? `%${spec.slurm.maxParallel}` : '';
        const args = ['--parsable', `--job-name=${name}-${stage}`, ...resources(spec.slurm, stage !== 'report'),
          ...(dependency ? [`--dependency=${dependency}`, '--kill-on-invalid-dep=yes'] : []),
          ...(listFile ? [`--array=0-${list.length - 1}${max}`, `--output=${path.join(dir, 'logs', '%x-%A_%a.out')}`,
            task, path.join(dir, listFile)] : [`--output=${path.join(dir, 'logs', '%x-%j.out')}`, report])];
        const r = await run('sbatch', args);
        const slurmId = r.stdout.trim().split(';')[0]!;
        if (r.code !== 0 || !/^\d+$/.test(slurmId)) {
          throw userError('slurm', `sbatch refused the ${stage} jobs: ${(r.stderr.trim() || r.stdout.trim()).replace(/\n+/g, '; ')} ` +
            `(sbatch ${args.join(' ')})`, 'resource');
        }
        addSubmission(dir, { at: new Date().toISOString(), stage, slurmId, list: listFile,
          jobs: list.map((j) => j.id), dependency });
        onNote(`submitted ${stage === 'report' ? 'the report job' : `${list.length} ${stage} jobs as array`} ` +
          `${slurmId}${dependency ? ` (${dependency})` : ''}`);
        return slurmId;
      };
      const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / MAX_ARRAY) },
        (_, i) => xs.slice(i * MAX_ARRAY, (i + 1) * MAX_ARRAY));
      // A job's Slurm task by sweep job id: this submission's, else a queued or running one of an earlier submission.
      const tasks = new Map<string, string>();
      const arrays: string[] = [];
      for (const part of chunks(jobs.filter((j) => j.key.stage === 'train'))) {
        const id = await sbatch('train', part, null);
        arrays.push(id);
        part.forEach((j, i) => tasks.set(j.id, `${id}_${i}`));
      }
      let earlier: Map<string, string> | null = null;
      const groups = new Map<string, SweepJob[]>();
      for (const j of jobs.filter((x) => x.key.stage !== 'train')) {
        const deps: string[] = [];
        for (const a of j.after) {
          if (!tasks.has(a) && !earlier) {
            const latest = latestTasks(readSubmissions(dir));
            const live = await queue([...new Set([...latest.values()].map((t) => t.task.split('_')[0]!))]);
            earlier = new Map([...latest].filter(([, t]) => live.has(t.task)).map(([id, t]) => [id, t.task]));
          }
          const t = tasks.get(a) ?? earlier?.get(a);
          if (t) deps.push(t);
        }
        const key = deps.join(':');
        groups.set(key, [...(groups.get(key) ?? []), j]);
      }
      for (const [deps, group] of groups) {
        for (const part of chunks(group)) arrays.push(await sbatch('unlearn', part, deps ? `afterok:${deps}` : null));
      }
      await sbatch('report', [], `afterany:${arrays.join(':')}`);
    },

    async states(dirIn) {
      const dir = path.resolve(dirIn);
      const latest = latestTasks(readSubmissions(dir));
      const out = new Map<string, JobState>();
      if (!latest.size) return out;
      const live = await queue([...new Set([...latest.values()].map((t) => t.task.split('_')[0]!))]);
      const gone: [string, string][] = [];
      for (const [id, t] of latest) {
        const s = live.get(t.task);
        const exit = readExit(dir, id);
        if (s) out.set(id, s);
        // An exit record older than the newest submission belongs to an earlier run of the job.
        else if (!exit || Date.parse(exit.finishedAt) < Date.parse(t.at)) gone.push([id, t.task]);
      }
      if (!gone.length) return out;
      const how = await ended([...new Set(gone.map(([, t]) => t.split('_')[0]!))]);
      // A task that left the queue without an exit record: Slurm's word (cancelled, timed out, out of memory,
      // failed), or failed when Slurm no longer remembers it. A completed one without a record yet is left to the
      // files (a shared file system may show the record a moment later).
      for (const [id, t] of gone) {
        const s = how.has(t) ? how.get(t)! : 'failed';
        if (s) out.set(id, s);
      }
      return out;
    },

    async cancel(dirIn) {
      const dir = path.resolve(dirIn);
      const subs = readSubmissions(dir);
      if (!subs.length) return [];
      const latest = latestTasks(subs);
      const live = await queue([...new Set(subs.map((s) => s.slurmId))]);
      const ids = [...new Set(subs.map((s) => s.slurmId))]
        .filter((a) => [...live.keys()].some((t) => t === a || t.startsWith(`${a}_`)));
      if (ids.length) {
        const r = await run('scancel', ids);
        if (r.code !== 0 && !/already completing or completed|invalid job id/i.test(r.stderr)) {
          throw failed('scancel', ids, r.stderr);
        }
      }
      return [...latest].filter(([, t]) => live.has(t.task)).map(([id]) => id);
    },
  };
}

export const slurmBackend: SweepBackend = makeSlurmBackend();
