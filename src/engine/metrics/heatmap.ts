// The memorization heatmap payload: for each evaluated sequence, the prompt, the artifact's continuation, the clean
// continuation, what the model generated, and per compared position whether it matched and whether it was noised.
// Small ints in plain arrays (JSON-safe) and at most `maxRows` rows, spread evenly over the evaluated ones.
import { HEATMAP_CLEAN, HEATMAP_MATCH, HEATMAP_NOISED, type HeatmapPayload,
  type HeatmapRow } from '../../shared/metricTypes';
import { type MemorizationInput, type MemorizationScore, comparedLength, promptLengthOf } from './memorization';

export const HEATMAP_MAX_ROWS = 200;

/** `maxRows` indices spread evenly over `n` (all of them when n ≤ maxRows), ascending. */
export function spreadRows(n: number, maxRows: number): number[] {
  if (n <= maxRows) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: maxRows }, (_, i) => Math.floor((i * n) / maxRows));
}

export function buildHeatmap(
  input: MemorizationInput,
  score: MemorizationScore,
  o: { tokenizer: 'math' | 'gpt2'; maxRows?: number },
): HeatmapPayload {
  const { tokens, clean, keep, generated, k } = input;
  const { cols } = tokens;
  const maxRows = o.maxRows ?? HEATMAP_MAX_ROWS;
  if (!Number.isInteger(maxRows) || maxRows < 0) throw new RangeError(
    `maxRows must be a non-negative integer, got ${maxRows}`);
  const evaluated: number[] = [];
  for (let r = 0; r < tokens.rows; r++) if (keep[r]) evaluated.push(r);
  const rows: HeatmapRow[] = spreadRows(evaluated.length, maxRows).map((i) => {
    const r = evaluated[i]!;
    const p = promptLengthOf(input.promptLength, r);
    const n = comparedLength(cols, p, k);
    const o0 = r * cols;
    const target = Array.from(tokens.data.subarray(o0 + p, o0 + p + n));
    const cleanCont = Array.from(clean.data.subarray(o0 + p, o0 + p + n));
    const gen = Array.from({ length: n }, (_, t) => generated[r]![t]!);
    const flags = gen.map((g, t) => (g === target[t] ? HEATMAP_MATCH : 0) | (target[t] !== cleanCont[t]
      ? HEATMAP_NOISED : 0) | (g === cleanCont[t] ? HEATMAP_CLEAN : 0));
    return {
      row: r,
      dupClass: input.dupClass ? input.dupClass[r]! : 0,
      memorized: score.memorized[r] === 1,
      cleanCorrect: score.cleanCorrect[r] === 1,
      prompt: Array.from(clean.data.subarray(o0, o0 + p)),
      target,
      clean: cleanCont,
      generated: gen,
      flags,
    };
  });
  return {
    mode: input.mode,
    tokenizer: o.tokenizer,
    k,
    evaluatedRows: evaluated.length,
    truncated: rows.length < evaluated.length,
    dupFactors: input.dupFactors ?? [1],
    rows,
  };
}
