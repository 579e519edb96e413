/**
 * Helpers for common layers. Each adds its nodes (and weights) to a GraphBuilder and returns the
 * name of the value it produced, so layers chain: `softmax(g, relu(g, dense(g, 'x', …)))`.
 */
import type { GraphBuilder } from './graph-builder.js';

/** Weights of a fully connected layer. */
export interface DenseWeights {
  inFeatures: number;
  outFeatures: number;
  /** Row-major [inFeatures, outFeatures], i.e. y = x · W + b (ONNX MatMul layout). */
  weights: Float32Array;
  /** Length outFeatures; omitted means no bias. */
  bias?: Float32Array;
}

/** Fully connected layer as MatMul (+ Add): FP32 [..., in] → [..., out]. */
export function dense(g: GraphBuilder, input: string, layer: DenseWeights, name = 'dense', output?: string): string {
  const { inFeatures: n, outFeatures: m } = layer;
  if (layer.weights.length !== n * m) throw new Error(`${name}: weights need ${n * m} values`);
  const w = g.uniqueName(`${name}.weight`);
  g.initializer(w, 'FP32', [n, m], layer.weights);
  if (!layer.bias) {
    const y = output ?? g.uniqueName(`${name}.out`);
    g.node('MatMul', [input, w], [y], {}, { name: `${name}.matmul` });
    return y;
  }
  if (layer.bias.length !== m) throw new Error(`${name}: bias needs ${m} values`);
  const b = g.uniqueName(`${name}.bias`);
  g.initializer(b, 'FP32', [m], layer.bias);
  const h = g.uniqueName(`${name}.matmul_out`);
  const y = output ?? g.uniqueName(`${name}.out`);
  g.node('MatMul', [input, w], [h], {}, { name: `${name}.matmul` });
  g.node('Add', [h, b], [y], {}, { name: `${name}.add` });
  return y;
}

/** Elementwise max(x, 0). */
export function relu(g: GraphBuilder, input: string, output?: string): string {
  const y = output ?? g.uniqueName(`${input}.relu`);
  g.node('Relu', [input], [y]);
  return y;
}

/** Softmax over `axis` (default the last). */
export function softmax(g: GraphBuilder, input: string, output?: string, axis = -1): string {
  const y = output ?? g.uniqueName(`${input}.softmax`);
  g.node('Softmax', [input], [y], { axis });
  return y;
}

/** Identity: the output is the input, for any datatype. */
export function identity(g: GraphBuilder, input: string, output?: string): string {
  const y = output ?? g.uniqueName(`${input}.identity`);
  g.node('Identity', [input], [y]);
  return y;
}
