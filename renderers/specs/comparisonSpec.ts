// Method comparison: a scatter of relative memorization change (y, lower is better) against relative accuracy or
// perplexity change (x), point area = the method's wall-clock time, colour = method family, the selected (best
// scoring) run of each method filled; below it a table of every run, failed runs included.
import type { ComparisonViewPayload } from '../../src/shared/viewPayloads';
import { num, seconds, signed } from './format';
import { type TableColumn, columnWidth, textTable } from './textTable';
import { type ChartTheme, themeConfig } from './theme';
import type { VlSpec } from './types';

export const COMPARISON_POINTS_NAME = 'points';

export function comparisonTableRows(p: ComparisonViewPayload): Record<string, string>[] {
  const pct = p.utility === 'accuracy' ? '%' : '';
  return p.rows.map((r) => ({
    name: r.name,
    family: r.family,
    hyperParams: r.hyperParams || 'defaults',
    mem: `${num(r.memBefore, 1, '%')} → ${num(r.memAfter, 1, '%')}`,
    memChange: signed(r.memChangePct),
    utility: `${num(r.utilityBefore, 2, pct)} → ${num(r.utilityAfter, 2, pct)}`,
    utilityChange: signed(r.utilityChangePct),
    time: seconds(r.seconds),
    score: num(r.score, 3),
    note: r.error ? `error: ${r.error}` : r.selected ? 'best of method' : '',
  }));
}

export function comparisonSpec(p: ComparisonViewPayload, t: ChartTheme): VlSpec {
  const u = p.utility === 'accuracy' ? 'accuracy' : 'perplexity';
  const points = p.rows
    .filter((r) => r.memChangePct !== null && r.utilityChangePct !== null)
    .map((r) => ({
      name: r.name,
      family: r.family,
      hyperParams: r.hyperParams || 'defaults',
      x: r.utilityChangePct,
      y: r.memChangePct,
      seconds: r.seconds,
      time: seconds(r.seconds),
      selected: r.selected ? 'best of method' : 'other setting',
      mem: `${num(r.memBefore, 1, '%')} → ${num(r.memAfter, 1, '%')}`,
      utility: `${num(r.utilityBefore, 2)} → ${num(r.utilityAfter, 2)}`,
      score: num(r.score, 3),
    }));
  const rows = comparisonTableRows(p);
  const cols: [string, string, 'left' | 'right'][] = [
    ['name', 'method', 'left'],
    ['hyperParams', 'hyper-parameters', 'left'],
    ['mem', 'memorization', 'left'],
    ['memChange', 'Δ mem', 'right'],
    ['utility', u, 'left'],
    ['utilityChange', `Δ ${u}`, 'right'],
    ['time', 'time', 'right'],
    ['score', 'score', 'right'],
    ['note', '', 'left'],
  ];
  const columns: TableColumn[] = cols.map(([field, title, align]) =>
    ({ field, title, align, width: columnWidth(rows.map((r) => String(r[field])), title, t.fontSize, field === 'note'
      ? 260 : 220) }));
  const scatter: VlSpec = points.length
    ? {
        width: 480,
        height: 300,
        data: { values: points },
        layer: [
          { mark: { type: 'rule', color: t.grid }, encoding: { y: { datum: 0, type: 'quantitative' } } },
          { mark: { type: 'rule', color: t.grid }, encoding: { x: { datum: 0, type: 'quantitative' } } },
          {
            name: COMPARISON_POINTS_NAME,
            mark: { type: 'point', strokeWidth: 2, opacity: 0.9 },
            encoding: {
              x: { field: 'x', type: 'quantitative', title: `${u} change (%)`, scale: { zero: false, padding: 16 } },
              y: { field: 'y', type: 'quantitative', title: 'memorization change (%)',
                scale: { zero: false, padding: 16 } },
              size: { field: 'seconds', type: 'quantitative', title: 'time (s)',
                scale: { range: [40, 600], zero: true } },
              color: { field: 'family', type: 'nominal', title: 'family' },
              fill: { condition: { test: "datum.selected === 'best of method'", field: 'family', type: 'nominal',
                legend: null }, value: 'transparent' },
              tooltip: [
                { field: 'name', title: 'method' },
                { field: 'hyperParams', title: 'hyper-parameters' },
                { field: 'mem', title: 'memorization' },
                { field: 'utility', title: u },
                { field: 'x', type: 'quantitative', title: `Δ ${u} (%)`, format: '.2f' },
                { field: 'y', type: 'quantitative', title: 'Δ memorization (%)', format: '.2f' },
                { field: 'time', title: 'time' },
                { field: 'score', title: 'score' },
                { field: 'selected', title: 'run' },
              ],
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 8, dy: -6, fontSize: t.fontSize - 2, color: t.muted },
            encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' },
              text: { field: 'name' } },
          },
        ],
      }
    : { data: { values: [{ text: 'No run finished with both numbers; see the table.' }] },
      mark: { type: 'text', align: 'left', color: t.muted }, encoding: { text: { field: 'text' } }, width: 300,
      height: 20 };
  return {
    title: { text: p.title, subtitle: `${p.utility === 'accuracy' ? 'lower right' : 'lower left'} is better: ` +
      `memorization removed at little ${u} cost · point size = time · filled = best setting of each method` },
    config: themeConfig(t),
    vconcat: [scatter, textTable(rows, columns, t)],
  };
}
