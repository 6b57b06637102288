// Batched MatMul with optional transposes of either operand's last two axes.
import * as F from '../api';
import type { Tensor } from '../ir';
import { defineOp } from '../registry';
import { ShapeError, broadcast } from '../shape';
import { requireFloat, requireSameDType, spec, unbroadcast } from './helpers';

function matrixDims(t: Tensor, trans: boolean): [number, number] {
  const r = t.rank;
  const rows = t.shape[r - 2]!;
  const cols = t.shape[r - 1]!;
  return trans ? [cols, rows] : [rows, cols];
}

defineOp('MatMul', {
  infer: ([a, b], attrs) => {
    const d = requireSameDType('MatMul', [a!, b!]);
    requireFloat('MatMul', a!);
    if (a!.rank < 2 || b!.rank < 2) throw new ShapeError('MatMul', `needs rank ≥ 2 operands, got ${a} and ${b}`);
    const [m, k] = matrixDims(a!, !!attrs.transA);
    const [k2, n] = matrixDims(b!, !!attrs.transB);
    if (k !== k2) {
      throw new ShapeError('MatMul', `inner dimensions differ: ${a}${attrs.transA ? 'ᵀ' : ''} × ` +
        `${b}${attrs.transB ? 'ᵀ' : ''} (${k} vs ${k2})`);
    }
    const batch = broadcast('MatMul', a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    return [spec(d, [...batch, m, n])];
  },
  lower: (ctx, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const { transA, transB } = n.attrs;
    const out = ctx.name(n.outputs[0]!);
    if (!transA && !transB) return ctx.emit('MatMul', [ctx.name(a), ctx.name(b)], [out]);
    if (a.dtype === 'float32' && !ctx.portable) {
      // ORT's FusedMatMul folds the transposes into the GEMM call (float32 CPU kernels only; WebGPU has none).
      return ctx.emit('FusedMatMul', [ctx.name(a), ctx.name(b)], [out],
        { transA: { i: transA ? 1 : 0 }, transB: { i: transB ? 1 : 0 }, alpha: { f: 1 } }, 'com.microsoft');
    }
    const swapLast = (t: Tensor, trans: unknown): string => {
      if (!trans) return ctx.name(t);
      const perm = [...t.shape.keys()];
      [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1]!, perm[t.rank - 2]!];
      const name = ctx.fresh('T');
      ctx.emit('Transpose', [ctx.name(t)], [name], { perm: { ints: perm } });
      return name;
    };
    ctx.emit('MatMul', [swapLast(a, transA), swapLast(b, transB)], [out]);
  },
  vjp: (n, [g]) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const tA = !!n.attrs.transA;
    const tB = !!n.attrs.transB;
    // C = op(A)·op(B): dop(A) = G·op(B)ᵀ and dop(B) = op(A)ᵀ·G, transposed back where op transposed.
    const ga = tA ? F.matmul(b, g!, { transA: tB, transB: true }) : F.matmul(g!, b, { transB: !tB });
    const gb = tB ? F.matmul(g!, a, { transA: true, transB: tA }) : F.matmul(a, g!, { transA: !tA });
    return [unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)];
  },
});
