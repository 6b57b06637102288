// A sweep's results, per experiment (dataset × artifact): memorization against accuracy or perplexity for every run
// (the paper's chosen run per base model and method filled and large), the chosen runs' means by model size, and a
// table of the per-method means next to the paper's numbers and ranks; below, the training curves of every train job.
// One colour per method across all charts.
import type { SweepViewPayload, SweepViewSummary } from '../../src/shared/viewPayloads';
import { num, seconds, signed } from './format';
import { type TableColumn, columnWidth, textTable } from './textTable';
import { type ChartTheme, themeConfig } from './theme';
import type { VlSpec } from './types';

export const SWEEP_CURVES_NAME = 'train_curves';
/** The name of an experiment's marks (`runs`, `by_layers`, `table`): vega refuses two marks of one name in a chart,
 *  and each experiment (math-noise, math-backdoor, …) draws its own. */
export const sweepMarkName = (base: 'runs' | 'by_layers' | 'table', experiment: string) =>
  `${base}_${experiment.replace(/[^A-Za-z0-9]/g, '_')}`;

const utilityTitle = (u: 'accuracy' | 'perplexity') => (u === 'accuracy' ? 'accuracy (%)' : 'test perplexity');

/** The table of one experiment: our means of the chosen runs, the paper's, and whether the order differs. */
export function sweepTableRows(p: SweepViewPayload, experiment: string): Record<string, string>[] {
  const u = p.experiments.find((e) => e.id === experiment)?.utility ?? 'accuracy';
  const pct = u === 'accuracy' ? '%' : '';
  return p.summary.filter((s) => s.experiment === experiment).map((s: SweepViewSummary) => ({
    method: s.method,
    cells: String(s.cells),
    mem: num(s.mem, 2, '%'),
    utility: num(s.utilityAfter, 2, pct),
    change: signed(s.utilityChangePct, 2),
    median: signed(s.utilityChangeMedian, 2),
    time: seconds(s.seconds),
    paperMem: s.paper ? num(s.paper.mem, 2, '%') : '—',
    paperUtility: s.paper ? num(s.paper.utilityAfter, 2, pct) : '—',
    paperChange: s.paper ? signed(s.paper.utilityChangePct, 2) : '—',
    rank: s.paper ? `${s.paper.ourRank} / ${s.paper.rank}` : '—',
    note: s.paper && s.paper.ourRank !== s.paper.rank ? 'order differs' : '',
  }));
}

const message = (text: string, t: ChartTheme): VlSpec => ({ data: { values: [{ text }] },
  mark: { type: 'text', align: 'left', color: t.muted }, encoding: { text: { field: 'text' } }, width: 300,
  height: 20 });

