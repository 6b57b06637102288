// Number formatting for chart labels and tables (done in JS, not in vega format strings, so tables and the
// markdown fallback print the same text).
export function num(v: number | null | undefined, digits = 2, suffix = ''): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(digits)}${suffix}`;
}

export function signed(v: number | null | undefined, digits = 1, suffix = '%'): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—'
    : `${v > 0 ? '+' : ''}${v.toFixed(digits)}${suffix}`;
}

export function seconds(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (v < 60) return `${v.toFixed(v < 10 ? 2 : 1)} s`;
  return `${Math.floor(v / 60)} min ${Math.round(v % 60)} s`;
}
