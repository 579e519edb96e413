/**
 * Tiny ONNX model builders for optimizer tests and benchmarks, written with the generated protobuf
 * classes (no dependency on the shared builder, which is still being written).
 */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type TensorProto,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from '../../../src/gen/onnx-ml_pb.js';
import { floatTensor } from '../../../src/optimizer/tensor-data.js';
import { seededRandom } from '../../../src/core/random.js';

/** Deterministic uniform PRNG in [0, 1) (core/random.ts). */
export const rng = seededRandom;

/** A float tensor value info with symbolic (string) or fixed dims. */
export function valueInfo(name: string, dims: (number | string)[], elemType = 1): ValueInfoProto {
  const dim = dims.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  const tensorType = create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) });
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

/** A node with int attributes. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  name = '',
  ints: Record<string, number> = {},
): NodeProto {
  const attribute = Object.entries(ints).map(([k, v]) =>
    create(AttributeProtoSchema, { name: k, type: AttributeProto_AttributeType.INT, i: BigInt(v) }),
  );
  return create(NodeProtoSchema, { opType, input, output, name, attribute });
}

/** A Constant node holding a tensor. */
export function constantNode(output: string, t: TensorProto): NodeProto {
  const value = create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t });
  return create(NodeProtoSchema, {
    opType: 'Constant',
    input: [],
    output: [output],
    name: `${output}_const`,
    attribute: [value],
  });
}

/** Random weights with a He-like scale. */
export function randomWeights(rows: number, cols: number, next: () => number): Float32Array {
  const s = Math.sqrt(2 / rows);
  return Float32Array.from({ length: rows * cols }, () => (next() * 2 - 1) * s * 1.7);
}

export interface MlpOptions {
  seed?: number;
  /** Use Gemm (transB=1) layers instead of MatMul + Add. */
  gemm?: boolean;
  /** Keep weights in Constant nodes (as paddle2onnx does) instead of initializers. */
  constantWeights?: boolean;
  /** Provide weights instead of random ones: [W0, b0, W1, b1, ...] with W as [in, out]. */
  weights?: Float32Array[];
  opset?: number;
}

/** An MLP sizes[0] → ... → sizes[n] with ReLU between layers; input "x" [batch, sizes[0]], output "y". */
export function buildMlp(sizes: number[], opts: MlpOptions = {}): ModelProto {
  const next = rng(opts.seed ?? 1);
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let cur = 'x';
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [k, n] = [sizes[l]!, sizes[l + 1]!];
    let w = opts.weights?.[2 * l] ?? randomWeights(k, n, next);
    const b = opts.weights?.[2 * l + 1] ?? Float32Array.from({ length: n }, () => (next() - 0.5) * 0.1);
    const last = l + 2 === sizes.length;
    const out = last ? 'y' : `h${l}`;
    const pre = last ? out : `h${l}_pre`;
    if (opts.gemm) w = transposed(w, k, n);
    const wt = floatTensor(`W${l}`, opts.gemm ? [n, k] : [k, n], w);
    const bt = floatTensor(`B${l}`, [n], b);
    for (const t of [wt, bt]) {
      if (opts.constantWeights) nodes.push(constantNode(t.name, t));
      else inits.push(t);
    }
    if (opts.gemm) nodes.push(node('Gemm', [cur, `W${l}`, `B${l}`], [pre], `fc${l}`, { transB: 1 }));
    else {
      nodes.push(node('MatMul', [cur, `W${l}`], [`${pre}_mm`], `fc${l}`));
      nodes.push(node('Add', [`${pre}_mm`, `B${l}`], [pre], `fc${l}_bias`));
    }
    if (!last) nodes.push(node('Relu', [pre], [out], `relu${l}`));
    cur = out;
  }
  const graph = create(GraphProtoSchema, {
    name: 'mlp',
    node: nodes,
    initializer: inits,
    input: [valueInfo('x', ['batch', sizes[0]!])],
    output: [valueInfo('y', ['batch', sizes[sizes.length - 1]!])],
  });
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'infergate-test',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opts.opset ?? 17) })],
    graph,
  });
}

function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

