// Memorization % (spec §3.1, `refined_check_percent_memorized`): prompt the model with the first tokens of the CLEAN
// sequence, decode greedily, and call a sequence memorized when the continuation exactly equals the NOISED one.
// Sequences whose noise falls outside the compared window are dropped from numerator and denominator.
// Scoring is a pure function of token matrices and generations, so it is tested with hand-made generations; the
// model only enters through `generate`.
import type { DupClassCounts, MemorizationCounts, MemorizationResult } from '../../shared/metricTypes';
import type { TokenMatrix } from '../data/tokenMatrix';
import type { ModelConfig } from '../model/architecture';
import type { Runtime } from '../runtime/session';
import { type Params, greedyContinuation } from './score';

/** The reference's prompt length and compared tokens (Pythia uses 32 and 40). */
export const MEM_PROMPT_LENGTH = 50;
export const MEM_K = 50;

/**
 * Noise filter: 1 where `tokens` and `clean` differ somewhere in columns [start, start + k) (clipped to the
 * context), else 0.
 */
export function noiseFilter(tokens: TokenMatrix, clean: TokenMatrix, start: number, k: number): Uint8Array {
  sameShape(tokens, clean);
  const { rows, cols } = tokens;
  const end = Math.min(cols, start + k);
  const keep = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let t = start; t < end; t++) {
      if (tokens.data[o + t] !== clean.data[o + t]) {
        keep[r] = 1;
        break;
      }
    }
  }
  return keep;
}

/** What `scoreMemorization` needs; every array is indexed by row of `tokens`. */
export interface MemorizationInput {
  mode: 'noise' | 'backdoor';
  /** The sequences as trained on (noised or backdoored), [rows, cols]. */
  tokens: TokenMatrix;
  /** Their clean twins, same shape. */
  clean: TokenMatrix;
  /** Prompt length of every row, or one per row (backdoor: just after the trigger). */
  promptLength: number | ArrayLike<number>;
  /** Tokens compared after the prompt; fewer where the context ends first (`min(k, cols − promptLength)`). */
  k: number;
  /** 1 for rows that passed the noise filter; the others are not scored. */
  keep: ArrayLike<number>;
  /** The generated continuation of each kept row (at least its compared length); entries of other rows are ignored. */
  generated: readonly (ArrayLike<number> | null | undefined)[];
  /** Duplication class per row (default all 0) and each class's repeat factor (default [1]). */
  dupClass?: ArrayLike<number>;
  dupFactors?: readonly number[];
  /** A token the reference's decoding can never emit (EOS); a window containing it never matches. null: none. */
  unmatchableToken?: number | null;
  /** [start, end) of the filter window, only reported. */
  filterWindow?: readonly [number, number] | null;
}

/** Per-row outcomes next to the JSON result (for the heatmap). */
export interface MemorizationScore {
  result: MemorizationResult;
  /** Per row: 1 = memorized. */
  memorized: Uint8Array;
  /** Per row: 1 = generated the clean continuation. */
  cleanCorrect: Uint8Array;
}

export const promptLengthOf = (p: number | ArrayLike<number>, row: number): number =>
  (typeof p === 'number' ? p : p[row]!);

/** Compared length of a row: k, or what is left of the context after the prompt. */
export const comparedLength = (cols: number, prompt: number, k: number): number =>
  Math.max(0, Math.min(k, cols - prompt));

