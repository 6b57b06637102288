// ReduceSum / ReduceMean / ReduceMax over chosen axes (all axes when none are given).
import * as F from '../api';
import type { Node, Tensor } from '../ir';
import { defineOp } from '../registry';
import { normAxes } from '../shape';
import { spec } from './helpers';

function keptShape(n: Node): number[] {
  const x = n.inputs[0]!;
  const axes = normAxes(n.op, n.attrs.axes as number[] | undefined, x.rank);
  return x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** The output gradient broadcast back over the reduced axes. */
function spread(n: Node, g: Tensor): Tensor {
  return F.expand(F.reshape(g, keptShape(n)), [...n.inputs[0]!.shape]);
}

function reduce(name: string, vjp: (n: Node, g: Tensor) => Tensor): void {
  defineOp(name, {
    infer: ([x], a) => {
      const axes = normAxes(name, a.axes as number[] | undefined, x!.rank);
      const shape = a.keepdims ? x!.shape.map((d, i) => (axes.includes(i) ? 1 : d))
        : x!.shape.filter((_, i) => !axes.includes(i));
      return [spec(x!.dtype, shape)];
    },
    lower: (ctx, n) => {
      const x = n.inputs[0]!;
      const axes = normAxes(name, n.attrs.axes as number[] | undefined, x.rank);
      ctx.emit(name, [ctx.name(x), ctx.int64(axes)], [ctx.name(n.outputs[0]!)],
        { keepdims: { i: n.attrs.keepdims ? 1 : 0 } });
    },
    vjp: (n, [g]) => [vjp(n, g!)],
  });
}

reduce('ReduceSum', (n, g) => spread(n, g));
reduce('ReduceMean', (n, g) => F.mul(spread(n, g), n.outputs[0]!.size / n.inputs[0]!.size));
// Max and min: the gradient goes to the elements equal to the result; ties share it equally.
const extremum = (n: Node, g: Tensor): Tensor => {
  const x = n.inputs[0]!;
  const hit = F.cast(F.equal(x, spread(n, n.outputs[0]!)), x.dtype);
  const count = spread(n, F.reshape(F.reduceSum(hit, n.attrs.axes as number[] | undefined, true), n.outputs[0]!.shape));
  return F.div(F.mul(spread(n, g), hit), count);
};
reduce('ReduceMax', extremum);
reduce('ReduceMin', extremum);
