// tinymem sweep SPEC.yaml | status DIR | cancel DIR | retry DIR | report DIR, and the internal `sweep job` that runs
// one job in its own process (what both backends start).
import * as fs from 'node:fs';
import { userError } from '../../shared/userError';
import { recordCancelled, runSweepJob } from '../../engine/sweep/runJob';
import { type SweepResult, type SweepRunOptions, cancelSweep, reportSweep, retrySweep, runSweep, sweepStatus,
} from '../../engine/sweep/run';
import { planSweep } from '../../engine/sweep/plan';
import { loadSweepSpec } from '../../engine/sweep/spec';
import { table } from '../format';
import { note } from '../progress';

export interface SweepFlags {
  out?: string;
  backend?: 'local' | 'slurm';
  json?: boolean;
}

/** Notes and progress on stderr; Ctrl-C or SIGTERM stops the local jobs (they are recorded as cancelled). */
async function withSignals(run: (o: SweepRunOptions) => Promise<SweepResult>): Promise<number> {
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
    console.log(r.rows.length ? `${r.rows.length} rows (${failed} failed) in ${r.dir}/results.csv, ` +
      'results.jsonl and report.html' : `submitted ${r.submitted} jobs; see \`tinymem sweep status ${r.dir}\``);
    return stop.signal.aborted ? 130 : failed ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const sweepCommand = (spec: string, f: SweepFlags & { dryRun?: boolean }) => (f.dryRun ? dryRun(spec)
  : withSignals((o) => runSweep(spec, { ...o, out: f.out, backend: f.backend })));

/** The plan's size by stage and method, without writing anything. */
function dryRun(file: string): number {
  const jobs = planSweep(loadSweepSpec(file));
  const by = new Map<string, number>();
  for (const j of jobs) {
    const k = j.key;
    const what = k.stage === 'train' ? `train${k.regularizer ? ` (${k.regularizer.id})` : ''}` : k.method;
    by.set(what, (by.get(what) ?? 0) + 1);
  }
  const trains = jobs.filter((j) => j.key.stage === 'train').length;
  console.log(`${jobs.length} jobs: ${trains} train, ${jobs.length - trains} unlearn`);
  console.log(table([['what', 'jobs'], ...[...by].map(([k, n]) => [k, String(n)])]));
  return 0;
}

export const retryCommand = (dir: string) => withSignals((o) => retrySweep(dir, o));

export async function statusCommand(dir: string, f: SweepFlags): Promise<number> {
  const s = await sweepStatus(dir);
  if (f.json) {
    console.log(JSON.stringify(s, null, 1));
    return 0;
  }
  console.log(`${s.total} jobs: ${Object.entries(s.counts).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`)
    .join(', ')}`);
  const notable = s.jobs.filter((j) => j.state !== 'done' && j.state !== 'pending');
  if (notable.length) {
    console.log(table([['job', 'state', 'what', 'error'], ...notable.map((j) => [j.id, j.state, j.label,
      j.error ?? ''])]));
  }
  return s.counts.failed + s.counts.cancelled ? 1 : 0;
}

export async function cancelCommand(dir: string): Promise<number> {
  const ids = await cancelSweep(dir);
  console.log(ids.length ? `cancelled ${ids.length} jobs: ${ids.join(', ')}` : 'no job was queued or running');
  return 0;
}

export async function reportCommand(dir: string): Promise<number> {
  const { rows } = await reportSweep(dir);
  console.log(`${rows.length} rows in ${dir}/results.csv, results.jsonl and report.html`);
  return 0;
}

export interface JobFlags {
  list?: string;
  index?: string;
  threads?: number;
  providers?: string;
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
  const providers = f.providers?.split(',').map((s) => s.trim()).filter(Boolean);
  return runSweepJob(dir, job, { threads: f.threads ?? 1, providers });
}
