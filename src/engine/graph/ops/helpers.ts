// Small pieces shared by the op definitions.
import * as F from '../api';
import { type Attrs, type DType, type Node, type Tensor, type TensorSpec, isFloat, shapeStr } from '../ir';
import type { LowerCtx } from '../registry';
import { ShapeError, broadcastAxes, sameShape } from '../shape';

/** Sums a broadcast gradient back to the shape of the operand it came from. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const axes = broadcastAxes(shape, g.shape);
  return F.reshape(F.reduceSum(g, axes, true), shape);
}

/** Lowers an IR node to one ONNX node of the given type, inputs and outputs in order. */
export function lowerDirect(opType: string, attrs?: (n: Node) => Parameters<LowerCtx['emit']>[3]) {
  return (ctx: LowerCtx, n: Node): void =>
    ctx.emit(opType, n.inputs.map((t) => ctx.name(t)), n.outputs.map((t) => ctx.name(t)), attrs?.(n));
}

export function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new ShapeError(op, `needs a float tensor, got ${t}`);
}

export function requireSameDType(op: string, ts: readonly Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) throw new ShapeError(op, `dtypes differ: ${ts.map(String).join(' and ')}`);
  }
  return d;
}

export function requireShape(op: string, what: string, t: Tensor, shape: readonly number[]): void {
  if (!sameShape(t.shape, shape)) throw new ShapeError(op, `${what} ${t} should have shape ${shapeStr(shape)}`);
}

export const spec = (dtype: DType, shape: readonly number[]): TensorSpec => ({ dtype, shape });
export const num = (a: Attrs, k: string): number => a[k] as number;
export const nums = (a: Attrs, k: string): number[] => [...(a[k] as readonly number[])];
