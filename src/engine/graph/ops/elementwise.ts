// Elementwise ops: broadcasting binary arithmetic, comparisons, unary math and activations.
import * as F from '../api';
import type { DType, Node, Tensor } from '../ir';
import { type LowerCtx, defineOp, type OpDef } from '../registry';
import { ShapeError, broadcast } from '../shape';
import { lowerDirect, requireFloat, requireSameDType, spec, unbroadcast } from './helpers';

type Vjp = NonNullable<OpDef['vjp']>;

function binary(name: string, vjp?: (a: Tensor, b: Tensor, y: Tensor, g: Tensor) =>
  [Tensor | null, Tensor | null]): void {
  defineOp(name, {
    infer: ([a, b]) => {
      const d = requireSameDType(name, [a!, b!]);
      if (d === 'bool') throw new ShapeError(name, `needs numeric tensors, got ${a} and ${b}`);
      return [spec(d, broadcast(name, a!.shape, b!.shape))];
    },
    lower: lowerDirect(name),
    vjp:
      vjp &&
      ((n, [g]) => {
        const [a, b] = n.inputs as [Tensor, Tensor];
        const [ga, gb] = vjp(a, b, n.outputs[0]!, g!);
        return [ga && unbroadcast(ga, a.shape), gb && unbroadcast(gb, b.shape)];
      }),
  });
}

binary('Add', (_a, _b, _y, g) => [g, g]);
binary('Sub', (_a, _b, _y, g) => [g, F.neg(g)]);
binary('Mul', (a, b, _y, g) => [F.mul(g, b), F.mul(g, a)]);
binary('Div', (a, b, y, g) => {
  const gb = F.neg(F.div(F.mul(g, y), b));
  return [F.div(g, b), gb];
});
// d(a^b)/da = b·a^(b-1); d(a^b)/db = a^b·log(a) (defined for a > 0).
// The exponent's gradient is only emitted when something needs it (the ONNX writer drops unused nodes).
binary('Pow', (a, b, y, g) => [F.mul(g, F.mul(b, F.pow(a, F.sub(b, 1)))), F.mul(g, F.mul(y, F.log(a)))]);

function compare(name: string, boolInputs = false): void {
  defineOp(name, {
    infer: ([a, b]) => {
      requireSameDType(name, [a!, b!]);
      if (boolInputs && a!.dtype !== 'bool') throw new ShapeError(name, `needs bool tensors, got ${a}`);
      return [spec('bool', broadcast(name, a!.shape, b!.shape))];
    },
    lower: lowerDirect(name),
  });
}
for (const c of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) compare(c);
compare('And', true);
defineOp('Not', {
  infer: ([x]) => {
    if (x!.dtype !== 'bool') throw new ShapeError('Not', `needs a bool tensor, got ${x}`);
    return [spec('bool', x!.shape)];
  },
  lower: lowerDirect('Not'),
});

function unary(name: string, vjp?: (x: Tensor, y: Tensor, g: Tensor, n: Node) => Tensor | null, onnx = name): void {
  defineOp(name, {
    infer: ([x]) => {
      requireFloat(name, x!);
      return [spec(x!.dtype, x!.shape)];
    },
    lower: lowerDirect(onnx),
    vjp: vjp && (((n, [g]) => [vjp(n.inputs[0]!, n.outputs[0]!, g!, n)]) as Vjp),
  });
}

