// Batching token matrices for the methods, with cancellation between batches.
import type { Rng } from '../../data/rng';
import { type TokenMatrix, rowOf } from '../../data/tokenMatrix';

export interface TokenBatch {
  /** Row indices into the matrix. */
  rows: number[];
  /** int64 tokens [rows.length, cols], ready to feed. */
  tokens: BigInt64Array;
}

/** Tokens of the given rows as int64, row-major. */
export function tokensOf(m: TokenMatrix, rows: readonly number[]): BigInt64Array {
  const out = new BigInt64Array(rows.length * m.cols);
  rows.forEach((r, k) => {
    const src = rowOf(m, r);
    for (let j = 0; j < m.cols; j++) out[k * m.cols + j] = BigInt(src[j]!);
  });
  return out;
}

/** Consecutive batches of `size` rows (the last may be smaller), in a shuffled order when `rng` is given. */
export function* batchesOf(m: TokenMatrix, size: number, rng?: Rng): Generator<TokenBatch> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const order = rng ? Array.from(rng.permutation(m.rows)) : Array.from({ length: m.rows }, (_, i) => i);
  for (let s = 0; s < order.length; s += size) {
    const rows = order.slice(s, s + size);
    yield { rows, tokens: tokensOf(m, rows) };
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}
