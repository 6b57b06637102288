// The op registry: each op declares shape inference, its ONNX lowering and (if differentiable) one VJP rule.
import type { Attrs, DType, Graph, Node, Tensor, TensorSpec } from './ir';

/** What an op's lowering may emit into the ONNX graph. Names are ONNX value names. */
export interface LowerCtx {
  /** The ONNX value name of an IR tensor. */
  name(t: Tensor): string;
  /** A fresh ONNX value name for an intermediate. */
  fresh(hint: string): string;
  /** Emits an ONNX node. */
  emit(opType: string, inputs: string[], outputs: string[], attrs?: Record<string, OnnxAttr>, domain?: string): void;
  /** An int64 initializer holding `values` (as a 1-D tensor, or a scalar when `scalar` is set). */
  int64(values: readonly number[], scalar?: boolean): string;
  /**
   * A subgraph (e.g. a Loop body) as a GraphProto object: `inputs` are its formal inputs in order, `outputs` its
   * outputs in order; its captured tensors refer to this graph's values by name.
   */
  subgraph(graph: Graph, inputs: readonly Tensor[], outputs: readonly Tensor[]): unknown;
  /** An initializer of any dtype; named `name` when given, else freshly. */
  constant(dtype: DType, dims: readonly number[], data: ArrayLike<number>, name?: string): string;
  /**
   * Lowering for providers that lack ORT's CPU-only kernels (WebGPU): standard ops only, e.g. MatMul with explicit
   * Transposes instead of com.microsoft FusedMatMul, Sign from comparisons.
   */
  readonly portable: boolean;
}

export type OnnxAttr =
  | { f: number }
  | { i: number }
  | { s: string }
  | { floats: readonly number[] }
  | { ints: readonly number[] }
  | { g: unknown }
  | { t: { dtype: 'float32' | 'float64' | 'int64' | 'bool'; dims: readonly number[]; data: ArrayLike<number> } };

export interface OpDef {
  /** Output specs; throws ShapeError naming the op and the offending shapes. */
  infer(inputs: readonly Tensor[], attrs: Attrs): TensorSpec[];
  lower(ctx: LowerCtx, node: Node): void;
  /**
   * Gradients of the loss with respect to each input, given gradients for each output (null: no gradient flows
   * through that output). Return null for inputs that receive no gradient. Absent: the op is not differentiable.
   */
  vjp?(node: Node, gradOutputs: readonly (Tensor | null)[]): (Tensor | null)[];
}

const ops = new Map<string, OpDef>();

export function defineOp(name: string, def: OpDef): void {
  if (ops.has(name)) throw new Error(`op ${name} is defined twice`);
  ops.set(name, def);
}

export function opDef(name: string): OpDef {
  const d = ops.get(name);
  if (!d) throw new Error(`unknown op "${name}"`);
  return d;
}

export function opNames(): string[] {
  return [...ops.keys()];
}
