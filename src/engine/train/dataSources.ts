// Where training rows come from, and the order they are visited in. A job describes its data as plain data
// (`DataSourceSpec`); a source registered under its `kind` turns that into rows that can be batched. The built-in
// `arrays` source holds every row in the job itself; dataset generators register their own kinds.
import type { HostArray } from '../runtime/session';
import { Rng } from '../data/rng';
import type { ArraysDataSource, DTypeName, DataSourceSpec } from '../../shared/engineMessages';

export interface BatchSource {
  /** Distinct rows. */
  readonly rows: number;
  /** The rows of one epoch, in order (may repeat rows, e.g. duplicated artifacts). `rng` is null when not shuffling. */
  epochOrder(rng: Rng | null): Uint32Array;
  /**
   * Feeds for the given rows, keyed by batch tensor name. Row indices are stable example ids: the same training
   * example has the same index in every epoch (regularizers such as example-tied dropout key per-example state on it).
   */
  batch(rows: Uint32Array): Record<string, HostArray>;
}

export type DataSourceFactory = (spec: DataSourceSpec) => BatchSource;

const sources = new Map<string, DataSourceFactory>();

export function registerDataSource(kind: string, factory: DataSourceFactory): void {
  const prev = sources.get(kind);
  if (prev && prev !== factory) throw new Error(`data source "${kind}" is registered twice`);
  sources.set(kind, factory);
}

export function openDataSource(spec: DataSourceSpec): BatchSource {
  const f = sources.get(spec?.kind);
  if (!f) throw new Error(`data.kind: unknown data source "${spec?.kind}" (registered: ` +
    `${[...sources.keys()].sort().join(', ')})`);
  return f(spec);
}

/** Identity order, or a fresh permutation per epoch: the default for sources without repeats. */
export function permutationOrder(rows: number, rng: Rng | null): Uint32Array {
  if (rng) return rng.permutation(rows);
  return Uint32Array.from({ length: rows }, (_, i) => i);
}

function typedFor(dtype: DTypeName, n: number): HostArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'bool':
      return new Uint8Array(n);
  }
}

function arraysSource(spec: DataSourceSpec): BatchSource {
  const fields = (spec as ArraysDataSource).fields;
  if (!fields || typeof fields !== 'object' || Object.keys(fields).length === 0) throw new Error(
    'data.fields: an arrays data source needs at least one field');
  let rows = -1;
  const cols: { name: string; dtype: DTypeName; width: number; data: ArrayLike<number> }[] = [];
  for (const [name, f] of Object.entries(fields)) {
    const where = `data.fields.${name}`;
    if (!['float32', 'float64', 'int64', 'bool'].includes(f?.dtype)) throw new Error(
      `${where}.dtype: unknown dtype ${JSON.stringify(f?.dtype)}`);
    if (!Array.isArray(f.rowShape) || !f.rowShape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(
      `${where}.rowShape: expected an array of sizes`);
    if (!f.data || typeof f.data.length !== 'number') throw new Error(`${where}.data: expected an array of numbers`);
    const width = f.rowShape.reduce((a, b) => a * b, 1);
    const n = width === 0 ? 0 : f.data.length / width;
    if (!Number.isInteger(n)) throw new Error(`${where}.data: ${f.data.length} values are not whole rows of ` +
      `[${f.rowShape.join(', ')}]`);
    if (rows >= 0 && n !== rows) throw new Error(`${where}: ${n} rows, but the other fields have ${rows}`);
    rows = n;
    cols.push({ name, dtype: f.dtype, width, data: f.data });
  }
  return {
    rows,
    epochOrder: (rng) => permutationOrder(rows, rng),
    batch(idx) {
      const out: Record<string, HostArray> = {};
      for (const c of cols) {
        const a = typedFor(c.dtype, idx.length * c.width);
        for (let k = 0; k < idx.length; k++) {
          const from = idx[k]! * c.width;
          for (let j = 0; j < c.width; j++) {
            const x = c.data[from + j]!;
            if (a instanceof BigInt64Array) a[k * c.width + j] = BigInt(x);
            else a[k * c.width + j] = x;
          }
        }
        out[c.name] = a;
      }
      return out;
    },
  };
}

registerDataSource('arrays', arraysSource);