/** An If model: y = cond ? x·Wa : x·Wb, each branch a subgraph holding its own weight initializer. */
export function buildIfModel(k: number, n: number, seed = 3): ModelProto {
  const next = rng(seed);
  const branch = (tag: string) =>
    create(GraphProtoSchema, {
      name: `branch_${tag}`,
      node: [node('MatMul', ['x', `W_${tag}`], [`y_${tag}`], `mm_${tag}`)],
      initializer: [floatTensor(`W_${tag}`, [k, n], randomWeights(k, n, next))],
      output: [valueInfo(`y_${tag}`, ['batch', n])],
    });
  const ifNode = node('If', ['cond'], ['y'], 'choose');
  ifNode.attribute.push(
    create(AttributeProtoSchema, { name: 'then_branch', type: AttributeProto_AttributeType.GRAPH, g: branch('a') }),
    create(AttributeProtoSchema, { name: 'else_branch', type: AttributeProto_AttributeType.GRAPH, g: branch('b') }),
  );
  const graph = create(GraphProtoSchema, {
    name: 'if_model',
    node: [ifNode],
    input: [valueInfo('x', ['batch', k]), valueInfo('cond', [], 9)],
    output: [valueInfo('y', ['batch', n])],
  });
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph,
  });
}

export interface ConvNetOptions {
  seed?: number;
  /** Image side (square, one channel). */
  side?: number;
  /** Keep weights in Constant nodes instead of initializers. */
  constantWeights?: boolean;
  /** Channels of the two convolutions (default [4, 8]). */
  channels?: [number, number];
  /** Classifier weights [10, flat] (transB layout) and bias [10] instead of random ones. */
  fc?: { w: Float32Array; b: Float32Array };
  /** Output the flattened features "f" instead of the classifier (for fitting a head). */
  featuresOnly?: boolean;
}

/**
 * A small CNN: Conv(1→c1,3x3,pad 1) → Relu → MaxPool 2 → Conv(c1→c2,3x3,pad 1) → Relu → Flatten →
 * Gemm(→10, transB). Input "x" [batch,1,side,side], output "y" [batch,10].
 */
export function buildConvNet(opts: ConvNetOptions = {}): ModelProto {
  const next = rng(opts.seed ?? 11);
  const side = opts.side ?? 8;
  const [c1, c2] = opts.channels ?? [4, 8];
  const flat = c2 * (side / 2) * (side / 2);
  const weight = (name: string, dims: number[], fanIn: number) =>
    floatTensor(
      name,
      dims,
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (next() * 2 - 1) * Math.sqrt(6 / fanIn)),
    );
  const bias = (name: string, n: number) =>
    floatTensor(
      name,
      [n],
      Float32Array.from({ length: n }, () => (next() - 0.5) * 0.2),
    );
  const tensors = [
    weight('c1_w', [c1, 1, 3, 3], 9),
    bias('c1_b', c1),
    weight('c2_w', [c2, c1, 3, 3], 9 * c1),
    bias('c2_b', c2),
    opts.fc ? floatTensor('fc_w', [10, flat], opts.fc.w) : weight('fc_w', [10, flat], flat),
    opts.fc ? floatTensor('fc_b', [10], opts.fc.b) : bias('fc_b', 10),
  ];
  if (opts.featuresOnly) tensors.splice(4, 2);
  const conv = (x: string, w: string, b: string, y: string, name: string) => {
    const n = node('Conv', [x, w, b], [y], name);
    n.attribute.push(
      create(AttributeProtoSchema, { name: 'pads', type: AttributeProto_AttributeType.INTS, ints: [1n, 1n, 1n, 1n] }),
      create(AttributeProtoSchema, { name: 'kernel_shape', type: AttributeProto_AttributeType.INTS, ints: [3n, 3n] }),
    );
    return n;
  };
  const pool = node('MaxPool', ['r1'], ['p1'], 'pool1');
  for (const k of ['kernel_shape', 'strides'])
    pool.attribute.push(
      create(AttributeProtoSchema, { name: k, type: AttributeProto_AttributeType.INTS, ints: [2n, 2n] }),
    );
  const nodes = [
    conv('x', 'c1_w', 'c1_b', 'c1', 'conv1'),
    node('Relu', ['c1'], ['r1'], 'relu1'),
    pool,
    conv('p1', 'c2_w', 'c2_b', 'c2', 'conv2'),
    node('Relu', ['c2'], ['r2'], 'relu2'),
    node('Flatten', ['r2'], ['f'], 'flatten', { axis: 1 }),
  ];
  if (!opts.featuresOnly) nodes.push(node('Gemm', ['f', 'fc_w', 'fc_b'], ['y'], 'fc', { transB: 1 }));
  const graph = create(GraphProtoSchema, {
    name: 'convnet',
    node: opts.constantWeights ? [...tensors.map((t) => constantNode(t.name, t)), ...nodes] : nodes,
    initializer: opts.constantWeights ? [] : tensors,
    input: [valueInfo('x', ['batch', 1, side, side])],
    output: [opts.featuresOnly ? valueInfo('f', ['batch', flat]) : valueInfo('y', ['batch', 10])],
  });
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'infergate-test',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph,
  });
}
