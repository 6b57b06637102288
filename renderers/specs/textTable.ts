// A table drawn with vega-lite text marks (one text column per table column, side by side), so tables appear in the
// exported SVG/PNG and in the HTML report exactly as in the notebook. Cell text is data, never markup.
import type { ChartTheme } from './theme';
import type { VlSpec } from './types';

export interface TableColumn {
  field: string;
  title: string;
  /** Pixels; text longer than this is cut with an ellipsis (the full text is in the hover). */
  width: number;
  align?: 'left' | 'right';
}

/** The mark name of every table column (`<prefix>_<field>_marks` in the SVG; names must be unique in one chart). */
export const tableMarkName = (field: string, prefix = 'table') => `${prefix}_${field.replace(/[^A-Za-z0-9_]/g, '_')}`;

const ROW_HEIGHT = 18;

/**
 * rows: one object per table row, values already formatted as text; prefix: the marks' name prefix, distinct for
 * each table of one chart.
 */
export function textTable(rows: Record<string, string | boolean | number>[], columns: TableColumn[],
  t: ChartTheme, prefix = 'table'): VlSpec {
  const values = rows.map((r, i) => ({ ...r, _row: i }));
  return {
    data: { values },
    hconcat: columns.map((c) => ({
      name: tableMarkName(c.field, prefix),
      width: c.width,
      height: { step: ROW_HEIGHT },
      title: { text: c.title, anchor: c.align === 'right' ? 'end' : 'start', fontSize: t.fontSize, fontWeight: 'bold',
        color: t.foreground, offset: 4 },
      mark: { type: 'text', align: c.align ?? 'left', baseline: 'middle', x: c.align === 'right' ? c.width : 0,
        limit: c.width, color: t.foreground, fontSize: t.fontSize - 1 },
      encoding: {
        y: { field: '_row', type: 'ordinal', axis: null },
        text: { field: c.field, type: 'nominal' },
        tooltip: { field: c.field, type: 'nominal' },
      },
    })),
    spacing: 12,
  };
}

/**
 * Pixel width for a column holding these strings. Without a canvas (Node, the HTML report) vega estimates text as
 * 0.8·fontSize per character and cuts at `limit`, so columns are sized by the same estimate to avoid ellipses.
 */
export function columnWidth(texts: readonly string[], title: string, fontSize: number, max = 320): number {
  const longest = Math.max(...texts.map((s) => s.length), 0);
  return Math.min(max,
    Math.max(36, Math.ceil(longest * (fontSize - 1) * 0.8) + 4, Math.ceil(title.length * fontSize * 0.8)));
}
