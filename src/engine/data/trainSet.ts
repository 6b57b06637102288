// Building and expanding the training set (unique rows + repeat counts).
import type { TrainSection, TrainSet } from './datasetTypes';
import { type TokenMatrix, concatRows } from './tokenMatrix';

export interface TrainPart {
  readonly name: string;
  readonly tokens: TokenMatrix;
  /** Repeat count per row; omitted = every row once. */
  readonly repeats?: Uint32Array;
}

/** Stacks the parts in order and records where each one lies. */
export function buildTrainSet(parts: readonly TrainPart[], cols: number): TrainSet {
  const tokens = concatRows(parts.map((p) => p.tokens), cols);
  const repeats = new Uint32Array(tokens.rows).fill(1);
  const sections: TrainSection[] = [];
  let at = 0;
  for (const p of parts) {
    if (p.repeats) repeats.set(p.repeats, at);
    sections.push({ name: p.name, start: at, end: at + p.tokens.rows });
    at += p.tokens.rows;
  }
  let size = 0;
  for (const r of repeats) size += r;
  return { tokens, repeats, size, sections };
}

/** Row indices of one epoch in section order, each row repeated `repeats` times. Shuffle it to make batches. */
export function trainRowOrder(train: TrainSet): Uint32Array {
  const out = new Uint32Array(train.size);
  let k = 0;
  for (let i = 0; i < train.repeats.length; i++) {
    out.fill(i, k, k + train.repeats[i]!);
    k += train.repeats[i]!;
  }
  return out;
}

/** The full [size, ctx] matrix with duplicates written out (large for the language ×1000 class). */
export function materializeTrain(train: TrainSet): TokenMatrix {
  const { cols } = train.tokens;
  const order = trainRowOrder(train);
  const data = new Int32Array(order.length * cols);
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    data.set(train.tokens.data.subarray(i * cols, (i + 1) * cols), k * cols);
  }
  return { rows: order.length, cols, data };
}
