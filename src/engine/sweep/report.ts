// A sweep's report: the paper's selection per method applied to the table rows, summarized next to the paper's
// numbers, with every run and the training curves, as one notebook view (mime "sweep") and as DIR/report.html.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../shared/atomicWrite';
import { userError } from '../../shared/userError';
import type { ExitRecord, SweepRow, TrainCurves } from '../../shared/sweepTypes';
import { type SweepViewCurvePoint, type SweepViewPayload, type SweepViewRun, type SweepViewSummary, VIEW_LIMITS,
  VIEW_MIME, type ViewOutput } from '../../shared/viewPayloads';
import { formatHyperParams } from '../report/comparisonView';
import { fmt, mdTable, mdText } from '../report/format';
import { renderHtmlReport } from '../report/htmlReport';
import { PAPER_TABLES } from './paperTables';
import { type MethodSummary, compareWithPaper, experimentOf, selectRuns, summarize } from './select';

export interface SweepMeta {
  name: string;
  jobs: { total: number; done: number; failed: number };
}

/** At most `n` of `xs`, evenly spread, first and last kept. */
function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  if (n <= 1) return xs.slice(0, n);
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]!);
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

function curvePoints(curves: readonly TrainCurves[]): SweepViewCurvePoint[] {
  const per = Math.max(2, Math.min(400, Math.floor(VIEW_LIMITS.curvePoints / Math.max(1, curves.length))));
  return curves.flatMap((c) => {
    const byEpoch = new Map<number, SweepViewCurvePoint>();
    const at = (epoch: number) => byEpoch.get(epoch) ?? byEpoch.set(epoch, { job: c.job, preset: c.preset,
      seed: c.seed, regularizer: c.regularizer ?? 'none', epoch, loss: null, memorization: null }).get(epoch)!;
    for (const l of c.loss) if (finite(l.epoch) && finite(l.loss)) at(l.epoch).loss = l.loss;
    for (const m of c.metrics) if (finite(m.epoch) && finite(m.memorization)) at(m.epoch).memorization = m.memorization;
    const points = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
    // Thinning keeps every point with a memorization measurement (the checkpoints), the loss points spread out.
    const measured = points.filter((p) => p.memorization !== null);
    const kept = new Set([...spread(points, Math.max(2, per - measured.length)), ...measured.slice(0, per)]);
    return points.filter((p) => kept.has(p));
  }).slice(0, VIEW_LIMITS.curvePoints);
}

/** The sweep view: every run, the chosen ones marked, per-method means (overall and by size) beside the paper's. */
export function sweepReport(rows: readonly SweepRow[], curves: readonly TrainCurves[], meta: SweepMeta,
  title = `Sweep ${meta.name}`): ViewOutput {
  const selected = selectRuns(rows);
  const chosen = new Set(selected);
  // Rows with a note were not run (nothing memorized); failed rows have no numbers.
  const plotted = rows.filter((r) => r.method !== 'base' && !r.error && !r.note && finite(r.memAfter) &&
    finite(r.utilityAfter));
  const picked = spread(plotted.filter((r) => !chosen.has(r)), Math.max(0, VIEW_LIMITS.sweepRuns - chosen.size));
  const runs: SweepViewRun[] = [...spread(selected, VIEW_LIMITS.sweepRuns), ...picked].map((r) => ({
    experiment: experimentOf(r), method: r.method, nLayer: r.nLayer, seed: r.seed, checkpoint: r.checkpoint,
    hyperParams: formatHyperParams(r.hyperParams), mem: r.memAfter!, utility: r.utilityAfter!, selected: chosen.has(r),
  }));
  const summaries = summarize(selected);
  const compared = compareWithPaper(summaries);
  const withPaper = (s: MethodSummary): SweepViewSummary => {
    const p = s.nLayer === null ? PAPER_TABLES[s.experiment]?.methods[s.method] : undefined;
    const r = compared.find((c) => c.experiment === s.experiment)?.ranks.find((x) => x.method === s.method);
    const { utility: _, ...rest } = s;
    return { ...rest, paper: p && r ? { ...p, rank: r.paper, ourRank: r.ours } : null };
  };
  const utilities = new Map(plotted.map((r) => [experimentOf(r), r.utility]));
  const experiments = [...utilities.keys()].sort().map((id) => ({ id, utility: utilities.get(id)!,
    source: PAPER_TABLES[id]?.source ?? null, spearman: compared.find((c) => c.experiment === id)?.spearman ?? null }));
  const payload: SweepViewPayload = { version: 1, title, jobs: meta.jobs, measured: plotted.length, experiments, runs,
    summary: summaries.map(withPaper), byLayer: summarize(selected, { byLayer: true }).map(withPaper),
    curves: curvePoints(curves) };
  return { mime: VIEW_MIME.sweep, payload, markdown: sweepMarkdown(payload) };
}

