// Every differentiable op's VJP against central finite differences in float64 (relative error ≤ 1e-6).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { F, type Graph, type Tensor } from '../src/engine/graph/index';
import { type CheckInput, gradCheck, randomInput, rng, runtime } from './helpers/gradcheck';

type R = ReturnType<typeof rng>;
type Case = (g: Graph, r: R) => { inputs: CheckInput[]; y: Tensor };

const unaryCase = (f: (x: Tensor) => Tensor, map?: (x: number) => number): Case => (g, r) => {
  const x = randomInput(g, r, 'x', [3, 5], map);
  return { inputs: [x], y: f(x.tensor) };
};
const binaryCase = (f: (a: Tensor, b: Tensor) => Tensor, shapeA: number[], shapeB: number[],
  mapB?: (x: number) => number): Case => (g, r) => {
  const a = randomInput(g, r, 'a', shapeA, Math.abs === mapB ? (x) => Math.abs(x) + 0.5 : undefined);
  const b = randomInput(g, r, 'b', shapeB, mapB);
  return { inputs: [a, b], y: f(a.tensor, b.tensor) };
};
const positive = (x: number) => Math.abs(x) + 0.5;
const awayFromZero = (x: number) => (x >= 0 ? x + 0.1 : x - 0.1);

const cases: Record<string, Case> = {
  Add: binaryCase(F.add, [2, 3, 4], [3, 1]),
  Sub: binaryCase(F.sub, [3, 1], [2, 3, 4]),
  Mul: binaryCase(F.mul, [2, 3, 4], [4]),
  Div: binaryCase(F.div, [2, 3, 4], [1, 4], positive),
  Pow: (g, r) => {
    const a = randomInput(g, r, 'a', [3, 4], positive);
    const b = randomInput(g, r, 'b', [3, 4]);
    return { inputs: [a, b], y: F.pow(a.tensor, b.tensor) };
  },
  'Pow (constant exponent)': unaryCase((x) => F.pow(x, 3)),
  Neg: unaryCase(F.neg),
  Sqrt: unaryCase(F.sqrt, positive),
  Exp: unaryCase(F.exp),
  Log: unaryCase(F.log, positive),
  Abs: unaryCase(F.abs, awayFromZero),
  Relu: unaryCase(F.relu, awayFromZero),
  Tanh: unaryCase(F.tanh),
  Sigmoid: unaryCase(F.sigmoid),
  Erf: unaryCase(F.erf, (x) => 1.5 * x),
  'Gelu (exact)': unaryCase((x) => F.gelu(x, 'none'), (x) => 2 * x),
  'Gelu (tanh, gelu_new)': unaryCase((x) => F.gelu(x, 'tanh'), (x) => 2 * x),
  Clip: unaryCase((x) => F.clip(x, -0.5, 0.7),
    (x) => (Math.abs(x + 0.5) < 0.05 || Math.abs(x - 0.7) < 0.05 ? x + 0.2 : x)),
  Where: (g, r) => {
    const a = randomInput(g, r, 'a', [3, 4]);
    const b = randomInput(g, r, 'b', [4]);
    const cond = F.greater(F.constant(g, Array.from({ length: 12 }, () => r.normal()), 'float64', [3, 4]), 0);
    return { inputs: [a, b], y: F.where(cond, a.tensor, b.tensor) };
  },
  'MatMul': binaryCase((a, b) => F.matmul(a, b), [2, 3, 4], [4, 5]),
  'MatMul transA': binaryCase((a, b) => F.matmul(a, b, { transA: true }), [2, 4, 3], [2, 4, 5]),
  'MatMul transB': binaryCase((a, b) => F.matmul(a, b, { transB: true }), [3, 4], [2, 5, 4]),
  'MatMul transA transB': binaryCase((a, b) => F.matmul(a, b, { transA: true, transB: true }), [2, 1, 4, 3], [3, 5, 4]),
  'MatMul transB (shared weight)': binaryCase((a, b) => F.matmul(a, b, { transB: true }), [2, 3, 4], [5, 4]),
  'MatMul (shared weight, 1200 rows)': binaryCase((a, b) => F.matmul(a, b), [2, 600, 3], [3, 5]),
  'MatMul transB (shared weight, 1200 rows)': binaryCase((a, b) => F.matmul(a, b, { transB: true }), [2, 600, 5],
    [3, 5]),
  Softmax: unaryCase((x) => F.softmax(x, -1)),
  'Softmax axis 0': unaryCase((x) => F.softmax(x, 0)),
  LogSoftmax: unaryCase((x) => F.logSoftmax(x, -1)),
  LayerNorm: (g, r) => {
    const x = randomInput(g, r, 'x', [2, 3, 6]);
    const s = randomInput(g, r, 'scale', [6]);
    const b = randomInput(g, r, 'bias', [6]);
    return { inputs: [x, s, b], y: F.layerNorm(x.tensor, s.tensor, b.tensor, 1e-5) };
  },
  Gather: (g, r) => {
    const t = randomInput(g, r, 'table', [5, 3]);
    const idx = F.constant(g, [0, 4, 4, 2, 0, 1], 'int64', [2, 3]);
    return { inputs: [t], y: F.gather(t.tensor, idx) };
  },
  Reshape: unaryCase((x) => F.reshape(x, [5, 3])),
  Transpose: (g, r) => {
    const x = randomInput(g, r, 'x', [2, 3, 4]);
    return { inputs: [x], y: F.transpose(x.tensor, [2, 0, 1]) };
  },
  Slice: (g, r) => {
    const x = randomInput(g, r, 'x', [4, 6]);
    return { inputs: [x], y: F.slice(x.tensor, [1, -4], [3, 5], [0, 1]) };
  },
  Concat: (g, r) => {
    const a = randomInput(g, r, 'a', [2, 3]);
    const b = randomInput(g, r, 'b', [2, 2]);
    return { inputs: [a, b], y: F.concat([a.tensor, b.tensor, a.tensor], 1) };
  },
  Split: (g, r) => {
    const x = randomInput(g, r, 'x', [3, 7]);
    const [p, , s] = F.split(x.tensor, [2, 4, 1], 1);
    return { inputs: [x], y: F.concat([F.mul(p!, 2), s!], 1) };
  },
  Expand: (g, r) => {
    const x = randomInput(g, r, 'x', [3, 1]);
    return { inputs: [x], y: F.expand(x.tensor, [2, 3, 4]) };
  },
  Pad: (g, r) => {
    const x = randomInput(g, r, 'x', [2, 3]);
    return { inputs: [x], y: F.pad(x.tensor, [1, 0, 0, 2]) };
  },
  ReduceSum: unaryCase((x) => F.reduceSum(x, [1], true)),
  'ReduceSum all': unaryCase((x) => F.reduceSum(x)),
  ReduceMean: unaryCase((x) => F.reduceMean(x, [0])),
  ReduceMax: unaryCase((x) => F.reduceMax(x, [1])),
  ReduceMin: unaryCase((x) => F.reduceMin(x, [0, 1], true)),
  TopK: (g, r) => {
    const x = randomInput(g, r, 'x', [3, 6]);
    return { inputs: [x], y: F.topK(x.tensor, 2, 1).values };
  },
  'TopK smallest axis 0': (g, r) => {
    const x = randomInput(g, r, 'x', [5, 2]);
    return { inputs: [x], y: F.topK(x.tensor, 3, 0, false).values };
  },
  Dropout: (g, r) => {
    const x = randomInput(g, r, 'x', [3, 4]);
    const m = { tensor: g.input('mask', 'float64', [3, 4]),
      data: Array.from({ length: 12 }, () => (r.uniform() < 0.7 ? 1 : 0)) };
    return { inputs: [x, m], y: F.dropout(x.tensor, m.tensor, 0.3) };
  },
  ...Object.fromEntries(
    (['token', 'sequence', 'mean'] as const).map((reduction) => [
      `CrossEntropy (${reduction}, ignore index)`,
      ((g, r) => {
        const logits = randomInput(g, r, 'logits', [2, 4, 5]);
        const targets = F.constant(g, [1, 4, -100, 0, 3, -100, 2, 2], 'int64', [2, 4]);
        return { inputs: [logits], y: F.crossEntropy(logits.tensor, targets, { ignoreIndex: -100, reduction }) };
      }) as Case,
    ]),
  ),
};

const worst: [string, number][] = [];
for (const [name, build] of Object.entries(cases)) {
  test(`VJP of ${name} matches finite differences`, async () => {
    const seed = 1000 + worst.length;
    const res = await gradCheck((g) => build(g, rng(seed)), { seed });
    worst.push([name, res.maxRelError]);
    assert.ok(Number.isFinite(res.maxRelError), `non-finite error for ${name} (seed ${seed})`);
    assert.ok(res.maxRelError <= 1e-6, `${name}: relative error ${res.maxRelError.toExponential(2)} > 1e-6 (seed ` +
      `${seed}); per input ${JSON.stringify(res.perInput)}`);
  });
}

// Runs after every case above (tests in a file run in order): the figure reported for the whole suite.
test('summary: every op was checked', () => {
  worst.sort((a, b) => b[1] - a[1]);
  console.log(`largest per-op relative error: ${worst[0]?.[0]} ${worst[0]?.[1].toExponential(2)} over ` +
    `${worst.length} ops`);
  assert.equal(worst.length, Object.keys(cases).length);
});

after(() => runtime.dispose());
