// Constants and index ops: Constant, Zeros, Gather (embedding lookup), ScatterAddRows, ScatterElements, OneHot, TopK.
import * as F from '../api';
import { type DType, type Tensor, shapeStr } from '../ir';
import { type LowerCtx, defineOp } from '../registry';
import { ShapeError, normAxis } from '../shape';
import { onnxDType } from './elementwise';
import { nums, spec } from './helpers';

defineOp('Constant', {
  infer: (_x, a) => [spec(a.dtype as DType, nums(a, 'shape'))],
  lower: (ctx, n) => {
    const out = n.outputs[0]!;
    ctx.constant(out.dtype, out.shape, n.attrs.data as ArrayLike<number>, ctx.name(out));
  },
});

defineOp('Zeros', {
  infer: (_x, a) => [spec(a.dtype as DType, nums(a, 'shape'))],
  lower: (ctx, n) => {
    const out = n.outputs[0]!;
    ctx.emit('ConstantOfShape', [ctx.int64(out.shape)], [ctx.name(out)],
      { value: { t: { dtype: out.dtype, dims: [1], data: [0] } } });
  },
});

function requireIndices(op: string, t: Tensor): void {
  if (t.dtype !== 'int64') throw new ShapeError(op, `indices must be int64, got ${t}`);
}

/** Largest one-hot matrix (tables rows × lookups) for the deterministic embedding gradient; beyond it, ScatterND. */
const ONE_HOT_LIMIT = 1 << 24;

defineOp('Gather', {
  infer: ([table, idx]) => {
    requireIndices('Gather', idx!);
    if (table!.rank < 1) throw new ShapeError('Gather', `table ${table} needs rank ≥ 1`);
    return [spec(table!.dtype, [...idx!.shape, ...table!.shape.slice(1)])];
  },
  lower: (ctx, n) => ctx.emit('Gather', n.inputs.map((t) => ctx.name(t)), [ctx.name(n.outputs[0]!)],
    { axis: { i: 0 } }),
  vjp: (n, [g]) => {
    const [table, idx] = n.inputs as [Tensor, Tensor];
    const rows = table.shape[0]!;
    const width = table.size / rows;
    if (rows * idx.size <= ONE_HOT_LIMIT) {
      // onehot(idx)ᵀ · g: a GEMM sums each row's gradient in a fixed order, so the result is the same on every run
      // (ScatterND's parallel add is not, with more than one thread).
      const oh = F.reshape(F.oneHot(idx, rows, table.dtype), [idx.size, rows]); // int64 idx is never reshaped
      return [F.reshape(F.matmul(oh, F.reshape(g!, [idx.size, width]), { transA: true }), [...table.shape]), null];
    }
    return [F.scatterAddRows(F.zeros(table.graph, table.shape, table.dtype), idx, g!), null];
  },
});

defineOp('ScatterAddRows', {
  infer: ([data, idx, upd]) => {
    requireIndices('ScatterAddRows', idx!);
    const want = [...idx!.shape, ...data!.shape.slice(1)];
    if (upd!.shape.join() !== want.join()) throw new ShapeError('ScatterAddRows',
      `updates ${upd} should be ${shapeStr(want)}`);
    return [spec(data!.dtype, data!.shape)];
  },
  lower: (ctx, n) => {
    const [data, idx, upd] = n.inputs as [Tensor, Tensor, Tensor];
    if (ctx.portable) return lowerScatterAddRowsPortable(ctx, data, idx, upd, ctx.name(n.outputs[0]!));
    const idx1 = ctx.fresh('idx');
    ctx.emit('Unsqueeze', [ctx.name(idx), ctx.int64([idx.rank])], [idx1]);
    ctx.emit('ScatterND', [ctx.name(data), idx1, ctx.name(upd)], [ctx.name(n.outputs[0]!)],
      { reduction: { s: 'add' } });
  },
});

defineOp('ScatterElements', {
  infer: ([data, idx, upd], a) => {
    requireIndices('ScatterElements', idx!);
    normAxis('ScatterElements', a.axis as number, data!.rank);
    if (idx!.shape.join() !== upd!.shape.join()) throw new ShapeError('ScatterElements',
      `indices ${idx} and updates ${upd} differ in shape`);
    return [spec(data!.dtype, data!.shape)];
  },
  lower: (ctx, n) =>
    ctx.emit('ScatterElements', n.inputs.map((t) => ctx.name(t)), [ctx.name(n.outputs[0]!)], {
      axis: { i: normAxis('ScatterElements', n.attrs.axis as number, n.inputs[0]!.rank) },
    }),
});

