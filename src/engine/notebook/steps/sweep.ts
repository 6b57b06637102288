// `step: sweep` (or a cell `sweep: spec.yaml`): runs a sweep spec with the local backend in its folder, shows the
// jobs done and the running ones while it runs, then the sweep view: the paper's selection per method beside the
// paper's numbers, every run, the model-size figure and the training curves.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ViewOutput } from '../../../shared/viewPayloads';
import { sweepMeta, sweepReport } from '../../sweep/report';
import { runSweep } from '../../sweep/run';
import { loadSweepSpec } from '../../sweep/spec';
import { type CellContext, type CellProgress, type CellResult, resolvePath, stepError, throttle } from '../context';
import type { SweepStep } from '../parseStep';

type Progress = { done: number; failed: number; total: number; running: string[] };

/** "3/12 jobs done, 1 failed · running cpu-math-noise seed 1 · greedy (+1)" */
export function sweepProgressLine(p: Progress): string {
  const failed = p.failed ? `, ${p.failed} failed` : '';
  const more = p.running.length > 1 ? ` (+${p.running.length - 1})` : '';
  return `${p.done}/${p.total} jobs done${failed}${p.running.length ? ` · running ${p.running[0]}${more}` : ''}`;
}

export async function runSweepStep(s: SweepStep, ctx: CellContext, run = runSweep): Promise<CellResult> {
  const file = resolvePath(ctx, s.sweep, 'sweep');
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw stepError('sweep', `${file} is not a file; give a sweep spec (YAML) relative to the notebook's folder`);
  }
  // The spec is checked (and named) before any job starts.
  const out = s.out !== undefined ? resolvePath(ctx, s.out, 'out')
    : resolvePath(ctx, path.join('sweeps', loadSweepSpec(file).name), 'out');
  const progress = throttle<CellProgress>(250, (p) => ctx.onProgress(p));
  let r: Awaited<ReturnType<typeof run>>;
  // The runner's notes ("12 jobs: 0 done, 12 to run") show until the job counts start; then the counts.
  let counting = false;
  try {
    r = await run(file, { out, backend: 'local', signal: ctx.signal,
      onNote: (message) => counting || progress.push({ message }),
      onProgress: (p) => (counting = true) && progress.push({ message: sweepProgressLine(p),
        ...(p.total ? { fraction: (p.done + p.failed) / p.total } : {}) }) });
  } finally {
    progress.flush();
  }
  const meta = sweepMeta(r.dir);
  const view = sweepReport(r.rows, r.curves, meta, s.title ?? `Sweep ${meta.name}`);
  const { done, failed, total } = meta.jobs;
  const retry = failed ? `; re-run the failed ones with \`tinymem sweep retry ${r.dir}\`` : '';
  const status = `${done} of ${total} jobs done, ${failed} failed, in ${r.dir}${retry}.`;
  const outputs: ViewOutput[] = [view, { mime: 'text/markdown', payload: status, markdown: status }];
  const provider = [...new Set(r.rows.map((x) => x.provider).filter(Boolean))].join(', ');
  return { outputs, provider, stopped: ctx.signal.aborted };
}
