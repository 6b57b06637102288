// Pieces the model families are made of: parts of config.json schemas, the one place a schema's issues become
// UserError problems (each at the file, its message naming the field: "n_embd" must be …), and name helpers.
import * as v from 'valibot';
import { UserError } from '../../shared/userError';
import { showValue } from '../../shared/showValue';
import type { MlpNames } from './family';

/** An integer field; `what` reads "an integer ≥ 1" or "a positive integer". */
export const int = (what: string, min = 1) => v.custom<number>((x) => Number.isInteger(x) && (x as number) >= min,
  (i) => `must be ${what}, got ${showValue(i.input)}; fix config.json`);

/** A finite number field with a default (for a missing or null value). */
export const num = (fallback: number, ok: (x: number) => boolean, range: string) =>
  v.nullish(v.custom<number>((x) => typeof x === 'number' && Number.isFinite(x) && ok(x),
    (i) => `must be a number ${range}, got ${showValue(i.input)}; fix config.json`), fallback);

export const bool = (fallback: boolean) => v.nullish(v.custom<boolean>((x) => typeof x === 'boolean',
  (i) => `must be true or false, got ${showValue(i.input)}; fix config.json`), fallback);

/** A field that must not have a value this engine does not implement. */
export const refuse = (bad: (x: unknown) => boolean, message: string) => v.optional(v.custom((x) => !bad(x), message));

/** The message for a required field that config.json lacks. */
export const missing = (hint: (key: string) => string) => (i: v.BaseIssue<unknown>) =>
  i.path ? `is missing; ${hint(String(i.path[0]!.key))}` : 'must be a JSON object; fix config.json';

/** Parses `raw` with `schema`; every issue becomes a problem at `file`, prefixed with the field it is about. */
export function parseJson<S extends v.GenericSchema>(schema: S, raw: unknown, file: string): v.InferOutput<S> {
  const r = v.safeParse(schema, raw);
  if (r.success) return r.output;
  const field = (i: v.BaseIssue<unknown>) => (i.path?.length ? `"${i.path.map((p) => p.key).join('.')}" ` : '');
  throw new UserError(r.issues.map((i) => ({ path: file, message: field(i) + i.message })), 'file');
}

/** The MLP's up/down weight and bias names, its projections being `${prefix}${up}` and `${prefix}${down}`. */
export const mlpTensorNames = (prefix: string, up: string, down: string): MlpNames => ({
  up: `${prefix}${up}.weight`, upBias: `${prefix}${up}.bias`, down: `${prefix}${down}.weight`,
  downBias: `${prefix}${down}.bias`,
});

/** "n_layer=2, n_embd=16, …" for messages. */
export const showFields = <C extends object>(c: C, keys: (keyof C)[]): string =>
  keys.map((k) => `${String(k)}=${c[k] ?? 'null'}`).join(', ');
