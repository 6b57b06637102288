// The tensor-graph IR: static shapes, typed tensors, nodes in creation (= topological) order.
// A graph is traced once per shape signature, so every shape is a concrete number array.

export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type Shape = readonly number[];
export type AttrValue = number | string | boolean | readonly number[] | ArrayLike<number> | null | undefined;
export type Attrs = Record<string, AttrValue>;

export const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export const shapeStr = (s: Shape): string => `[${s.join(', ')}]`;

export class Tensor {
  /** Set when this tensor is produced by a node (not for graph inputs). */
  producer: Node | null = null;
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    /** Graph-input name, or a debugging label. */
    public name?: string,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }
  toString(): string {
    return `${this.name ?? 't' + this.id}:${this.dtype}${shapeStr(this.shape)}`;
  }
}

export class Node {
  constructor(
    readonly id: number,
    readonly op: string,
    readonly inputs: readonly Tensor[],
    readonly outputs: readonly Tensor[],
    readonly attrs: Attrs,
  ) {}
}

export interface TensorSpec {
  dtype: DType;
  shape: Shape;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  /** In a subgraph (a Loop body): each captured tensor's id → the enclosing graph's tensor it stands for. */
  readonly captured = new Map<number, Tensor>();
  private readonly captures = new Map<Tensor, Tensor>();
  private nextId = 0;

  /** A tensor of this subgraph that stands for `outer`, a value of the enclosing graph, referenced by name. */
  capture(outer: Tensor): Tensor {
    if (outer.graph === this) return outer;
    let t = this.captures.get(outer);
    if (!t) {
      t = new Tensor(this, this.nextId++, outer.dtype, outer.shape, outer.name);
      this.captures.set(outer, t);
      this.captured.set(t.id, outer);
    }
    return t;
  }

  /** A value fed at run time: weights, masks, tokens. Trainable tensors are always inputs. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.inputs.some((t) => t.name === name)) throw new Error(`graph input "${name}" is declared twice`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`graph input "${name}": bad shape ${shapeStr(shape)}`);
    }
    const t = new Tensor(this, this.nextId++, dtype, [...shape], name);
    this.inputs.push(t);
    return t;
  }

  /** Used by the op registry only: appends a node whose outputs have the given specs. */
  addNode(op: string, inputs: readonly Tensor[], attrs: Attrs, outSpecs: readonly TensorSpec[]): Node {
    for (const t of inputs) {
      if (t.graph !== this) throw new Error(`${op}: input ${t} belongs to another graph`);
    }
    const outs = outSpecs.map((s) => new Tensor(this, this.nextId++, s.dtype, [...s.shape]));
    const node = new Node(this.nodes.length, op, inputs, outs, attrs);
    for (const o of outs) o.producer = node;
    this.nodes.push(node);
    return node;
  }
}
