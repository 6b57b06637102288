// Pieces the file and payload schemas share: a plain object whose missing keys fail with their own field's message,
// an array checked for its length before its items, checks across fields, and an issue's path as text.
import * as v from 'valibot';

export type Issue = v.BaseIssue<unknown>;
type Message = (i: Issue) => string;

/** A plain object: not an array, not null. */
export const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** A plain object (not an array, not null); a missing key fails with its own schema's message for `undefined`. */
export const plainObject = <E extends v.ObjectEntries>(entries: E, notObject: Message) =>
  v.pipe(
    v.custom<Record<string, unknown>>(isObject, notObject),
    v.object(entries, (i) => {
      const key = String(i.path?.at(-1)?.key);
      return v.safeParse(entries[key]!, undefined).issues?.[0].message ?? 'is missing';
    }),
  );

/** An array whose length is checked before its items (a hostile length fails fast). */
export const boundedArray = <T extends v.GenericSchema>(
  item: T,
  max: number,
  notArray: Message,
  tooLong: (n: number) => string,
) =>
  v.pipe(
    v.array(v.unknown(), notArray),
    v.maxLength(max, (i) => tooLong((i.input as unknown[]).length)),
    v.array(item),
  );

export type Fail = (path: [string, ...(string | number)[]], message: string) => void;

/** `schema`, then a check across its validated fields; `fail` names the field by its path below the object. */
export const checked = <S extends v.GenericSchema>(schema: S, check: (o: v.InferOutput<S>, fail: Fail) => void) =>
  v.pipe(
    schema,
    v.rawCheck<v.InferOutput<S>>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const item = (key: string | number): v.UnknownPathItem =>
        ({ type: 'unknown', origin: 'value', key, input: null, value: null });
      check(dataset.value, ([first, ...rest], message) =>
        addIssue({ message, path: [item(first), ...rest.map(item)] }));
    }),
  );

/** `rows[3].flags`: where in the input an issue is ('' for the input itself). */
export const issuePath = (issue: Issue): string =>
  (issue.path ?? [])
    .map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`))
    .join('')
    .replace(/^\./, '');
