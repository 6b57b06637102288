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

/**
 * The gradient of a matrix B [K, N] (or [N, K] when transB) shared by every row of a batched A [..., M, K]: one GEMM
 * over the flattened rows, Σ over all rows of Aᵀ·G, instead of a batch of per-example products [..., K, N] that a
 * ReduceSum then adds up (128x the memory traffic for a [128, 150, C] batch).
 */
function sharedWeightGrad(a: Tensor, b: Tensor, g: Tensor, transB: boolean): Tensor {
  const a2 = F.reshape(a, [-1, a.shape[a.rank - 1]!]);
  const g2 = F.reshape(g, [-1, g.shape[g.rank - 1]!]);
  const gb = transB ? transposedProduct(g2, a2) : transposedProduct(a2, g2);
  if (gb.shape.join() !== b.shape.join()) throw new Error(`MatMul: weight gradient ${gb} does not match ${b}`);
  return gb;
}

/**
 * Xᵀ·Y for X [L, m] and Y [L, n], a sum over many rows L (a shared weight's gradient), as that product or as
 * (Yᵀ·X)ᵀ, whichever ran faster on ONNX Runtime's CPU GEMM: the one with the wider operand transposed (measured, one
 * thread: [3968, 128]ᵀ·[3968, 512] 11.4 ms, as (…)ᵀ 8.3 ms; at L = 19200: 52 vs 38 ms). The final transpose is of
 * the small result. (Attention's batched Pᵀ·dO ran faster as (dOᵀ·P)ᵀ too, but ONNX Runtime then merged that
 * transpose with the heads' transpose into one that moves the innermost axis, which cost more than it saved.)
 */
function transposedProduct(x: Tensor, y: Tensor): Tensor {
  if (x.shape[1]! >= y.shape[1]!) return F.matmul(x, y, { transA: true });
  return F.transpose(F.matmul(y, x, { transA: true }), [1, 0]);
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
    if (b.rank === 2 && a.rank > 2 && !tA) return [ga, sharedWeightGrad(a, b, g!, tB)];
    const gb = tB ? F.matmul(g!, a, { transA: true, transB: tA }) : F.matmul(a, g!, { transA: !tA });
    return [unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)];
  },
});
