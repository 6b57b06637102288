// Counting work in a traced graph, for benchmarks: floating-point operations of the matrix products.
import type { Graph } from './ir';

/** 2·M·N·K per matrix product, summed over every MatMul node (batch axes included). */
export function matmulFlops(g: Graph): number {
  let flops = 0;
  for (const n of g.nodes) {
    if (n.op !== 'MatMul') continue;
    const [a] = n.inputs;
    const out = n.outputs[0]!;
    const k = n.attrs.transA ? a!.shape[a!.rank - 2]! : a!.shape[a!.rank - 1]!;
    flops += 2 * out.size * k;
  }
  return flops;
}
