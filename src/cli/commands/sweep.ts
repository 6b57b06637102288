// tinymem sweep SPEC.yaml | status DIR | cancel DIR | retry DIR | report DIR, and the internal `sweep job` that runs
// one job in its own process (what both backends start).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { userError } from '../../shared/userError';
import { recordCancelled, runSweepJob } from '../../engine/sweep/runJob';
import { jobDir } from '../../engine/sweep/folder';
import { type SweepResult, type SweepRunOptions, cancelSweep, reportSweep, retrySweep, runSweep, sweepStatus,
} from '../../engine/sweep/run';
import { planSweep } from '../../engine/sweep/plan';
import { loadSweepSpec } from '../../engine/sweep/spec';
import { table } from '../format';
import { printJson } from '../json';
import { note } from '../progress';

export interface SweepFlags {
  out?: string;
  backend?: 'local' | 'slurm';
  json?: boolean;
}

/** The files a sweep's report writes into its folder. */
const reportFiles = (dir: string) => ['results.csv', 'results.jsonl', 'report.html'].map((n) => path.join(dir, n));

/** Notes and progress on stderr; Ctrl-C or SIGTERM stops the local jobs (they are recorded as cancelled). */
async function withSignals(run: (o: SweepRunOptions) => Promise<SweepResult>, json?: boolean): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let last = '';
    const r = await run({
      signal: stop.signal,
      onNote: note,
      onProgress: (p) => {
        const line = `[${p.done}/${p.total} done${p.failed ? `, ${p.failed} failed` : ''}] ` +
          `running: ${p.running.join('; ') || '-'}`;
        if (line !== last) process.stderr.write(line + '\n');
        last = line;
      },
    });
    const failed = r.rows.filter((x) => x.error).length;
    const code = stop.signal.aborted ? 130 : failed ? 1 : 0;
    if (json) {
      printJson({ dir: r.dir, submitted: r.submitted, stopped: stop.signal.aborted, failed,
        files: r.rows.length ? reportFiles(r.dir) : [], rows: r.rows });
      return code;
    }
    console.log(r.rows.length ? `${r.rows.length} rows (${failed} failed) in ${r.dir}/results.csv, ` +
      'results.jsonl and report.html' : `submitted ${r.submitted} jobs; see \`tinymem sweep status ${r.dir}\``);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const sweepCommand = (spec: string, f: SweepFlags & { dryRun?: boolean }) => (f.dryRun ? dryRun(spec, f.json)
  : withSignals((o) => runSweep(spec, { ...o, out: f.out, backend: f.backend }), f.json));

/** The plan's size by stage and method, without writing anything. */
function dryRun(file: string, json?: boolean): number {
  const jobs = planSweep(loadSweepSpec(file));
  const by = new Map<string, number>();
  for (const j of jobs) {
    const k = j.key;
    const what = k.stage === 'train' ? `train${k.regularizer ? ` (${k.regularizer.id})` : ''}` : k.method;
    by.set(what, (by.get(what) ?? 0) + 1);
  }
  const trains = jobs.filter((j) => j.key.stage === 'train').length;
  if (json) {
    printJson({ jobs: jobs.length, train: trains, unlearn: jobs.length - trains, by: Object.fromEntries(by) });
    return 0;
  }
  console.log(`${jobs.length} jobs: ${trains} train, ${jobs.length - trains} unlearn`);
  console.log(table([['what', 'jobs'], ...[...by].map(([k, n]) => [k, String(n)])]));
  return 0;
}

export const retryCommand = (dir: string, f: SweepFlags) => withSignals((o) => retrySweep(dir, o), f.json);

export async function statusCommand(dir: string, f: SweepFlags): Promise<number> {
  const s = await sweepStatus(dir);
  const code = s.counts.failed + s.counts.cancelled ? 1 : 0;
  if (f.json) {
    printJson(s);
    return code;
  }
  console.log(`${s.total} jobs: ${Object.entries(s.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`)
    .join(', ')}`);
  const notable = s.jobs.filter((j) => j.state !== 'done' && j.state !== 'pending');
  if (notable.length) {
    console.log(table([['job', 'state', 'what', 'error'], ...notable.map((j) => [j.id, j.state, j.label,
      j.error ?? ''])]));
  }
  return code;
}

export async function cancelCommand(dir: string, f: SweepFlags): Promise<number> {
  const ids = await cancelSweep(dir);
  if (f.json) {
    printJson({ dir, cancelled: ids });
    return 0;
  }
  console.log(ids.length ? `cancelled ${ids.length} jobs: ${ids.join(', ')}` : 'no job was queued or running');
  return 0;
}

export async function reportCommand(dir: string, f: SweepFlags): Promise<number> {
  const { rows } = await reportSweep(dir);
  if (f.json) {
    printJson({ dir, files: reportFiles(dir), rows });
    return 0;
  }
  console.log(`${rows.length} rows in ${dir}/results.csv, results.jsonl and report.html`);
  return 0;
}

export interface JobFlags {
  list?: string;
  index?: string;
  threads?: number;
  providers?: string[];
  stepsPerRun?: number;
  json?: boolean;
}

/** One job, by id or as line `--index` of `--list` (a Slurm array task); exits 143 with a record on SIGTERM. */
export async function jobCommand(dir: string, id: string | undefined, f: JobFlags): Promise<number> {
  let job = id;
  if (f.list !== undefined) {
    const ids = fs.readFileSync(f.list, 'utf8').split('\n').filter(Boolean);
    job = ids[Number(f.index)];
    if (job === undefined) throw userError('--index', `${f.index} is not a line of ${f.list} (${ids.length} jobs)`);
  }
  if (!job) throw userError('ID', 'name the job (or --list FILE --index N)');
  const onSignal = (sig: NodeJS.Signals) => {
    recordCancelled(dir, job, sig);
    process.exit(143);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The backends pass the spec's per-job threads; 1 is the spec's own default.
  const code = await runSweepJob(dir, job, { threads: f.threads ?? 1, providers: f.providers,
    stepsPerRun: f.stepsPerRun });
  if (f.json) printJson({ dir, job, exitCode: code, folder: jobDir(dir, job) });
  return code;
}
