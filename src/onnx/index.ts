/**
 * A small ONNX model builder for tests and examples: declare a graph with GraphBuilder, then
 * `buildModel(g)` for the bytes or `writeModel(path, g)` for a file. See README in this folder.
 */
export { type AttrValue, attr, type TypedAttr } from './attribute.js';
export { fromFloat16Bits, float16Array, toFloat16Bits } from './float16.js';
export { GraphBuilder, type NodeOptions } from './graph-builder.js';
export { type DenseWeights, dense, identity, relu, softmax } from './layers.js';
export { buildModel, buildModelProto, DEFAULT_IR_VERSION, DEFAULT_OPSET, type ModelOptions } from './model.js';
export { type ElemType, type TensorValues, tensorProto } from './tensor.js';
export { type Dim, valueInfo } from './value-info.js';
export { writeModel } from './write.js';
