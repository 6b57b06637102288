// The memorization heatmap: one rect per (sequence, compared position), coloured by what the model generated there
// (memorized noise / noise not reproduced / clean match / mismatch), rows grouped by duplication class. Hover text
// (vega's default handler sets a plain `title` attribute, never HTML) shows the tokens.
//
// Payload strings only ever become data values or titles, never field names, sort arrays or expressions: vega-lite
// compiles explicit sorts and label expressions into vega expressions, and payload text must not reach those.
import { HEATMAP_CATEGORIES, type HeatmapData, type HeatmapPairViewPayload, type HeatmapViewPayload, heatmapCategory,
  heatmapCategoryLabels, heatmapRowNoun } from '../../src/shared/viewPayloads';
import { type ChartTheme, themeConfig } from './theme';
import type { VlSpec } from './types';

/** The mark name of the cells: tests and the report find the cell group by it (`cells_marks`). */
export const HEATMAP_CELLS_NAME = 'cells';

export interface HeatmapCell {
  /** Rank of the row in the view (0 = top), the y field. */
  y: number;
  seq: string;
  row: number;
  group: string;
  dupClass: number;
  pos: number;
  cat: string;
  catLabel: string;
  target: string;
  clean: string;
  generated: string;
  prompt: string;
  memorized: string;
}

/** One datum per drawn cell, in row-major order. */
export function heatmapCells(d: HeatmapData): HeatmapCell[] {
  const text = new Map(d.tokenText);
  const show = (id: number) => text.get(id) ?? `#${id}`;
  const join = (ids: readonly number[]) => ids.map(show).join(d.tokenizer === 'math' ? '' : '|');
  const labels = heatmapCategoryLabels(d.mode);
  const cells: HeatmapCell[] = [];
  d.rows.forEach((r, y) => {
    const factor = d.dupFactors[r.dupClass];
    const group = `×${factor ?? '?'} (class ${r.dupClass})`;
    const prompt = `…${join(r.prompt)}`;
    r.flags.forEach((f, pos) => {
      const cat = heatmapCategory(f);
      cells.push({
        y,
        seq: `#${r.row}${r.memorized ? ' ●' : ''}`,
        row: r.row,
        group,
        dupClass: r.dupClass,
        pos,
        cat,
        catLabel: labels[cat],
        target: show(r.target[pos]!),
        clean: show(r.clean[pos]!),
        generated: show(r.generated[pos]!),
        prompt,
        memorized: r.memorized ? 'yes' : 'no',
      });
    });
  });
  return cells;
}

function cellSize(d: HeatmapData): { w: number; h: number } {
  const w = Math.max(4, Math.min(14, Math.floor(640 / Math.max(1, d.k))));
  const h = Math.max(3, Math.min(12, Math.floor(480 / Math.max(1, d.rows.length))));
  return { w, h };
}

/** The heatmap of one HeatmapData as a vega-lite unit (or row-faceted, one facet per duplication class) spec. */
function heatmapBody(d: HeatmapData, t: ChartTheme, title: string | null, name = HEATMAP_CELLS_NAME): VlSpec {
  const { w, h } = cellSize(d);
  const classes = new Set(d.rows.map((r) => r.dupClass));
  const seqAxis = { title: classes.size > 1 ? null : 'sequence (● = memorized)', labelOverlap: true, labels: h >= 8,
    ticks: false, domain: false };
  const tick = Math.max(1, Math.ceil(d.k / 10 / 5) * 5);
  const encoding = {
    x: { field: 'pos', type: 'ordinal', title: 'position after the prompt',
      axis: { values: Array.from({ length: Math.ceil(d.k / tick) }, (_, i) => i * tick), labelAngle: 0, ticks: false,
        domain: false } },
    y: { field: 'seq', type: 'ordinal', sort: { field: 'y', op: 'min' }, axis: seqAxis },
    color: {
      field: 'cat',
      type: 'nominal',
      title: null,
      scale: { domain: [...HEATMAP_CATEGORIES], range: HEATMAP_CATEGORIES.map((c) => t.categories[c]) },
      legend: { orient: 'top', direction: 'horizontal', labelLimit: 200,
        labelExpr: `${JSON.stringify(heatmapCategoryLabels(d.mode))}[datum.value]` },
    },
    tooltip: [
      { field: 'row', type: 'quantitative', title: 'sequence' },
      { field: 'group', title: 'duplication' },
      { field: 'memorized', title: 'memorized' },
      { field: 'pos', type: 'quantitative', title: 'position' },
      { field: 'catLabel', title: 'cell' },
      { field: 'prompt', title: 'prompt (end)' },
      { field: 'target', title: d.mode === 'noise' ? 'noised token' : d.mode === 'backdoor' ? 'backdoor token'
        : 'sequence token' },
      { field: 'clean', title: 'clean token' },
      { field: 'generated', title: 'generated' },
    ],
  };
  // aria: false keeps the SVG small (no per-cell aria-label); hover text still comes from the tooltip encoding.
  const unit = { name, mark: { type: 'rect', aria: false, stroke: t.background, strokeWidth: w >= 6 ? 0.5 : 0 },
    encoding, width: { step: w }, height: { step: h } };
  const data = { values: heatmapCells(d) };
  if (classes.size <= 1) return { ...(title !== null ? { title } : {}), data, ...unit };
  // One facet per duplication class; each keeps only its own rows on y.
  return {
    ...(title !== null ? { title } : {}),
    data,
    facet: { row: { field: 'group', type: 'nominal', sort: { field: 'dupClass', op: 'min' }, title: 'duplication',
      header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
    spec: { mark: unit.mark, name, encoding, width: unit.width, height: unit.height },
    resolve: { scale: { y: 'independent' } },
    spacing: 6,
  };
}

function subtitle(d: HeatmapData): string {
  const mem = d.rows.filter((r) => r.memorized).length;
  return `${d.rows.length} of ${d.evaluatedRows} ${heatmapRowNoun(d.mode)}${d.truncated ? ' (spread evenly)'
    : ''} · ${mem} memorized · k = ${d.k}`;
}

export function heatmapSpec(p: HeatmapViewPayload, t: ChartTheme): VlSpec {
  return {
    title: { text: p.title, subtitle: subtitle(p) },
    config: themeConfig(t),
    ...heatmapBody(p, t, null),
  };
}

export function heatmapPairSpec(p: HeatmapPairViewPayload, t: ChartTheme): VlSpec {
  return {
    title: { text: p.title,
      subtitle: `${p.beforeLabel}: ${subtitle(p.before)} | ${p.afterLabel}: ${subtitle(p.after)}` },
    config: themeConfig(t),
    hconcat: [heatmapBody(p.before, t, p.beforeLabel, `${HEATMAP_CELLS_NAME}_before`),
      heatmapBody(p.after, t, p.afterLabel, `${HEATMAP_CELLS_NAME}_after`)],
    resolve: { scale: { color: 'shared' } },
  };
}