function sweepMarkdown(p: SweepViewPayload): string {
  const head = `**${mdText(p.title)}**: ${p.jobs.done} of ${p.jobs.total} jobs done, ${p.jobs.failed} failed; ` +
    `${p.measured} runs. Per method, the means of the run the paper\u2019s rule chooses per model (spec §4.F).`;
  const parts = p.experiments.map((e) => {
    const u = e.utility;
    const rows = p.summary.filter((s) => s.experiment === e.id).map((s) => [mdText(s.method), String(s.cells),
      fmt(s.mem, 2, '%'), fmt(s.utilityAfter, 2), fmt(s.utilityChangePct, 2, '%'), fmt(s.utilityChangeMedian, 2, '%'),
      fmt(s.seconds, 1, ' s'), fmt(s.paper?.mem, 2, '%'), fmt(s.paper?.utilityAfter, 2),
      fmt(s.paper?.utilityChangePct, 2, '%'), s.paper ? `${s.paper.ourRank} / ${s.paper.rank}` : '—',
      s.paper && s.paper.ourRank !== s.paper.rank ? 'order differs' : '']);
    const paper = e.source ? `paper: ${mdText(e.source)}` + (e.spearman === null ? ''
      : `; rank correlation ρ = ${fmt(e.spearman, 2)}`) : 'the paper has no table for this experiment';
    return `### ${mdText(e.id)}\n\n${paper}\n\n` + mdTable(['method', 'models', 'mem', u, `Δ ${u}`, 'median Δ',
      'time', 'paper mem', `paper ${u}`, 'paper Δ', 'rank ours / paper', ''], rows);
  });
  return [head, ...parts].join('\n\n') + '\n';
}

const readJson = <T>(file: string): T | null => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8'))
  : null) as T | null;

/** The sweep's name and job counts, from DIR/plan.json and the jobs' exit records. */
export function sweepMeta(dir: string): SweepMeta {
  const jobsDir = path.join(dir, 'jobs');
  const ids = fs.existsSync(jobsDir) ? fs.readdirSync(jobsDir).sort() : [];
  const exits = ids.flatMap((id) => readJson<ExitRecord>(path.join(jobsDir, id, 'exit.json')) ?? []);
  const plan = readJson<{ spec?: { name?: string }; jobs?: unknown[] }>(path.join(dir, 'plan.json'));
  return { name: plan?.spec?.name ?? path.basename(path.resolve(dir)), jobs: { total: plan?.jobs?.length ?? ids.length,
    done: exits.filter((e) => e.code === 0).length, failed: exits.filter((e) => e.code !== 0).length } };
}

/** DIR's table (results.jsonl) and every job folder's curves, as a finished sweep left them. */
function readReportData(dir: string): { rows: SweepRow[]; curves: TrainCurves[] } {
  const table = path.join(dir, 'results.jsonl');
  if (!fs.existsSync(table) && !fs.existsSync(path.join(dir, 'plan.json'))) {
    throw userError(dir, 'is not a sweep folder (it has no plan.json or results.jsonl); give the folder that ' +
      '`tinymem sweep` wrote (default sweeps/<name>)', 'file');
  }
  const rows = fs.existsSync(table) ? fs.readFileSync(table, 'utf8').split('\n').filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SweepRow) : [];
  const jobsDir = path.join(dir, 'jobs');
  const ids = fs.existsSync(jobsDir) ? fs.readdirSync(jobsDir).sort() : [];
  return { rows, curves: ids.flatMap((id) => readJson<TrainCurves>(path.join(jobsDir, id, 'curves.json')) ?? []) };
}

/**
 * Writes DIR/report.html from the sweep's rows and curves (those just gathered, or else read back from DIR) and the
 * jobs' exit records; returns its path.
 */
export async function writeSweepReport(dir: string, data = readReportData(dir)): Promise<string> {
  const { rows, curves } = data;
  const meta = sweepMeta(dir);
  const view = sweepReport(rows, curves, meta);
  const html = await renderHtmlReport({ title: `Sweep ${meta.name}`, cells: [
    { kind: 'markdown', source: `Sweep folder ${mdText(path.resolve(dir))}.`, outputs: [view] },
    { kind: 'markdown', source: view.markdown, outputs: [] },
  ] });
  const out = path.join(dir, 'report.html');
  writeFileAtomicSync(out, [new TextEncoder().encode(html)]);
  return out;
}
