// A value as an error message shows it. JSON, except for the numbers JSON cannot write: a file or option holding
// 1e400 parses to Infinity, which JSON.stringify would print as "null" and hide what was wrong.

const RANGE = 'out of range: beyond the largest number, about ±1.8e308';

export function showValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN (not a number)' : `${v} (${RANGE})`;
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? `${x} (${RANGE})`
    : x));
  return s ?? String(v);
}

/** Whether a parsed value holds a number out of range (Infinity from 1e400, or NaN) anywhere inside it. */
export function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(hasNonFinite);
  return false;
}
