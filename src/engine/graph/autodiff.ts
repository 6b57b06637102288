// Reverse-mode automatic differentiation over the IR: walks the nodes backwards from the loss and applies each
// op's VJP rule, appending the backward nodes to the same graph.
import * as F from './api';
import { type Node, type Tensor, isFloat } from './ir';
import { opDef } from './registry';

/**
 * Gradients of `y` with respect to each tensor of `wrt`. `y` must be a scalar unless a cotangent `seed` of y's shape
 * is given (then the result is the vector-Jacobian product seedᵀ·∂y/∂wrt). Tensors that y does not depend on get zeros.
 */
export function gradients(y: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const g = y.graph;
  if (!seed && y.size !== 1) throw new Error(`gradients: ${y} is not a scalar; pass a seed of the same shape`);
  if (seed && seed.shape.join() !== y.shape.join()) throw new Error(`gradients: seed ${seed} does not match ${y}`);
  for (const w of wrt) {
    if (!isFloat(w.dtype)) throw new Error(`gradients: cannot differentiate with respect to non-float ${w}`);
  }
  const end = g.nodes.length;

  // Tensors that depend on some `wrt` tensor: only their gradients are needed.
  const dependent = new Set<number>(wrt.map((t) => t.id));
  for (let i = 0; i < end; i++) {
    const n = g.nodes[i]!;
    if (n.inputs.some((t) => dependent.has(t.id))) for (const o of n.outputs) dependent.add(o.id);
  }

  const grads = new Map<number, Tensor>();
  grads.set(y.id, seed ?? F.reshape(F.scalar(g, 1, y.dtype), [...y.shape]));
  const accumulate = (t: Tensor, d: Tensor) => {
    const prev = grads.get(t.id);
    grads.set(t.id, prev ? F.add(prev, d) : d);
  };

  for (let i = end - 1; i >= 0; i--) {
    const n: Node = g.nodes[i]!;
    const gOut = n.outputs.map((o) => grads.get(o.id) ?? null);
    if (gOut.every((x) => x === null)) continue;
    const needs = n.inputs.map((t) => dependent.has(t.id) && isFloat(t.dtype));
    if (!needs.some(Boolean)) continue;
    const rule = opDef(n.op).vjp;
    if (!rule) {
      const culprit = n.inputs.find((_, k) => needs[k]);
      throw new Error(
        `gradients: op ${n.op} is not differentiable, but the gradient flows through its input ${culprit}`);
    }
    const gIn = rule(n, gOut);
    n.inputs.forEach((t, k) => {
      const d = gIn[k];
      if (needs[k] && d) {
        if (d.shape.join() !== t.shape.join()) throw new Error(
          `gradients: VJP of ${n.op} returned ${d} for input ${t}`);
        accumulate(t, d);
      }
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? F.zeros(g, w.shape, w.dtype));
}
