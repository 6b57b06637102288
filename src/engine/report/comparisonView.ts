// Method comparison: every run of `tinymem compare` as a row (memorization and utility before/after, relative
// changes, time, the paper's selection score) for the scatter plot and the table.
import type { HyperValue } from '../../shared/methodTypes';
import { type ComparisonViewRow, VIEW_MIME, type ViewOutput } from '../../shared/viewPayloads';
import type { CompareResult } from '../runs/compareRun';
import { finiteOrNull, fmt, mdTable, mdText } from './format';

export const formatHyperParams = (hp: Record<string, HyperValue>): string =>
  Object.entries(hp)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

export function comparisonView(r: CompareResult, title = 'Method comparison'): ViewOutput {
  const rows: ComparisonViewRow[] = r.rows.map((x) => ({
    method: x.method,
    name: x.name,
    family: x.family,
    hyperParams: formatHyperParams(x.hyperParams),
    seconds: Number.isFinite(x.seconds) && x.seconds >= 0 ? x.seconds : 0,
    memBefore: finiteOrNull(x.memBefore),
    memAfter: finiteOrNull(x.memAfter),
    utilityBefore: finiteOrNull(x.utilityBefore),
    utilityAfter: finiteOrNull(x.utilityAfter),
    memChangePct: finiteOrNull(x.memChangePct),
    utilityChangePct: finiteOrNull(x.utilityChangePct),
    score: finiteOrNull(x.score),
    selected: x.selected,
    error: x.error ?? null,
  }));
  const u = r.utility === 'accuracy' ? 'accuracy' : 'perplexity';
  const uSuffix = r.utility === 'accuracy' ? '%' : '';
  const table = mdTable(
    ['method', 'hyper-parameters', 'memorization', `${u}`, 'Δ mem', `Δ ${u}`, 'time', 'score', ''],
    rows.map((x) => [
      mdText(x.name),
      mdText(x.hyperParams) || 'defaults',
      `${fmt(x.memBefore, 1, '%')} → ${fmt(x.memAfter, 1, '%')}`,
      `${fmt(x.utilityBefore, 2, uSuffix)} → ${fmt(x.utilityAfter, 2, uSuffix)}`,
      fmt(x.memChangePct, 1, '%'),
      fmt(x.utilityChangePct, 1, '%'),
      fmt(x.seconds, 1, ' s'),
      fmt(x.score, 3),
      x.error ? `error: ${mdText(x.error)}` : x.selected ? 'best' : '',
    ]),
  );
  return {
    mime: VIEW_MIME.comparison,
    payload: { version: 1, title, utility: r.utility, rows },
    markdown: `**${mdText(title)}** (lower score is better: memorization change penalised by ${u} ` +
      `${r.utility === 'accuracy' ? 'lost' : 'gained'})\n\n${table}\n`,
  };
}
