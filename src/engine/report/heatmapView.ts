// The memorization heatmap views: the engine's HeatmapPayload cut down for drawing (at most HEATMAP_VIEW_ROWS rows,
// grouped by duplication class, the prompt's tail only) plus the display text of every token id it uses, so the
// renderer needs no tokenizer.
import type { HeatmapPayload, HeatmapRow } from '../../shared/metricTypes';
import { HEATMAP_CATEGORIES, type HeatmapCategory, type HeatmapData, type HeatmapViewRow, VIEW_MIME, type ViewOutput,
  heatmapCategory, heatmapCategoryLabels, heatmapRowNoun } from '../../shared/viewPayloads';
import { decodeGpt2 } from '../data/gpt2Tokenizer';
import { fmt, mdTable, mdText } from './format';

/** Rows drawn per heatmap: enough to see the pattern, small enough for a notebook output (rows × k rects). */
export const HEATMAP_VIEW_ROWS = 120;
/** Prompt tokens kept per row for the hover text. */
export const HEATMAP_PROMPT_TAIL = 24;

const MATH_TEXT = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '^', '$', '␣', 'PAD'];

/** What a token id looks like in the hover text; whitespace is made visible. */
export function tokenDisplay(tokenizer: 'math' | 'gpt2', id: number): string {
  if (tokenizer === 'math') return MATH_TEXT[id] ?? `#${id}`;
  let s: string;
  try {
    s = decodeGpt2([id]);
  } catch {
    return `#${id}`;
  }
  return visibleWhitespace(s) || `#${id}`;
}

/** Spaces, newlines and tabs as visible marks (␣ ⏎ ⇥), for token text in hovers and tables. */
export const visibleWhitespace = (s: string): string => s.replace(/ /g, '␣').replace(/\n/g, '⏎').replace(/\t/g, '⇥');

/** `max` items spread evenly over `items` (all of them when there are few enough), order kept. */
function spread<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)]!);
}

const byClassThenRow = (a: HeatmapRow, b: HeatmapRow) => a.dupClass - b.dupClass || a.row - b.row;

function toData(h: HeatmapPayload, rows: readonly HeatmapRow[]): HeatmapData {
  const ids = new Set<number>();
  const viewRows: HeatmapViewRow[] = rows.map((r) => {
    const prompt = r.prompt.slice(-HEATMAP_PROMPT_TAIL);
    for (const a of [prompt, r.target, r.clean, r.generated]) for (const t of a) ids.add(t);
    return { row: r.row, dupClass: r.dupClass, memorized: r.memorized, cleanCorrect: r.cleanCorrect, prompt,
      target: [...r.target], clean: [...r.clean], generated: [...r.generated], flags: [...r.flags] };
  });
  return {
    mode: h.mode,
    tokenizer: h.tokenizer,
    k: h.k,
    evaluatedRows: h.evaluatedRows,
    truncated: h.truncated || rows.length < h.rows.length,
    dupFactors: [...h.dupFactors],
    tokenText: [...ids].sort((a, b) => a - b).map((id) => [id, tokenDisplay(h.tokenizer, id)] as [number, string]),
    rows: viewRows,
  };
}

/** Cell counts of the four colours, for the markdown fallback. */
export function heatmapCellCounts(rows: readonly { flags: readonly number[] }[]): Record<HeatmapCategory, number> {
  const c: Record<HeatmapCategory, number> = { memorized: 0, 'not-reproduced': 0, clean: 0, mismatch: 0 };
  for (const r of rows) for (const f of r.flags) c[heatmapCategory(f)]++;
  return c;
}

function summary(d: HeatmapData): string {
  const mem = d.rows.filter((r) => r.memorized).length;
  const c = heatmapCellCounts(d.rows);
  return (
    `${d.rows.length} of ${d.evaluatedRows} evaluated ${heatmapRowNoun(d.mode)} shown (k = ${d.k}); ` +
    `${mem} of them memorized exactly.\n\n` +
    mdTable(HEATMAP_CATEGORIES.map((k) => heatmapCategoryLabels(d.mode)[k]),
      [HEATMAP_CATEGORIES.map((k) => String(c[k]))])
  );
}

export function heatmapView(h: HeatmapPayload, title = 'Memorization heatmap'): ViewOutput {
  const rows = spread([...h.rows].sort(byClassThenRow), HEATMAP_VIEW_ROWS);
  const data = toData(h, rows);
  return {
    mime: VIEW_MIME.heatmap,
    payload: { version: 1, title, ...data },
    markdown: `**${mdText(title)}**\n\n${summary(data)}\n`,
  };
}

/** Before/after heatmaps of the same rows (the rows both payloads hold), one colour scale. */
export function heatmapPairView(before: HeatmapPayload, after: HeatmapPayload,
  title = 'Memorization before and after'): ViewOutput {
  const inAfter = new Set(after.rows.map((r) => r.row));
  let common = [...before.rows].filter((r) => inAfter.has(r.row)).sort(byClassThenRow);
  if (common.length === 0) common = [...before.rows].sort(byClassThenRow);
  const chosen = spread(common, HEATMAP_VIEW_ROWS);
  const rowIds = new Set(chosen.map((r) => r.row));
  const afterRows = [...after.rows].filter((r) => rowIds.has(r.row)).sort(byClassThenRow);
  const b = toData(before, chosen);
  const a = toData(after, afterRows.length ? afterRows
    : spread([...after.rows].sort(byClassThenRow), HEATMAP_VIEW_ROWS));
  const memB = b.rows.filter((r) => r.memorized).length;
  const memA = a.rows.filter((r) => r.memorized).length;
  return {
    mime: VIEW_MIME.heatmapPair,
    payload: { version: 1, title, beforeLabel: 'Before', afterLabel: 'After', before: b, after: a },
    markdown:
      `**${mdText(title)}**\n\nMemorized rows shown: ${memB} of ${b.rows.length} before, ${memA} of ${a.rows.length} ` +
        `after ` +
      `(${fmt(b.rows.length ? (100 * memB) / b.rows.length : null, 1, '%')} → ${fmt(a.rows.length
        ? (100 * memA) / a.rows.length : null, 1, '%')}).\n\n` +
      `Before: ${summary(b)}\n\nAfter: ${summary(a)}\n`,
  };
}
