// A batch of token sequences as one flat Int32Array, row-major [rows, cols]. Plain typed arrays travel cheaply to a
// worker thread and map directly onto an int tensor; no BigInt64Array, the engine widens to int64 where ONNX needs it.

export interface TokenMatrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major token ids, length rows × cols. */
  readonly data: Int32Array;
}

export function tokenMatrix(rows: number, cols: number, fill = 0): TokenMatrix {
  const data = new Int32Array(rows * cols);
  if (fill !== 0) data.fill(fill);
  return { rows, cols, data };
}

/** A view (not a copy) of row i. */
export function rowOf(m: TokenMatrix, i: number): Int32Array {
  if (!Number.isInteger(i) || i < 0 || i >= m.rows) throw new RangeError(
    `row ${i} is outside a matrix of ${m.rows} rows`);
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** Rows as plain arrays, e.g. for printing or tests. */
export function rowsOf(m: TokenMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(rowOf(m, i)));
  return out;
}

/** Right-pads each row with `pad` up to `cols`. A longer row is a programming error here: callers check first. */
export function matrixFromRows(rows: readonly ArrayLike<number>[], cols: number, pad: number): TokenMatrix {
  const m = tokenMatrix(rows.length, cols, pad);
  rows.forEach((r, i) => {
    if (r.length > cols) throw new RangeError(`row ${i} has ${r.length} tokens, more than the ${cols} columns`);
    m.data.set(r, i * cols);
  });
  return m;
}

/** New matrix holding rows idx[0], idx[1], … of m (copies). */
export function gatherRows(m: TokenMatrix, idx: ArrayLike<number>): TokenMatrix {
  const out = tokenMatrix(idx.length, m.cols);
  for (let k = 0; k < idx.length; k++) out.data.set(rowOf(m, idx[k]!), k * m.cols);
  return out;
}

/** Stacks matrices with the same number of columns. */
export function concatRows(ms: readonly TokenMatrix[], cols?: number): TokenMatrix {
  const c = cols ?? ms[0]?.cols ?? 0;
  let rows = 0;
  for (const m of ms) {
    if (m.rows > 0 && m.cols !== c) throw new RangeError(
      `cannot stack a matrix of ${m.cols} columns onto ${c} columns`);
    rows += m.rows;
  }
  const out = tokenMatrix(rows, c);
  let at = 0;
  for (const m of ms) {
    out.data.set(m.data, at);
    at += m.data.length;
  }
  return out;
}
