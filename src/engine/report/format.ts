// Small text helpers shared by the view builders' markdown fallbacks. Payload strings (method names, titles,
// errors) may hold anything, so table cells are escaped: a `|` or a newline would break the table, and `<` must not
// become HTML where the markdown is rendered.

/** A number for people: fixed decimals, '—' for null/undefined/non-finite. */
export function fmt(v: number | null | undefined, digits = 2, suffix = ''): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(digits)}${suffix}`;
}

/** Escapes text for one markdown table cell or line: no HTML, no table breaks, no emphasis surprises. */
export function mdText(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/([*_`[\]])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

export function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Non-finite numbers become null so the payload stays plain JSON. */
export const finiteOrNull = (v: number | null | undefined): number | null =>
  (v === null || v === undefined || !Number.isFinite(v) ? null : v);

/**
 * `transformer.h.3.mlp.c_fc.weight` → layer 3, matrix `mlp.c_fc.weight` (GPT-2); `gpt_neox.layers.3.mlp.…` likewise
 * (Pythia). Tensors outside the blocks (embeddings, final LayerNorm) have no layer.
 */
export function tensorPlace(name: string): { layer: number | null; matrix: string } {
  const m = /^(?:transformer\.|gpt_neox\.)?(?:h|layers)\.(\d+)\.(.+)$/.exec(name);
  if (m) return { layer: Number(m[1]), matrix: m[2]! };
  return { layer: null, matrix: name.replace(/^(?:transformer|gpt_neox)\./, '') };
}
