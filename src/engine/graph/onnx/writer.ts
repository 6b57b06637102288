// Compiles an IR graph (its declared inputs, and the nodes needed for the requested outputs) to an ONNX model:
// IR version 10, ai.onnx opset 21, com.microsoft opset 1 for the fused kernels ORT provides.
import type { DType, Graph, Node, Tensor } from '../ir';
import { type LowerCtx, type OnnxAttr, opDef } from '../registry';
import { onnxDType } from '../ops/elementwise';
import { AttrType, ModelProto } from './schema';

export const IR_VERSION = 10;
export const OPSET = 21;

export interface CompiledModel {
  bytes: Uint8Array;
  inputs: { name: string; dtype: DType; shape: number[] }[];
  outputs: { name: string; dtype: DType; shape: number[] }[];
  /** The same graph lowered with standard ops only (LowerCtx.portable), for the WebGPU provider; made on demand. */
  portableBytes?: () => Uint8Array;
}

function rawBytes(dtype: DType, data: ArrayLike<number>): Uint8Array {
  const n = data.length;
  switch (dtype) {
    case 'float32':
      return new Uint8Array(Float32Array.from(data).buffer);
    case 'float64':
      return new Uint8Array(Float64Array.from(data).buffer);
    case 'int64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(data[i]!);
      return new Uint8Array(a.buffer);
    }
    case 'bool':
      return Uint8Array.from(data, (v) => (v ? 1 : 0));
  }
}

function attrProto(name: string, a: OnnxAttr): Record<string, unknown> {
  if ('f' in a) return { name, type: AttrType.FLOAT, f: a.f };
  if ('i' in a) return { name, type: AttrType.INT, i: a.i };
  if ('s' in a) return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.s) };
  if ('floats' in a) return { name, type: AttrType.FLOATS, floats: [...a.floats] };
  if ('ints' in a) return { name, type: AttrType.INTS, ints: [...a.ints] };
  if ('g' in a) return { name, type: AttrType.GRAPH, g: a.g };
  return { name, type: AttrType.TENSOR,
    t: { dims: [...a.t.dims], dataType: onnxDType(a.t.dtype), rawData: rawBytes(a.t.dtype, a.t.data) } };
}

const valueInfo = (name: string, dtype: DType, shape: readonly number[]) => ({
  name,
  type: { tensorType: { elemType: onnxDType(dtype), shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
});

/** Nodes that the requested outputs depend on, in graph order. */
function liveNodes(outputs: readonly Tensor[]): Node[] {
  const live = new Set<Node>();
  const stack = outputs.map((t) => t.producer).filter((n): n is Node => n !== null);
  while (stack.length) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    for (const t of n.inputs) if (t.producer) stack.push(t.producer);
  }
  return [...live].sort((a, b) => a.id - b.id);
}

interface GraphParts {
  node: Record<string, unknown>[];
  initializer: Record<string, unknown>[];
}

/**
 * Lowers the nodes needed for `outputs` into ONNX nodes and initializers. `names` holds the names already fixed
 * (graph inputs, outputs, captured outer values); every other value is named `${prefix}t<id>`, so a subgraph's
 * names never collide with its enclosing graph's.
 */
function lowerNodes(outputs: readonly Tensor[], names: Map<number, string>, prefix: string,
  portable: boolean): GraphParts {
  const parts: GraphParts = { node: [], initializer: [] };
  let counter = 0;
  let subgraphs = 0;
  const ctx: LowerCtx = {
    name: (t) => {
      let n = names.get(t.id);
      if (n === undefined) names.set(t.id, (n = `${prefix}t${t.id}`));
      return n;
    },
    fresh: (hint) => `${prefix}_${hint}${counter++}`,
    emit: (opType, inputs, outs, attrs = {}, domain = '') => {
      parts.node.push({
        opType,
        domain,
        name: `${prefix}n${parts.node.length}_${opType}`,
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([k, v]) => attrProto(k, v)),
      });
    },
    int64: (values, isScalar = false) => ctx.constant('int64', isScalar ? [] : [values.length], values),
    constant: (dtype, dims, data, n) => {
      const nm = n ?? ctx.fresh('c');
      parts.initializer.push({ name: nm, dims: [...dims], dataType: onnxDType(dtype), rawData: rawBytes(dtype, data) });
      return nm;
    },
    subgraph: (graph, inputs, outs) => {
      const sub = `${prefix}g${subgraphs++}_`;
      const subNames = new Map<number, string>();
      for (const [id, outer] of graph.captured) subNames.set(id, ctx.name(outer));
      inputs.forEach((t) => subNames.set(t.id, `${sub}${t.name ?? 'in' + t.id}`));
      // Outputs get their own names; an output that is an input or appears twice goes through an Identity.
      const outNames: string[] = [];
      const identities: [string, string][] = [];
      outs.forEach((t, i) => {
        const want = `${sub}out${i}`;
        if (subNames.has(t.id)) identities.push([subNames.get(t.id)!, want]);
        else subNames.set(t.id, want);
        outNames.push(want);
      });
      const body = lowerNodes(outs, subNames, sub, portable);
      for (const [from, to] of identities) body.node.push(
        { opType: 'Identity', domain: '', name: `${sub}id_${to}`, input: [from], output: [to], attribute: [] });
      return {
        name: sub,
        ...body,
        input: inputs.map((t) => valueInfo(subNames.get(t.id)!, t.dtype, t.shape)),
        output: outs.map((t, i) => valueInfo(outNames[i]!, t.dtype, t.shape)),
      };
    },
    portable,
  };
  for (const node of liveNodes(outputs)) opDef(node.op).lower(ctx, node);
  return parts;
}

export function compileGraph(graph: Graph, outputs: Record<string, Tensor>, name = 'tinymem'): CompiledModel {
  const { bytes, inputs, outputs: outs } = encodeGraph(graph, outputs, name, false);
  return { bytes, inputs, outputs: outs, portableBytes: () => encodeGraph(graph, outputs, name, true).bytes };
}

function encodeGraph(graph: Graph, outputs: Record<string, Tensor>, name: string, portable: boolean): CompiledModel {
  const names = new Map<number, string>();
  for (const t of graph.inputs) names.set(t.id, t.name!);
  const extraOutputs: [string, string][] = []; // [from, to]: outputs that need an Identity
  for (const [outName, t] of Object.entries(outputs)) {
    if (t.graph !== graph) throw new Error(`output "${outName}" belongs to another graph`);
    if (names.has(t.id)) extraOutputs.push([names.get(t.id)!, outName]);
    else names.set(t.id, outName);
  }
  const parts = lowerNodes(Object.values(outputs), names, '', portable);
  for (const [from, to] of extraOutputs) parts.node.push(
    { opType: 'Identity', domain: '', name: `out_${to}`, input: [from], output: [to], attribute: [] });

  const inputs = graph.inputs.map((t) => ({ name: t.name!, dtype: t.dtype, shape: [...t.shape] }));
  const outs = Object.entries(outputs).map(([n, t]) => ({ name: n, dtype: t.dtype, shape: [...t.shape] }));
  const model = {
    irVersion: IR_VERSION,
    producerName: 'tinymem',
    opsetImport: [
      { domain: '', version: OPSET },
      { domain: 'com.microsoft', version: 1 },
    ],
    graph: {
      name,
      ...parts,
      input: inputs.map((i) => valueInfo(i.name, i.dtype, i.shape)),
      output: outs.map((o) => valueInfo(o.name, o.dtype, o.shape)),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`ONNX model is malformed: ${err}`);
  return { bytes: ModelProto.encode(ModelProto.fromObject(model)).finish(), inputs, outputs: outs };
}