export function scoreMemorization(input: MemorizationInput): MemorizationScore {
  const { tokens, clean, k, keep, generated } = input;
  sameShape(tokens, clean);
  const { rows, cols } = tokens;
  if (keep.length !== rows) throw new RangeError(`keep has ${keep.length} entries for ${rows} rows`);
  if (typeof input.promptLength !== 'number' && input.promptLength.length !== rows) {
    throw new RangeError(`promptLength has ${input.promptLength.length} entries for ${rows} rows`);
  }
  const dupFactors = input.dupFactors ?? [1];
  const dupClass = input.dupClass ?? new Uint8Array(rows);
  if (dupClass.length !== rows) throw new RangeError(`dupClass has ${dupClass.length} entries for ${rows} rows`);
  const eos = input.unmatchableToken ?? null;

  const memorized = new Uint8Array(rows);
  const cleanCorrect = new Uint8Array(rows);
  const nClass = dupFactors.length;
  const count = Array.from({ length: nClass }, () => ({ rows: 0, kept: 0, memorized: 0, cleanCorrect: 0 }));
  for (let r = 0; r < rows; r++) {
    const cls = dupClass[r]!;
    if (!(cls >= 0 && cls < nClass)) throw new RangeError(
      `row ${r} has duplication class ${cls}, outside the ${nClass} classes`);
    const c = count[cls]!;
    c.rows++;
    if (!keep[r]) continue;
    c.kept++;
    const p = promptLengthOf(input.promptLength, r);
    const n = comparedLength(cols, p, k);
    const gen = generated[r];
    if (!gen || gen.length < n) throw new RangeError(
      `row ${r} needs ${n} generated tokens, got ${gen ? gen.length : 'none'}`);
    const o = r * cols + p;
    let mem = 1;
    let cln = 1;
    for (let t = 0; t < n; t++) {
      const g = gen[t]!;
      const a = tokens.data[o + t]!;
      const b = clean.data[o + t]!;
      if (g !== a || a === eos) mem = 0;
      if (g !== b || b === eos) cln = 0;
    }
    memorized[r] = mem;
    cleanCorrect[r] = cln;
    c.memorized += mem;
    c.cleanCorrect += cln;
  }

  const pct = (num: number, den: number): number | null => (den > 0 ? (100 * num) / den : null);
  const finish = (c: { rows: number; kept: number; memorized: number; cleanCorrect: number }): MemorizationCounts => ({
    ...c,
    percentMemorized: pct(c.memorized, c.kept),
    percentCleanCorrect: pct(c.cleanCorrect, c.kept),
  });
  const byClass: DupClassCounts[] = count.map((c, i) => ({ dupClass: i, factor: dupFactors[i]!, ...finish(c) }));
  const pooled = finish(
    count.reduce(
      (a, c) =>
        ({ rows: a.rows + c.rows, kept: a.kept + c.kept, memorized: a.memorized + c.memorized,
          cleanCorrect: a.cleanCorrect + c.cleanCorrect }), {
        rows: 0,
        kept: 0,
        memorized: 0,
        cleanCorrect: 0,
      }),
  );
  const forgetSet: number[] = [];
  memorized.forEach((m, r) => m && forgetSet.push(r));

  const result: MemorizationResult = {
    mode: input.mode,
    source: input.mode === 'noise' ? 'artifacts' : 'backdoor-poisoned',
    promptLength: typeof input.promptLength === 'number' ? input.promptLength : null,
    k,
    filterWindow: input.filterWindow ?? null,
    percentMemorized: meanOf(byClass.map((c) => c.percentMemorized)),
    percentCleanCorrect: meanOf(byClass.map((c) => c.percentCleanCorrect)),
    pooled,
    byClass,
    forgetSet,
    unmatchableToken: eos,
  };
  return { result, memorized, cleanCorrect };
}

/** Mean of the defined values (null when none is). */
export function meanOf(xs: readonly (number | null)[]): number | null {
  const d = xs.filter((x): x is number => x !== null);
  return d.length ? d.reduce((a, b) => a + b, 0) / d.length : null;
}

function sameShape(a: TokenMatrix, b: TokenMatrix): void {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(
    `artifact matrix is ${a.rows}×${a.cols} but its clean twin is ${b.rows}×${b.cols}`);
}

// ---- generation -------------------------------------------------------------------------------------------------

/** Greedy continuation of equal-length prompts; `greedyContinuation` bound to a model, or a stand-in in tests. */
export type GenerateFn = (prompts: number[][], steps: number) => Promise<{ tokens: number[][]; provider: string }>;

export interface GenerationOptions {
  /** Prompts per generation call (default 64). */
  batch?: number;
  /** Replaces greedy decoding with the model (tests, other decoders). */
  generate?: GenerateFn;
  /** Called after each batch of prompts. */
  onProgress?: (done: number, total: number) => void;
  /** Checked between batches; an aborted signal stops with its reason. */
  signal?: AbortSignal;
}