defineOp('OneHot', {
  infer: ([idx], a) => {
    requireIndices('OneHot', idx!);
    return [spec(a.dtype as DType, [...idx!.shape, a.depth as number])];
  },
  // Spelled as (index == arange(depth)) so that every output dtype works (ORT's OneHot lacks float64 outputs).
  lower: (ctx, n) => {
    const out = n.outputs[0]!;
    const idx = n.inputs[0]!;
    const depth = n.attrs.depth as number;
    if (ctx.portable) {
      const hit = portableHits(ctx, idx, depth);
      return ctx.emit('Cast', [hit], [ctx.name(out)], { to: { i: onnxDType(out.dtype) } });
    }
    const [col, hit] = [ctx.fresh('col'), ctx.fresh('hit')];
    ctx.emit('Unsqueeze', [ctx.name(idx), ctx.int64([idx.rank])], [col]);
    ctx.emit('Equal', [col, ctx.int64([...Array(depth).keys()])], [hit]);
    ctx.emit('Cast', [hit], [ctx.name(out)], { to: { i: onnxDType(out.dtype) } });
  },
});

defineOp('TopK', {
  infer: ([x], a) => {
    const axis = normAxis('TopK', a.axis as number, x!.rank);
    const k = a.k as number;
    if (!Number.isInteger(k) || k < 0 || k > x!.shape[axis]!) throw new ShapeError('TopK',
      `k = ${k} is out of range for axis ${axis} of ${x}`);
    const shape = x!.shape.map((d, i) => (i === axis ? k : d));
    return [spec(x!.dtype, shape), spec('int64', shape)];
  },
  lower: (ctx, n) => {
    const x = n.inputs[0]!;
    ctx.emit('TopK', [ctx.name(x), ctx.int64([n.attrs.k as number])], n.outputs.map((t) => ctx.name(t)), {
      axis: { i: normAxis('TopK', n.attrs.axis as number, x.rank) },
      largest: { i: n.attrs.largest ? 1 : 0 },
      sorted: { i: 1 },
    });
  },
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    if (!g) return [null];
    return [F.scatterElements(F.zeros(x.graph, x.shape, x.dtype), n.outputs[1]!, g, n.attrs.axis as number)];
  },
});

defineOp('ArgMax', {
  infer: ([x], a) => {
    const axis = normAxis('ArgMax', a.axis as number, x!.rank);
    return [spec('int64', x!.shape.filter((_, i) => i !== axis))];
  },
  lower: (ctx, n) =>
    ctx.emit('ArgMax', [ctx.name(n.inputs[0]!)], [ctx.name(n.outputs[0]!)], {
      axis: { i: normAxis('ArgMax', n.attrs.axis as number, n.inputs[0]!.rank) },
      keepdims: { i: 0 },
      select_last_index: { i: 0 },
    }),
});

/**
 * bool [..., depth]: idx == arange(depth), for providers without int64 arithmetic (WebGPU): the int64 indices are
 * only used to Gather exact float32 class numbers (exact below 2^24), which are compared as floats.
 */
function portableHits(ctx: LowerCtx, idx: Tensor, depth: number): string {
  const classes = ctx.constant('float32', [depth], [...Array(depth).keys()]);
  const [f, f1, hit] = [ctx.fresh('cls'), ctx.fresh('cls1'), ctx.fresh('hit')];
  ctx.emit('Gather', [classes, ctx.name(idx)], [f], { axis: { i: 0 } });
  ctx.emit('Reshape', [f, ctx.int64([...idx.shape, 1])], [f1]);
  ctx.emit('Equal', [f1, classes], [hit]);
  return hit;
}

/** ScatterAddRows as data + onehot(idx)ᵀ · updates, for providers without int64 arithmetic (see portableHits). */
function lowerScatterAddRowsPortable(ctx: LowerCtx, data: Tensor, idx: Tensor, upd: Tensor, out: string): void {
  const [rows, width] = [data.shape[0]!, data.size / data.shape[0]!];
  const hit = portableHits(ctx, idx, rows);
  const [oh, ohFlat, ohT, u, sum, sumR] = ['oh', 'ohf', 'oht', 'upd', 'sum', 'sumr'].map((h) => ctx.fresh(h)) as
    [string, string, string, string, string, string];
  ctx.emit('Cast', [hit], [oh], { to: { i: onnxDType(data.dtype) } });
  ctx.emit('Reshape', [oh, ctx.int64([idx.size, rows])], [ohFlat]);
  ctx.emit('Transpose', [ohFlat], [ohT], { perm: { ints: [1, 0] } });
  ctx.emit('Reshape', [ctx.name(upd), ctx.int64([idx.size, width])], [u]);
  ctx.emit('MatMul', [ohT, u], [sum]);
  ctx.emit('Reshape', [sum, ctx.int64([...data.shape])], [sumR]);
  ctx.emit('Add', [ctx.name(data), sumR], [out]);
}
