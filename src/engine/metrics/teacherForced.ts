// One teacher-forced pass over a token matrix, giving what accuracy and perplexity need: the argmax prediction and
// the next-token cross-entropy at every position. Rows go through in fixed-size batches (the last one filled with
// copies of its first row and trimmed), so one compiled session serves a whole matrix.
import { F, Graph, compileGraph } from '../graph/index';
import type { TokenMatrix } from '../data/tokenMatrix';
import { type ModelConfig, contextField, declareParams, dims, modelForward,
} from '../model/architecture';
import type { Runtime } from '../runtime/session';
import { throwIfAborted } from './memorization';
import type { Params } from './score';
import { nextTokenLoss } from '../model/nextTokenLoss';

export interface TeacherForced {
  /** [rows, cols]: argmax of the logits at each position (the prediction of the next token). */
  predictions: Int32Array;
  /** [rows, cols]: cross-entropy of the next token at each position; the last column is 0 (no next token). */
  losses: Float32Array;
  provider: string;
}

/** Rows per run: at most 64, and few enough that the [B, T, V] logits stay near 256 MB (language: V = 50257). */
export function defaultEvalBatch(c: ModelConfig, cols: number): number {
  return Math.max(1, Math.min(64, Math.floor(2 ** 26 / (cols * dims(c).vocab))));
}

export async function teacherForced(
  rt: Runtime,
  c: ModelConfig,
  params: Params,
  m: TokenMatrix,
  o: { batch?: number; signal?: AbortSignal; onBatch?: (rowsDone: number) => void } = {},
): Promise<TeacherForced> {
  const { rows, cols } = m;
  const predictions = new Int32Array(rows * cols);
  const losses = new Float32Array(rows * cols);
  if (rows === 0 || cols === 0) return { predictions, losses, provider: '' };
  const { context, vocab } = dims(c);
  if (cols > context) throw new RangeError(`sequences of ${cols} tokens exceed the model's context ${contextField(c)}`);
  const B = Math.min(rows, o.batch ?? defaultEvalBatch(c, cols));
  const session = await rt.session(`metrics:teacherForced:${JSON.stringify(c)}:${B}x${cols}`, () => {
    const g = new Graph();
    const P = declareParams(g, c);
    const tokens = g.input('tokens', 'int64', [B, cols]);
    const { logits } = modelForward(c, P, tokens);
    return compileGraph(g, {
      prediction: F.argMax(logits, -1),
      loss: nextTokenLoss(logits, tokens, 'token'),
    });
  });
  const weights = Object.fromEntries(params);
  const feed = new BigInt64Array(B * cols);
  let provider = '';
  for (let s = 0; s < rows; s += B) {
    throwIfAborted(o.signal);
    const n = Math.min(B, rows - s);
    for (let i = 0; i < B; i++) {
      const r = s + (i < n ? i : 0);
      for (let t = 0; t < cols; t++) {
        const tok = m.data[r * cols + t]!;
        if (tok < 0 || tok >= vocab) throw new RangeError(
          `row ${r} holds token ${tok}, outside the model's vocabulary of ${vocab}`);
        feed[i * cols + t] = BigInt(tok);
      }
    }
    const res = await session.run({ ...weights, tokens: feed });
    provider = res.provider;
    const pred = res.outputs.prediction as BigInt64Array;
    const loss = res.outputs.loss as Float32Array;
    for (let j = 0; j < n * cols; j++) predictions[s * cols + j] = Number(pred[j]);
    losses.set(loss.subarray(0, n * cols), s * cols);
    o.onBatch?.(s + n);
  }
  return { predictions, losses, provider };
}

/** Summed next-token loss of each row (the T − 1 positions that have a next token). */
export function rowLossSums(losses: Float32Array, rows: number, cols: number,
  select?: readonly number[]): Float64Array {
  const idx = select ?? Array.from({ length: rows }, (_, r) => r);
  const sums = new Float64Array(idx.length);
  idx.forEach((r, i) => {
    let s = 0;
    for (let t = 0; t + 1 < cols; t++) s += losses[r * cols + t]!;
    sums[i] = s;
  });
  return sums;
}
