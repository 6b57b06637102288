// Gradient checking: the autodiff VJP against central finite differences, in float64 through ONNX Runtime,
// along random directions. Prints the seed on failure so a case can be replayed.
import { F, Graph, type Tensor, compileGraph, gradients } from '../../src/engine/graph/index';
import { Runtime } from '../../src/engine/runtime/session';

/** A small seeded generator (mulberry32) with Box-Muller normals: test inputs must be replayable from a seed. */
export function rng(seed: number): { uniform(): number; normal(): number } {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

export interface CheckInput {
  tensor: Tensor;
  data: ArrayLike<number>;
  /** Include in the gradient check (default: float tensors). */
  differentiate?: boolean;
}

export interface CheckResult {
  /** Largest relative error over all inputs and directions. */
  maxRelError: number;
  perInput: Record<string, number>;
}

export const runtime = new Runtime({ threads: 1 });

/**
 * `build` receives a float64 graph and returns its inputs (with values) and an output tensor y.
 * Checks ⟨∇L, v⟩ against (L(x + εv) − L(x − εv)) / 2ε for L = Σ u ⊙ y with a random cotangent u,
 * for `directions` random v per differentiable input.
 */
export async function gradCheck(
  build: (g: Graph) => { inputs: CheckInput[]; y: Tensor },
  opts: { seed?: number; directions?: number; eps?: number } = {},
): Promise<CheckResult> {
  const seed = opts.seed ?? 1234;
  const r = rng(seed);
  const g = new Graph();
  const { inputs, y } = build(g);
  const u = F.constant(g, Array.from({ length: y.size }, () => r.normal()), y.dtype, y.shape);
  const L = F.reduceSum(F.mul(y, u));
  const diff = inputs.filter((i) => i.differentiate ?? (i.tensor.dtype === 'float64'));
  const grads = gradients(L, diff.map((i) => i.tensor));
  const outputs: Record<string, Tensor> = { L };
  grads.forEach((gr, k) => (outputs[`grad_${k}`] = gr));
  const session = await runtime.create(compileGraph(g, outputs));
  const base: Record<string, Float64Array | ArrayLike<number>> = {};
  for (const i of inputs) base[i.tensor.name!] = i.tensor.dtype === 'float64' ? Float64Array.from(i.data) : i.data;
  const analytic = await session.run(base);

  const eps = opts.eps ?? 1e-6;
  const perInput: Record<string, number> = {};
  let maxRelError = 0;
  for (const [k, inp] of diff.entries()) {
    const grad = analytic.outputs[`grad_${k}`] as Float64Array;
    for (let d = 0; d < (opts.directions ?? 2); d++) {
      const v = Float64Array.from({ length: inp.tensor.size }, () => r.normal());
      const x0 = base[inp.tensor.name!] as Float64Array;
      const shifted = (s: number) => ({ ...base, [inp.tensor.name!]: x0.map((x, j) => x + s * eps * v[j]!) });
      const lp = ((await session.run(shifted(1))).outputs.L as Float64Array)[0]!;
      const lm = ((await session.run(shifted(-1))).outputs.L as Float64Array)[0]!;
      const fd = (lp - lm) / (2 * eps);
      let an = 0;
      for (let j = 0; j < v.length; j++) an += grad[j]! * v[j]!;
      const scale = Math.max(Math.abs(an), Math.abs(fd), 1e-8);
      const rel = Math.abs(an - fd) / scale;
      perInput[inp.tensor.name!] = Math.max(perInput[inp.tensor.name!] ?? 0, rel);
      maxRelError = Math.max(maxRelError, rel);
    }
  }
  await session.session.release();
  return { maxRelError, perInput };
}

/** Random float64 input of a shape. */
export function randomInput(g: Graph, r: ReturnType<typeof rng>, name: string, shape: number[],
  f: (x: number) => number = (x) => x): CheckInput {
  const tensor = g.input(name, 'float64', shape);
  return { tensor, data: Array.from({ length: tensor.size }, () => f(r.normal())) };
}
