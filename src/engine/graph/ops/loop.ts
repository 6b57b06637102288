// Loop: runs a traced body a fixed number of times inside one ONNX Runtime call, carrying state between
// iterations and stacking per-iteration "scan" outputs. Used by generation, where one `run` per token would pay the
// host round trip every step. Not differentiable.
import type { Graph, Tensor } from '../ir';
import { defineOp } from '../registry';
import { ShapeError } from '../shape';
import { spec } from './helpers';

/** What a Loop node keeps about its body; the body's captured outer tensors are the node's trailing inputs. */
export interface LoopBody {
  graph: Graph;
  /** The body's formal inputs: iteration number (int64 scalar), condition (bool scalar), carried values. */
  inputs: Tensor[];
  carriedOut: Tensor[];
  scans: Tensor[];
}

defineOp('Loop', {
  infer: (inputs, a) => {
    const body = a.body as unknown as LoopBody;
    const carried = inputs.slice(0, a.carried as number);
    body.carriedOut.forEach((t, i) => {
      const c = carried[i]!;
      if (t.dtype !== c.dtype || t.shape.join() !== c.shape.join()) throw new ShapeError('Loop',
        `carried value ${i} enters as ${c} but leaves the body as ${t}`);
    });
    return [...carried.map((t) => spec(t.dtype, t.shape)),
      ...body.scans.map((t) => spec(t.dtype, [a.trips as number, ...t.shape]))];
  },
  lower: (ctx, n) => {
    const body = n.attrs.body as unknown as LoopBody;
    const nCarried = n.attrs.carried as number;
    const cond = ctx.constant('bool', [], [1]);
    const g = ctx.subgraph(body.graph, body.inputs, [body.inputs[1]!, ...body.carriedOut, ...body.scans]);
    ctx.emit('Loop',
      [ctx.int64([n.attrs.trips as number], true), cond, ...n.inputs.slice(0, nCarried).map((t) => ctx.name(t))],
      n.outputs.map((t) => ctx.name(t)), { body: { g } });
  },
});
