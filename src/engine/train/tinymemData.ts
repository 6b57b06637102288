// The `tinymem` data source: a training job names a TinyMem dataset by its generator options
// ({kind: 'tinymem', dataset: 'math' | 'language', options}) and the worker builds it itself. The generators are
// deterministic in their options, so a few bytes of options cross the thread boundary instead of megabytes of
// tokens, and the caller can rebuild the very same dataset (artifacts, test sets) for evaluation.
import { UserError, under } from '../../shared/userError';
import { type LanguageDataOptions, type LanguageDataset, buildLanguageDataset } from '../data/languageData';
import { type MathDataOptions, type MathDataset, buildMathDataset } from '../data/mathData';
import type { Rng } from '../data/rng';
import { trainRowOrder } from '../data/trainSet';
import type { HostArray } from '../runtime/session';
import type { DataSourceSpec } from '../../shared/engineMessages';
import { type BatchSource, registerDataSource } from './dataSources';

export type TinyMemDatasetName = 'math' | 'language';

export type TinyMemDataSpec =
  | { kind: 'tinymem'; dataset: 'math'; options: MathDataOptions }
  | { kind: 'tinymem'; dataset: 'language'; options: LanguageDataOptions };

export type TinyMemDataset = MathDataset | LanguageDataset;

// Built datasets by their spec, for the life of the process (the CLI trains and then evaluates the same data; the
// worker may run several jobs). A paper-size math set is ~20 MB, so a handful of entries is plenty.
const CACHE_LIMIT = 4;
const cache = new Map<string, TinyMemDataset>();

function checkSpec(spec: DataSourceSpec): TinyMemDataSpec {
  const s = spec as Partial<TinyMemDataSpec> & DataSourceSpec;
  if (s.dataset !== 'math' && s.dataset !== 'language') throw new Error(
    `data.dataset: expected "math" or "language", got ${JSON.stringify(s.dataset)}`);
  if (s.options !== undefined && (s.options === null || typeof s.options !== 'object' || Array.isArray(s.options))) {
    throw new Error(`data.options: expected an object of ${s.dataset} data options, got ${JSON.stringify(s.options)}`);
  }
  return { kind: 'tinymem', dataset: s.dataset, options: s.options ?? {} } as TinyMemDataSpec;
}

/**
 * The dataset a `tinymem` spec describes, built once per process and options. Bad options fail with a UserError
 * whose field is the option's path in the job, e.g. "data.options.maxCtx: …".
 */
export function tinymemDataset(spec: DataSourceSpec): TinyMemDataset {
  const s = checkSpec(spec);
  const key = JSON.stringify([s.dataset, s.options]);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // re-insert: most recently used last
    cache.set(key, hit);
    return hit;
  }
  let ds: TinyMemDataset;
  try {
    ds = s.dataset === 'math' ? buildMathDataset(s.options) : buildLanguageDataset(s.options);
  } catch (e) {
    // Name the option by its path in the job: "data.options.maxCtx: …".
    if (e instanceof UserError) throw under('data.options.', e);
    throw e;
  }
  cache.set(key, ds);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return ds;
}

/** Serves a dataset's training rows as int64 `tokens` [rows, maxCtx]; an epoch visits each row `repeats` times. */
export function tinymemSource(ds: TinyMemDataset): BatchSource {
  const { tokens } = ds.train;
  const cols = tokens.cols;
  const expanded = trainRowOrder(ds.train); // section order; copied before shuffling
  return {
    rows: tokens.rows,
    epochOrder: (rng: Rng | null) => (rng ? rng.shuffle(expanded.slice()) : expanded.slice()),
    batch(rows: Uint32Array): Record<string, HostArray> {
      const out = new BigInt64Array(rows.length * cols);
      for (let k = 0; k < rows.length; k++) {
        const from = rows[k]! * cols;
        const to = k * cols;
        for (let j = 0; j < cols; j++) out[to + j] = BigInt(tokens.data[from + j]!);
      }
      return { tokens: out };
    },
  };
}

registerDataSource('tinymem', (spec) => tinymemSource(tinymemDataset(spec)));

/**
 * The dataset a checkpoint's manifest names (its `data` field), with a problem in that spec reported against the
 * manifest file, so that a hand-edited tinymem.json is named along with the field.
 */
export function manifestDataset(manifestFile: string, spec: DataSourceSpec): TinyMemDataset {
  try {
    return tinymemDataset(spec);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`${manifestFile}: ${message}; fix the "data" field of tinymem.json or train the checkpoint again`);
  }
}
