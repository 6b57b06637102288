// The progress view of a running cell (mime application/vnd.tinymem.progress+json): the step and cell, the engine's
// progress line, how far it is, the time elapsed and an estimate of the time left, and the execution provider. The
// extension host builds it from the engine's progress messages; the renderer validates it (a notebook file is
// untrusted) and draws a bar. Its text/plain fallback and the status bar line come from the same payload.
import * as v from 'valibot';
import { issuePath, plainObject } from './schemaParts';
import { userError } from './userError';

export const PROGRESS_MIME = 'application/vnd.tinymem.progress+json';

const MAX_TEXT = 400;
const got = (what: string) => (i: v.BaseIssue<unknown>) => `${what}, got ${JSON.stringify(i.input) ?? 'nothing'}`;
const text = v.pipe(v.string(got('must be a string')), v.maxLength(MAX_TEXT, `must be at most ${MAX_TEXT} characters`));
const seconds = v.pipe(v.number(got('must be a number of seconds')), v.finite(got('must be a finite number')),
  v.minValue(0, got('must be ≥ 0')));

const schema = plainObject({
  version: v.literal(1, got('must be 1')),
  /** The step kind running, e.g. "train". */
  step: text,
  /** Where it runs, e.g. "cell 2" (absent for a palette command). */
  cell: v.optional(text),
  /** The engine's progress line, e.g. "epoch 3.20/20 loss 0.5120 on cpu". */
  message: text,
  /** 0…1 when known. */
  fraction: v.optional(v.pipe(v.number(got('must be a number')), v.minValue(0, got('must be in [0, 1]')),
    v.maxValue(1, got('must be in [0, 1]')))),
  elapsedSeconds: seconds,
  /** Estimated; absent until there is enough to go on. */
  leftSeconds: v.optional(seconds),
  /** The execution provider running the work, when the engine has said. */
  provider: v.optional(text),
}, got('must be an object'));
export type ProgressPayload = v.InferOutput<typeof schema>;

/** A payload from a progress report, clamped to what the validator accepts (long texts cut, fraction in [0, 1]). */
export function makeProgressPayload(o: { step: string; cell?: string; message: string; fraction?: number;
  elapsedSeconds: number; leftSeconds?: number; provider?: string; }): ProgressPayload {
  const cut = (t: string) => (t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT - 1)}…` : t);
  const secs = (x: number) => (Number.isFinite(x) ? Math.max(0, x) : 0);
  const p: ProgressPayload = { version: 1, step: cut(o.step), message: cut(o.message),
    elapsedSeconds: secs(o.elapsedSeconds) };
  if (o.cell) p.cell = cut(o.cell);
  if (o.fraction !== undefined && Number.isFinite(o.fraction)) p.fraction = Math.min(1, Math.max(0, o.fraction));
  if (o.leftSeconds !== undefined && Number.isFinite(o.leftSeconds)) p.leftSeconds = secs(o.leftSeconds);
  if (o.provider) p.provider = cut(o.provider);
  return p;
}

/** Returns `data` (the object or its JSON text) as a progress payload, or throws a UserError naming the field. */
export function validateProgressPayload(data: unknown): ProgressPayload {
  let x = data;
  if (typeof x === 'string') {
    try {
      x = x.length > 100_000 ? undefined : JSON.parse(x);
    } catch (e) {
      throw userError('progress payload', `is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const r = v.safeParse(schema, x, { abortEarly: true });
  if (r.success) return r.output;
  throw userError('progress payload', `${issuePath(r.issues[0]) || 'the payload'} ${r.issues[0].message}`);
}

/** The step kind of a cell source ("sweep: spec.yaml" alone is a sweep), for display only. */
export function stepOfSource(source: string): string {
  return /^step:\s*([A-Za-z-]+)/m.exec(source)?.[1] ?? (/^sweep:/m.test(source) ? 'sweep' : 'cell');
}

/** 7 s, 2 min 05 s, 1 h 03 min. */
export function formatDuration(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, '0')} s`;
  const m = Math.round(t / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export const percent = (fraction: number): string => `${Math.floor(fraction * 100)} %`;

/** "train · cell 2 · 34 %": what the status bar and the view's heading say. */
export function progressHeading(p: Pick<ProgressPayload, 'step' | 'cell' | 'fraction'>): string {
  return [p.step, p.cell, p.fraction !== undefined ? percent(p.fraction) : undefined].filter(Boolean).join(' · ');
}

/** The view's times line `seconds` after the payload arrived (the renderer ticks between updates). */
export function timesText(p: ProgressPayload, seconds: number): string {
  const parts = [`${formatDuration(p.elapsedSeconds + seconds)} elapsed`];
  if (p.leftSeconds !== undefined) {
    const left = p.leftSeconds - seconds;
    parts.push(left > 0.5 ? `about ${formatDuration(left)} left` : 'finishing');
  }
  if (p.provider) parts.push(`provider ${p.provider}`);
  return parts.join(' · ');
}

/** One line with everything in the payload: the fallback where the renderer is not available. */
export function progressText(p: ProgressPayload): string {
  const parts = [progressHeading(p), `${formatDuration(p.elapsedSeconds)} elapsed`];
  if (p.leftSeconds !== undefined) parts.push(`about ${formatDuration(p.leftSeconds)} left`);
  if (p.provider) parts.push(`on ${p.provider}`);
  return `${parts.join(' · ')}\n${p.message}`;
}
