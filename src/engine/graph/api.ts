// The tracing API: plain functions that append nodes to the graph of their tensor arguments.
// Model code, losses, methods and the VJP rules are all written with these.
import { type Attrs, type DType, Graph, type Shape, Tensor, numel } from './ir';
import { opDef } from './registry';
import { ShapeError } from './shape';

export type TLike = Tensor | number;

export function apply(op: string, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor[] {
  const g = inputs[0]?.graph;
  if (!g) throw new Error(`${op}: needs at least one input`);
  const specs = opDef(op).infer(inputs, attrs);
  return [...g.addNode(op, inputs, attrs, specs).outputs];
}
const one = (op: string, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor => apply(op, inputs, attrs)[0]!;

// ---- constants -------------------------------------------------------------------------------------------------
export function constant(g: Graph, data: ArrayLike<number>, dtype: DType, shape: Shape): Tensor {
  if (data.length !== numel(shape)) throw new ShapeError('Constant',
    `${data.length} values do not fill shape [${shape.join(', ')}]`);
  const specs = opDef('Constant').infer([], { data, dtype, shape });
  return g.addNode('Constant', [], { data, dtype, shape }, specs).outputs[0]!;
}
export const scalar = (g: Graph, v: number, dtype: DType = 'float32'): Tensor => constant(g, [v], dtype, []);
export function zeros(g: Graph, shape: Shape, dtype: DType = 'float32'): Tensor {
  const specs = opDef('Zeros').infer([], { shape, dtype });
  return g.addNode('Zeros', [], { shape, dtype }, specs).outputs[0]!;
}
/** A number becomes a scalar constant of the other operand's dtype. */
function lift(a: TLike, like: TLike): Tensor {
  if (a instanceof Tensor) return a;
  if (!(like instanceof Tensor)) throw new Error('at least one operand must be a tensor');
  return scalar(like.graph, a, like.dtype);
}
const bin = (op: string) => (a: TLike, b: TLike): Tensor => one(op, [lift(a, b), lift(b, a)]);

// ---- elementwise -------------------------------------------------------------------------------------------------
export const add = bin('Add');
export const sub = bin('Sub');
export const mul = bin('Mul');
export const div = bin('Div');
export const pow = bin('Pow');
export const equal = bin('Equal');
export const less = bin('Less');
export const greater = bin('Greater');
export const lessEqual = bin('LessOrEqual');
export const greaterEqual = bin('GreaterOrEqual');
export const and = bin('And');
export const not = (x: Tensor): Tensor => one('Not', [x]);
export const neg = (x: Tensor): Tensor => one('Neg', [x]);
export const sqrt = (x: Tensor): Tensor => one('Sqrt', [x]);
export const exp = (x: Tensor): Tensor => one('Exp', [x]);
export const log = (x: Tensor): Tensor => one('Log', [x]);
export const abs = (x: Tensor): Tensor => one('Abs', [x]);
export const sign = (x: Tensor): Tensor => one('Sign', [x]);
export const relu = (x: Tensor): Tensor => one('Relu', [x]);
export const tanh = (x: Tensor): Tensor => one('Tanh', [x]);
export const sigmoid = (x: Tensor): Tensor => one('Sigmoid', [x]);
export const erf = (x: Tensor): Tensor => one('Erf', [x]);
/** GELU: 'none' is the exact erf form (Hugging Face "gelu"), 'tanh' the approximation ("gelu_new"). */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => one('Gelu', [x], { approximate });
export const where = (cond: Tensor, a: TLike, b: TLike): Tensor => one('Where', [cond, lift(a, b), lift(b, a)]);
export const clip = (x: Tensor, min: number, max: number): Tensor => one('Clip', [x], { min, max });
export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : one('Cast', [x], { to }));

// ---- linear algebra and nn ---------------------------------------------------------------------------------------
/** Batched matrix product over the last two axes; batch axes broadcast. */
export const matmul = (a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor =>
  one('MatMul', [a, b], { transA: !!opts.transA, transB: !!opts.transB });
export const softmax = (x: Tensor, axis = -1): Tensor => one('Softmax', [x], { axis });
export const logSoftmax = (x: Tensor, axis = -1): Tensor => one('LogSoftmax', [x], { axis });
/** Layer normalization over the last axis. */
export const layerNorm = (x: Tensor, scale: Tensor, bias: Tensor, epsilon = 1e-5): Tensor =>
  apply('LayerNorm', [x, scale, bias], { epsilon })[0]!;
/** Rows of `table` (axis 0) at integer `indices`: the embedding lookup. */
export const gather = (table: Tensor, indices: Tensor): Tensor => one('Gather', [table, indices]);
/** Adds rows of `updates` [..., D] into `data` [V, D] at `indices` [...]; the transpose of gather. */
export const scatterAddRows = (data: Tensor, indices: Tensor, updates: Tensor): Tensor =>
  one('ScatterAddRows', [data, indices, updates]);

// ---- shapes ------------------------------------------------------------------------------------------------------
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  const fill = shape.length - known.length;
  if (fill > 1) throw new ShapeError('Reshape', `more than one -1 in [${shape.join(', ')}]`);
  const rest = numel(known);
  const full = shape.map((d) => (d === -1 ? x.size / rest : d));
  if (numel(full) !== x.size || !full.every(Number.isInteger)) {
    throw new ShapeError('Reshape', `cannot reshape ${x} to [${shape.join(', ')}]`);
  }
  if (full.length === x.rank && full.every((d, i) => d === x.shape[i])) return x;
  return one('Reshape', [x], { shape: full });
}
export const transpose = (x: Tensor, perm: readonly number[]): Tensor =>
  perm.every((p, i) => p === i) ? x : one('Transpose', [x], { perm });
/** Static slice with step 1; negative starts/ends count from the end. */
export const slice = (x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Tensor =>
  one('Slice', [x], { starts, ends, axes });
export const concat = (xs: readonly Tensor[], axis: number): Tensor =>
  (xs.length === 1 ? xs[0]! : one('Concat', xs, { axis }));
export const split = (x: Tensor, sizes: readonly number[], axis: number): Tensor[] =>
  apply('Split', [x], { sizes, axis });
export const expand = (x: Tensor, shape: readonly number[]): Tensor => one('Expand', [x], { shape });
/** Zero padding: `pads` = [begin_0, ..., begin_n, end_0, ..., end_n] as in ONNX Pad. */
export const pad = (x: Tensor, pads: readonly number[]): Tensor => one('Pad', [x], { pads });
export const unsqueeze = (x: Tensor, axis: number): Tensor => {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
};

// ---- reductions --------------------------------------------------------------------------------------------------
export const reduceSum = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor =>
  one('ReduceSum', [x], { axes, keepdims });
export const reduceMean = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor =>
  one('ReduceMean', [x], { axes, keepdims });
export const reduceMax = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor =>
  one('ReduceMax', [x], { axes, keepdims });
export const reduceMin = (x: Tensor, axes?: readonly number[], keepdims = false): Tensor =>
  one('ReduceMin', [x], { axes, keepdims });

// ---- indices -----------------------------------------------------------------------------------------------------
export const oneHot = (indices: Tensor, depth: number, dtype: DType = 'float32'): Tensor =>
  one('OneHot', [indices], { depth, dtype });
export function topK(x: Tensor, k: number, axis = -1, largest = true): { values: Tensor; indices: Tensor } {
  const [values, indices] = apply('TopK', [x], { k, axis, largest });
  return { values: values!, indices: indices! };
}
/** Index of the largest value along `axis` (the first one on ties), as int64. */
export const argMax = (x: Tensor, axis = -1): Tensor => one('ArgMax', [x], { axis });
/** Writes `updates` into `data` at `indices` along `axis` (indices unique), as ONNX ScatterElements. */
export const scatterElements = (data: Tensor, indices: Tensor, updates: Tensor, axis: number): Tensor =>
  one('ScatterElements', [data, indices, updates], { axis });

// ---- control flow ------------------------------------------------------------------------------------------------
/**
 * Runs `body` `trips` times in one ONNX Loop. The body gets its own graph, the iteration number (int64 scalar) and
 * the carried values, and returns the next carried values (same shapes) and per-iteration scan values, which come
 * out stacked along a new first axis. Tensors of the enclosing graph enter the body through `body.capture(t)`.
 */
export function loop(
  trips: number,
  carried: readonly Tensor[],
  body: (g: Graph, iter: Tensor, carried: Tensor[]) => { carried: Tensor[]; scans?: Tensor[] },
): { carried: Tensor[]; scans: Tensor[] } {
  const outer = carried[0]?.graph;
  if (!outer) throw new Error('loop: needs at least one carried value');
  const g = new Graph();
  const iter = g.input('iter', 'int64', []);
  const cond = g.input('cond', 'bool', []);
  const cin = carried.map((t, i) => g.input(`carried${i}`, t.dtype, t.shape));
  const out = body(g, iter, cin);
  const scans = out.scans ?? [];
  const captured = [...g.captured.values()];
  const attrs = { trips, carried: carried.length,
    body: { graph: g, inputs: [iter, cond, ...cin], carriedOut: out.carried, scans } } as unknown as Attrs;
  const outs = apply('Loop', [...carried, ...captured], attrs);
  return { carried: outs.slice(0, carried.length), scans: outs.slice(carried.length) };
}

// ---- gradient control --------------------------------------------------------------------------------------------
/** Forward value of `value`; the gradient flows unchanged to `source` (same shape): a straight-through estimator. */
export const straightThrough = (value: Tensor, source: Tensor): Tensor => one('StraightThrough', [value, source]);
/** Identity in the forward pass, no gradient in the backward pass. */
export const stopGradient = (x: Tensor): Tensor => one('StopGradient', [x]);

// ---- losses and composites ---------------------------------------------------------------------------------------
/** Dropout with an explicit 0/1 mask input (kept units are scaled by 1/(1-p)). */
export const dropout = (x: Tensor, mask: Tensor, p: number): Tensor =>
  (p === 0 ? mul(x, mask) : mul(mul(x, mask), 1 / (1 - p)));

/** Per-row cross-entropy of logits [N, C] against int64 labels [N]; rows labelled `ignoreIndex` give 0. */
export const softmaxCrossEntropy = (logits: Tensor, labels: Tensor, ignoreIndex = -100): Tensor =>
  apply('SoftmaxCrossEntropy', [logits, labels], { ignoreIndex })[0]!;

export type CrossEntropyReduction = 'token' | 'sequence' | 'mean';
/**
 * Cross-entropy of logits [..., T, V] against targets [..., T].
 * 'token': per-token loss [..., T] (0 where ignored); 'sequence': mean over each sequence's counted tokens [...];
 * 'mean': mean over all counted tokens (a scalar).
 */
export function crossEntropy(logits: Tensor, targets: Tensor,
  opts: { ignoreIndex?: number; reduction?: CrossEntropyReduction } = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const V = logits.shape[logits.rank - 1]!;
  if (logits.rank !== targets.rank + 1 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ShapeError('CrossEntropy', `logits ${logits} do not match targets ${targets}`);
  }
  const flat = softmaxCrossEntropy(reshape(logits, [-1, V]), reshape(cast(targets, 'int64'), [-1]), ignoreIndex);
  const perToken = reshape(flat, targets.shape);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'token') return perToken;
  const counted = cast(not(equal(cast(targets, 'int64'), scalar(targets.graph, ignoreIndex, 'int64'))), logits.dtype);
  if (reduction === 'sequence') {
    const last = [targets.rank - 1];
    return div(reduceSum(perToken, last), clipBelow(reduceSum(counted, last), 1));
  }
  return div(reduceSum(perToken), clipBelow(reduceSum(counted), 1));
}
const clipBelow = (x: Tensor, min: number): Tensor => clip(x, min, Infinity);
