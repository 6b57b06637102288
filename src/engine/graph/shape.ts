// Shape arithmetic shared by shape inference and the VJP rules. Errors name the op and the shapes involved.
import { type Shape, shapeStr } from './ir';

export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** NumPy-style broadcasting of two shapes. */
export function broadcast(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes ${shapeStr(a)} and ${shapeStr(b)} do not broadcast (dimension ${i}: ${da} vs ` +
        `${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(op,
    `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function normAxes(op: string, axes: readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const out = axes.map((a) => normAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new ShapeError(op, `axes ${shapeStr(axes)} repeat an axis`);
  return out.sort((x, y) => x - y);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The axes of `full` that were broadcast from `small`: the leading extra axes and the axes where `small` has 1.
 * Summing a gradient over them gives the gradient of the smaller operand.
 */
export function broadcastAxes(small: Shape, full: Shape): number[] {
  const lead = full.length - small.length;
  const axes: number[] = [];
  for (let i = 0; i < full.length; i++) {
    if (i < lead || (small[i - lead] === 1 && full[i] !== 1)) axes.push(i);
  }
  return axes;
}