function experimentSection(p: SweepViewPayload, e: SweepViewPayload['experiments'][number], t: ChartTheme): VlSpec {
  const uTitle = utilityTitle(e.utility);
  // The same domain in every section keeps a method's colour the same in all charts.
  const domain = [...new Set(p.summary.map((s) => s.method).concat(p.runs.map((r) => r.method)))].sort();
  const color = { field: 'method', type: 'nominal', title: 'method',
    scale: { domain, scheme: domain.length > 10 ? 'tableau20' : 'tableau10' } };
  const runs = p.runs.filter((r) => r.experiment === e.id).map((r) => ({ ...r,
    run: r.selected ? 'chosen' : 'other setting', hyperParams: r.hyperParams || 'defaults' }));
  const scatter: VlSpec = {
    name: sweepMarkName('runs', e.id),
    title: { text: `Memorization vs ${uTitle}`, fontSize: t.fontSize },
    width: 360,
    height: 260,
    data: { values: runs },
    mark: { type: 'point', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'utility', type: 'quantitative', title: uTitle, scale: { zero: false, padding: 8 } },
      y: { field: 'mem', type: 'quantitative', title: 'memorization (%)', scale: { padding: 8 } },
      color,
      fill: { condition: { test: 'datum.selected', field: 'method', type: 'nominal', scale: color.scale, legend: null },
        value: 'transparent' },
      size: { condition: { test: 'datum.selected', value: 70 }, value: 20 },
      opacity: { condition: { test: 'datum.selected', value: 0.95 }, value: 0.45 },
      tooltip: [{ field: 'method' }, { field: 'hyperParams', title: 'hyper-parameters' },
        { field: 'nLayer', title: 'layers' }, { field: 'seed' }, { field: 'checkpoint', title: 'epoch' },
        { field: 'mem', title: 'memorization (%)', format: '.2f' }, { field: 'utility', title: uTitle, format: '.2f' },
        { field: 'run' }],
    },
  };
  const sizes = p.byLayer.filter((s) => s.experiment === e.id);
  const bySize = (field: 'mem' | 'utilityChangePct', title: string, name?: string): VlSpec => ({
    ...(name ? { name } : {}),
    width: 200,
    height: 260,
    title: { text: title, fontSize: t.fontSize },
    data: { values: sizes },
    mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'nLayer', type: 'ordinal', title: 'layers', axis: { labelAngle: 0 } },
      y: { field, type: 'quantitative', title },
      color,
      tooltip: [{ field: 'method' }, { field: 'nLayer', title: 'layers' }, { field: 'cells', title: 'models' },
        { field, title, format: '.2f' }],
    },
  });
  const rows = sweepTableRows(p, e.id);
  const cols: [string, string, 'left' | 'right'][] = [
    ['method', 'method', 'left'], ['cells', 'models', 'right'], ['mem', 'mem', 'right'],
    ['utility', e.utility, 'right'], ['change', `Δ ${e.utility}`, 'right'], ['median', 'median Δ', 'right'],
    ['time', 'time', 'right'], ['paperMem', 'paper mem', 'right'], ['paperUtility', `paper ${e.utility}`, 'right'],
    ['paperChange', 'paper Δ', 'right'], ['rank', 'rank ours / paper', 'right'], ['note', '', 'left'],
  ];
  const columns: TableColumn[] = cols.map(([field, title, align]) => ({ field, title, align,
    width: columnWidth(rows.map((r) => r[field]!), title, t.fontSize, 200) }));
  const rho = e.spearman === null ? '' : `; rank correlation ρ = ${num(e.spearman, 2)}`;
  const heading = `Chosen runs, mean per method` +
    (e.source ? ` · paper: ${e.source}${rho}` : ' · the paper has no table for this experiment');
  const table = { ...textTable(rows, columns, t, sweepMarkName('table', e.id)),
    title: { text: heading, fontSize: t.fontSize } };
  const charts: VlSpec = runs.length
    ? { hconcat: [scatter, bySize('mem', 'memorization (%) by size', sweepMarkName('by_layers', e.id)),
      bySize('utilityChangePct', `Δ ${e.utility} (%) by size`)] }
    : message('No run of this experiment finished with both numbers.', t);
  return { title: { text: e.id, fontSize: t.fontSize + 1 }, vconcat: [charts, table] };
}

function curvesSection(p: SweepViewPayload, t: ChartTheme): VlSpec {
  const values = p.curves.flatMap((c) => [
    { ...c, metric: 'training loss', value: c.loss },
    { ...c, metric: 'memorization (%)', value: c.memorization },
  ].filter((x) => x.value !== null));
  if (!values.length) return message('No training curves.', t);
  return {
    title: { text: 'Training curves', fontSize: t.fontSize + 1 },
    data: { values },
    facet: { row: { field: 'preset', type: 'nominal', title: null }, column: { field: 'metric', type: 'nominal',
      title: null, sort: ['training loss', 'memorization (%)'] } },
    spec: {
      name: SWEEP_CURVES_NAME,
      width: 300,
      height: 140,
      mark: { type: 'line', strokeWidth: 1.5, point: { size: 12, filled: true } },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'regularizer', type: 'nominal', title: 'regularizer', scale: { scheme: 'dark2' } },
        detail: { field: 'job', type: 'nominal' },
        tooltip: [{ field: 'preset' }, { field: 'seed' }, { field: 'regularizer' }, { field: 'epoch' },
          { field: 'metric' }, { field: 'value', type: 'quantitative', format: '.4~g' }],
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

export function sweepSpec(p: SweepViewPayload, t: ChartTheme): VlSpec {
  const shown = p.runs.length < p.measured ? ` (${p.runs.length} shown)` : '';
  const sub = `${p.jobs.done} of ${p.jobs.total} jobs done, ${p.jobs.failed} failed · ${p.measured} runs${shown} · ` +
    'filled: the run chosen per model and method (spec §4.F)';
  const sections = p.experiments.map((e) => experimentSection(p, e, t));
  return {
    title: { text: p.title, subtitle: sub },
    config: themeConfig(t),
    vconcat: [...(sections.length ? sections : [message('No run has finished yet.', t)]), curvesSection(p, t)],
    resolve: { scale: { color: 'independent' } },
  };
}