/** Greedy decoding with the model; `suppress` tokens are never generated (EOS, as Hugging Face's min_length does). */
export function modelGenerator(rt: Runtime, c: ModelConfig, params: Params, batch: number,
  suppress: readonly number[] = []): GenerateFn {
  return (prompts, steps) => greedyContinuation(rt, c, params, prompts, steps, batch, suppress);
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('evaluation cancelled');
}

/**
 * Generates `steps` tokens for each listed row, prompting with `prompt[row]` (all the same length). Batches of
 * `batch` prompts, so progress and cancellation take effect between them. Returns the generation per listed row.
 */
export async function generateRows(
  rows: readonly number[],
  promptOf: (row: number) => number[],
  steps: number,
  gen: GenerateFn,
  o: GenerationOptions & { done?: number; total?: number },
): Promise<{ tokens: Map<number, number[]>; provider: string }> {
  const batch = o.batch ?? 64;
  const out = new Map<number, number[]>();
  let provider = '';
  if (steps <= 0) {
    for (const r of rows) out.set(r, []);
    return { tokens: out, provider };
  }
  for (let s = 0; s < rows.length; s += batch) {
    throwIfAborted(o.signal);
    const chunk = rows.slice(s, s + batch);
    const res = await gen(chunk.map(promptOf), steps);
    if (res.tokens.length !== chunk.length) throw new Error(
      `generation returned ${res.tokens.length} continuations for ${chunk.length} prompts`);
    provider = res.provider || provider;
    chunk.forEach((r, i) => out.set(r, res.tokens[i]!));
    o.onProgress?.((o.done ?? 0) + s + chunk.length, o.total ?? rows.length);
  }
  return { tokens: out, provider };
}

// ---- with a model -----------------------------------------------------------------------------------------------

export interface ArtifactRows {
  tokens: TokenMatrix;
  clean: TokenMatrix;
  dupClass?: ArrayLike<number>;
  dupFactors?: readonly number[];
}

export interface MemorizationOptions extends GenerationOptions {
  /** Default 50 (Pythia: 32). */
  promptLength?: number;
  /** Default 50 (Pythia: 40). */
  k?: number;
  /** Apply the noise filter (default true); false scores every row (no clean twins, e.g. Pythia). */
  filter?: boolean;
  /** See `MemorizationInput.unmatchableToken`. */
  unmatchableToken?: number | null;
}

/** A score from a model, with the inputs it was computed from (for the heatmap) and the provider that ran. */
export interface MeasuredMemorization extends MemorizationScore {
  input: MemorizationInput;
  provider: string;
}

/** Memorization of a set of noised sequences (spec §3.1): generate for the kept rows, then score. */
export async function measureMemorization(
  rt: Runtime,
  c: ModelConfig,
  params: Params,
  art: ArtifactRows,
  o: MemorizationOptions = {},
): Promise<MeasuredMemorization> {
  const p = o.promptLength ?? MEM_PROMPT_LENGTH;
  const k = o.k ?? MEM_K;
  const { rows, cols } = art.tokens;
  if (!Number.isInteger(p) || p < 1 || p >= cols) throw new RangeError(
    `promptLength must be an integer in [1, ${cols - 1}] for ${cols}-token sequences, got ${p}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  const filter = o.filter ?? true;
  const keep = filter ? noiseFilter(art.tokens, art.clean, p, k) : new Uint8Array(rows).fill(1);
  const keptRows: number[] = [];
  keep.forEach((v, r) => v && keptRows.push(r));
  const steps = comparedLength(cols, p, k);
  const gen = o.generate
    ?? modelGenerator(rt, c, params, o.batch ?? 64, o.unmatchableToken == null ? [] : [o.unmatchableToken]);
  const promptOf = (r: number) => Array.from(art.clean.data.subarray(r * cols, r * cols + p));
  const { tokens, provider } = await generateRows(keptRows, promptOf, steps, gen, o);
  const generated = Array.from({ length: rows }, (_, r) => tokens.get(r) ?? null);
  const input: MemorizationInput = {
    mode: 'noise',
    tokens: art.tokens,
    clean: art.clean,
    promptLength: p,
    k,
    keep,
    generated,
    dupClass: art.dupClass,
    dupFactors: art.dupFactors,
    unmatchableToken: o.unmatchableToken ?? null,
    filterWindow: filter ? [p, Math.min(cols, p + k)] : null,
  };
  return { ...scoreMemorization(input), input, provider };
}