unary('Neg', (_x, _y, g) => F.neg(g));
unary('Sqrt', (_x, y, g) => F.div(g, F.mul(y, 2)));
unary('Exp', (_x, y, g) => F.mul(g, y));
unary('Log', (x, _y, g) => F.div(g, x));
unary('Abs', (x, _y, g) => F.mul(g, F.sign(x)));
defineOp('Sign', {
  infer: ([x]) => [spec(x!.dtype, x!.shape)],
  lower: (ctx, n) => {
    const x = n.inputs[0]!;
    if (!ctx.portable) return ctx.emit('Sign', [ctx.name(x)], [ctx.name(n.outputs[0]!)]);
    // WebGPU has no Sign kernel: (x > 0) − (x < 0), the same values (0 at 0).
    const zero = ctx.constant(x.dtype, [], [0]);
    const [gt, lt, pos, neg] = [ctx.fresh('gt'), ctx.fresh('lt'), ctx.fresh('pos'), ctx.fresh('neg')];
    ctx.emit('Greater', [ctx.name(x), zero], [gt]);
    ctx.emit('Less', [ctx.name(x), zero], [lt]);
    ctx.emit('Cast', [gt], [pos], { to: { i: ONNX_DTYPE[x.dtype] } });
    ctx.emit('Cast', [lt], [neg], { to: { i: ONNX_DTYPE[x.dtype] } });
    ctx.emit('Sub', [pos, neg], [ctx.name(n.outputs[0]!)]);
  },
  vjp: () => [null],
});
// The 0/1 derivative as cast(y > 0): ONNX Runtime's CPU Greater and Cast run at memory speed, its Sign at a third
// of it (measured on [19200, 512]: Greater + Cast + Mul 8 ms, Sign + Mul 20 ms, Greater + Where 14 ms).
unary('Relu', (_x, y, g) => F.mul(g, F.cast(F.greater(y, 0), y.dtype)));
unary('Tanh', (_x, y, g) => F.mul(g, F.sub(1, F.mul(y, y))));
unary('Sigmoid', (_x, y, g) => F.mul(g, F.mul(y, F.sub(1, y))));
// d erf(x)/dx = 2/√π · exp(−x²)
defineOp('Erf', {
  infer: ([x]) => {
    requireFloat('Erf', x!);
    return [spec(x!.dtype, x!.shape)];
  },
  lower: (ctx, n) => {
    const x = n.inputs[0]!;
    if (x.dtype === 'float32') ctx.emit('Erf', [ctx.name(x)], [ctx.name(n.outputs[0]!)]);
    else emitErf64(ctx, ctx.name(x), ctx.name(n.outputs[0]!));
  },
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    return [F.mul(g!, F.mul(F.exp(F.neg(F.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
});

/**
 * erf in float64 from primitive ops, because ORT's CPU Erf kernel is float32-only and float64 graphs exist for
 * gradient checks. Uses erf(x) = 2/√π · e^(−x²) · Σₙ (2x²)ⁿ·x / (2n+1)!!, whose terms are all positive (no
 * cancellation); with |x| clamped to 6 (erf(6) rounds to 1 in float64) 170 terms reach full double precision.
 */
function emitErf64(ctx: LowerCtx, x: string, out: string): void {
  const c = (v: number) => ctx.constant('float64', [], [v]);
  const xc = ctx.fresh('erfx');
  ctx.emit('Clip', [x, c(-6), c(6)], [xc]);
  const x2 = ctx.fresh('erfx2');
  ctx.emit('Mul', [xc, xc], [x2]);
  const twoX2 = ctx.fresh('erf2x2');
  ctx.emit('Mul', [x2, c(2)], [twoX2]);
  let term = xc;
  let sum = xc;
  for (let k = 1; k <= 170; k++) {
    const t1 = ctx.fresh('erft');
    const t2 = ctx.fresh('erft');
    const s = ctx.fresh('erfs');
    ctx.emit('Mul', [term, twoX2], [t1]);
    ctx.emit('Mul', [t1, c(1 / (2 * k + 1))], [t2]);
    ctx.emit('Add', [sum, t2], [s]);
    term = t2;
    sum = s;
  }
  const negX2 = ctx.fresh('erfnx2');
  const e = ctx.fresh('erfe');
  const es = ctx.fresh('erfes');
  ctx.emit('Neg', [x2], [negX2]);
  ctx.emit('Exp', [negX2], [e]);
  ctx.emit('Mul', [e, sum], [es]);
  ctx.emit('Mul', [es, c(2 / Math.sqrt(Math.PI))], [out]);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
defineOp('Gelu', {
  infer: ([x], a) => {
    requireFloat('Gelu', x!);
    if (a.approximate !== 'none' && a.approximate !== 'tanh') throw new ShapeError('Gelu',
      `approximate must be "none" or "tanh", got ${String(a.approximate)}`);
    return [spec(x!.dtype, x!.shape)];
  },
  lower: (ctx, n) => {
    const x = n.inputs[0]!;
    const out = ctx.name(n.outputs[0]!);
    if (x.dtype === 'float32') return ctx.emit('Gelu', [ctx.name(x)], [out],
      { approximate: { s: n.attrs.approximate as string } });
    // float64 (gradient checks): spelled out, since ORT's Gelu kernels are float32-only.
    const c = (v: number) => ctx.constant('float64', [], [v]);
    const [inner, t, half] = [ctx.fresh('gi'), ctx.fresh('gt'), ctx.fresh('gh')];
    if (n.attrs.approximate === 'tanh') {
      const [x2, x3, a, b] = [ctx.fresh('gx2'), ctx.fresh('gx3'), ctx.fresh('ga'), ctx.fresh('gb')];
      ctx.emit('Mul', [ctx.name(x), ctx.name(x)], [x2]);
      ctx.emit('Mul', [x2, ctx.name(x)], [x3]);
      ctx.emit('Mul', [x3, c(0.044715)], [a]);
      ctx.emit('Add', [ctx.name(x), a], [b]);
      ctx.emit('Mul', [b, c(SQRT_2_OVER_PI)], [inner]);
      ctx.emit('Tanh', [inner], [t]);
    } else {
      ctx.emit('Mul', [ctx.name(x), c(Math.SQRT1_2)], [inner]);
      emitErf64(ctx, inner, t);
    }
    const [onePlus] = [ctx.fresh('g1p')];
    ctx.emit('Add', [t, c(1)], [onePlus]);
    ctx.emit('Mul', [onePlus, c(0.5)], [half]);
    ctx.emit('Mul', [half, ctx.name(x)], [out]);
  },
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    if (n.attrs.approximate === 'tanh') {
      // gelu(x) = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)
      const x2 = F.mul(x, x);
      const t = F.tanh(F.mul(F.add(x, F.mul(F.mul(x2, x), 0.044715)), SQRT_2_OVER_PI));
      const du = F.mul(F.add(F.mul(x2, 3 * 0.044715), 1), SQRT_2_OVER_PI);
      const d = F.add(F.mul(F.add(t, 1), 0.5), F.mul(F.mul(F.mul(x, 0.5), F.sub(1, F.mul(t, t))), du));
      return [F.mul(g!, d)];
    }
    // gelu(x) = xΦ(x): derivative Φ(x) + xφ(x)
    const cdf = F.mul(F.add(F.erf(F.mul(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = F.mul(F.exp(F.mul(F.mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [F.mul(g!, F.add(cdf, F.mul(x, pdf)))];
  },
});

defineOp('Clip', {
  infer: ([x], a) => {
    requireFloat('Clip', x!);
    if (!((a.min as number) <= (a.max as number))) throw new ShapeError('Clip',
      `min ${String(a.min)} exceeds max ${String(a.max)}`);
    return [spec(x!.dtype, x!.shape)];
  },
  lower: (ctx, n) => {
    const x = n.inputs[0]!;
    const lo = ctx.constant(x.dtype, [], [n.attrs.min as number]);
    const hi = ctx.constant(x.dtype, [], [n.attrs.max as number]);
    ctx.emit('Clip', [ctx.name(x), lo, hi], [ctx.name(n.outputs[0]!)]);
  },
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    const inside = F.and(F.greaterEqual(x, n.attrs.min as number), F.lessEqual(x, n.attrs.max as number));
    return [F.where(inside, g!, 0)];
  },
});

const ONNX_DTYPE: Record<DType, number> = { float32: 1, int64: 7, bool: 9, float64: 11 };
export const onnxDType = (d: DType): number => ONNX_DTYPE[d];

defineOp('Cast', {
  infer: ([x], a) => [spec(a.to as DType, x!.shape)],
  lower: lowerDirect('Cast', (n) => ({ to: { i: ONNX_DTYPE[n.attrs.to as DType] } })),
  vjp: (n, [g]) => {
    const x = n.inputs[0]!;
    return [x.dtype === 'float32' || x.dtype === 'float64' ? F.cast(g!, x.dtype) : null];
  },
});

defineOp('Where', {
  infer: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new ShapeError('Where', `condition must be bool, got ${c}`);
    const d = requireSameDType('Where', [a!, b!]);
    return [spec(d, broadcast('Where', c!.shape, broadcast('Where', a!.shape, b!.shape)))];
  },
  lower: lowerDirect('Where'),
  vjp: (n, [g]) => {
    const [c, a, b] = n.inputs as [Tensor, Tensor, Tensor];
    return [null, unbroadcast(F.where(c, g!, 0), a.shape), unbroadcast(F.where(c, 0, g!), b.shape)];
  },
});

defineOp('StraightThrough', {
  infer: ([v, s]) => {
    requireSameDType('StraightThrough', [v!, s!]);
    if (v!.shape.join() !== s!.shape.join()) throw new ShapeError('StraightThrough',
      `value ${v} and source ${s} differ in shape`);
    return [spec(v!.dtype, v!.shape)];
  },
  lower: (ctx, n) => ctx.emit('Identity', [ctx.name(n.inputs[0]!)], [ctx.name(n.outputs[0]!)]),
  vjp: (_n, [g]) => [null, g!],
});

defineOp('StopGradient', {
  infer: ([x]) => [spec(x!.dtype, x!.shape)],
  lower: lowerDirect('Identity'),
  vjp: () => [null],
});
