// The graph package: IR, tracing API, autodiff and the ONNX writer. Importing it registers every op.
import './ops/elementwise';
import './ops/matmul';
import './ops/reduce';
import './ops/shapeOps';
import './ops/nn';
import './ops/indexing';
import './ops/loop';

export * from './ir';
export * as F from './api';
export { gradients } from './autodiff';
export { compileGraph, type CompiledModel } from './onnx/writer';
export { ShapeError } from './shape';
export { opNames } from './registry';
export { matmulFlops } from './stats';
