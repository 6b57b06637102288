// Shape ops: Reshape, Transpose, Slice, Concat, Split, Expand, Pad. Shapes are static, so every size is known.
import * as F from '../api';
import { type Tensor, numel, shapeStr } from '../ir';
import { defineOp } from '../registry';
import { ShapeError, broadcast, normAxis } from '../shape';
import { nums, spec, unbroadcast } from './helpers';

defineOp('Reshape', {
  infer: ([x], a) => {
    const shape = nums(a, 'shape');
    if (numel(shape) !== x!.size) throw new ShapeError('Reshape', `cannot reshape ${x} to ${shapeStr(shape)}`);
    return [spec(x!.dtype, shape)];
  },
  lower: (ctx, n) => ctx.emit('Reshape', [ctx.name(n.inputs[0]!), ctx.int64(nums(n.attrs, 'shape'))],
    [ctx.name(n.outputs[0]!)]),
  vjp: (n, [g]) => [F.reshape(g!, [...n.inputs[0]!.shape])],
});

defineOp('Transpose', {
  infer: ([x], a) => {
    const perm = nums(a, 'perm');
    if (perm.length !== x!.rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
      throw new ShapeError('Transpose', `perm ${shapeStr(perm)} is not a permutation of the axes of ${x}`);
    }
    return [spec(x!.dtype, perm.map((p) => x!.shape[p]!))];
  },
  lower: (ctx, n) => ctx.emit('Transpose', [ctx.name(n.inputs[0]!)], [ctx.name(n.outputs[0]!)],
    { perm: { ints: nums(n.attrs, 'perm') } }),
  vjp: (n, [g]) => {
    const perm = nums(n.attrs, 'perm');
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [F.transpose(g!, inv)];
  },
});

/** Resolved [start, end) per axis of a Slice node. */
function sliceBounds(x: Tensor, attrs: Record<string, unknown>): { axes: number[]; starts: number[]; ends: number[] } {
  const axes = (attrs.axes as number[]).map((a) => normAxis('Slice', a, x.rank));
  const starts: number[] = [];
  const ends: number[] = [];
  axes.forEach((ax, i) => {
    const d = x.shape[ax]!;
    const clamp = (v: number) => Math.min(d, Math.max(0, v < 0 ? v + d : v));
    const s = clamp((attrs.starts as number[])[i]!);
    const e = clamp((attrs.ends as number[])[i]!);
    if (e < s) throw new ShapeError('Slice', `empty range [${s}, ${e}) on axis ${ax} of ${x}`);
    starts.push(s);
    ends.push(e);
  });
  return { axes, starts, ends };
}

defineOp('Slice', {
  infer: ([x], a) => {
    if ((a.starts as number[]).length !== (a.axes as number[]).length
      || (a.ends as number[]).length !== (a.axes as number[]).length) {
      throw new ShapeError('Slice', 'starts, ends and axes must have the same length');
    }
    const { axes, starts, ends } = sliceBounds(x!, a);
    const shape = [...x!.shape];
    axes.forEach((ax, i) => (shape[ax] = ends[i]! - starts[i]!));
    return [spec(x!.dtype, shape)];
  },
  lower: (ctx, n) => {
    const { axes, starts, ends } = sliceBounds(n.inputs[0]!, n.attrs);
    ctx.emit('Slice', [ctx.name(n.inputs[0]!), ctx.int64(starts), ctx.int64(ends), ctx.int64(axes)],
      [ctx.name(n.outputs[0]!)]);
  },
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    const { axes, starts, ends } = sliceBounds(x, n.attrs);
    const pads = new Array<number>(2 * x.rank).fill(0);
    axes.forEach((ax, i) => {
      pads[ax] = starts[i]!;
      pads[x.rank + ax] = x.shape[ax]! - ends[i]!;
    });
    return [F.pad(g!, pads)];
  },
});

defineOp('Pad', {
  infer: ([x], a) => {
    const pads = nums(a, 'pads');
    if (pads.length !== 2 * x!.rank || pads.some((p) => p < 0)) throw new ShapeError('Pad',
      `pads ${shapeStr(pads)} do not fit ${x}`);
    return [spec(x!.dtype, x!.shape.map((d, i) => d + pads[i]! + pads[x!.rank + i]!))];
  },
  lower: (ctx, n) => ctx.emit('Pad', [ctx.name(n.inputs[0]!), ctx.int64(nums(n.attrs, 'pads'))],
    [ctx.name(n.outputs[0]!)]),
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    const pads = nums(n.attrs, 'pads');
    const axes = [...x.shape.keys()];
    return [F.slice(g!, axes.map((i) => pads[i]!), axes.map((i) => pads[i]! + x.shape[i]!), axes)];
  },
});

defineOp('Concat', {
  infer: (xs, a) => {
    const first = xs[0]!;
    const axis = normAxis('Concat', a.axis as number, first.rank);
    for (const t of xs) {
      if (t.dtype !== first.dtype || t.rank !== first.rank
        || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        throw new ShapeError('Concat', `${t} does not match ${first} outside axis ${axis}`);
      }
    }
    const shape = [...first.shape];
    shape[axis] = xs.reduce((s, t) => s + t.shape[axis]!, 0);
    return [spec(first.dtype, shape)];
  },
  lower: (ctx, n) =>
    ctx.emit('Concat', n.inputs.map((t) => ctx.name(t)), [ctx.name(n.outputs[0]!)],
      { axis: { i: normAxis('Concat', n.attrs.axis as number, n.inputs[0]!.rank) } }),
  vjp: (n, [g]) => {
    const axis = normAxis('Concat', n.attrs.axis as number, n.inputs[0]!.rank);
    return F.split(g!, n.inputs.map((t) => t.shape[axis]!), axis);
  },
});

defineOp('Split', {
  infer: ([x], a) => {
    const axis = normAxis('Split', a.axis as number, x!.rank);
    const sizes = nums(a, 'sizes');
    if (sizes.reduce((s, v) => s + v, 0) !== x!.shape[axis]) throw new ShapeError('Split',
      `sizes ${shapeStr(sizes)} do not add up to axis ${axis} of ${x}`);
    return sizes.map((s) => spec(x!.dtype, x!.shape.map((d, i) => (i === axis ? s : d))));
  },
  lower: (ctx, n) => {
    const axis = normAxis('Split', n.attrs.axis as number, n.inputs[0]!.rank);
    ctx.emit('Split', [ctx.name(n.inputs[0]!), ctx.int64(nums(n.attrs, 'sizes'))], n.outputs.map((t) => ctx.name(t)),
      { axis: { i: axis } });
  },
  vjp: (n, gs) => {
    const axis = normAxis('Split', n.attrs.axis as number, n.inputs[0]!.rank);
    return [F.concat(gs.map((g, i) => g ?? F.zeros(n.inputs[0]!.graph, n.outputs[i]!.shape, n.outputs[i]!.dtype)),
      axis)];
  },
});

defineOp('Expand', {
  infer: ([x], a) => {
    const shape = nums(a, 'shape');
    const out = broadcast('Expand', x!.shape, shape);
    if (out.join() !== shape.join()) throw new ShapeError('Expand', `${x} cannot be expanded to ${shapeStr(shape)}`);
    return [spec(x!.dtype, out)];
  },
  lower: (ctx, n) => ctx.emit('Expand', [ctx.name(n.inputs[0]!), ctx.int64(nums(n.attrs, 'shape'))],
    [ctx.name(n.outputs[0]!)]),
  vjp: (n, [g]) => [unbroadcast(g!, [...n.inputs[0]!.shape])],
});
