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
import { floatTensor } from '../../../src/optimizer/model/tensor-data.js';
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

// Subgraph models below use the shared builder (ES imports hoist, so this may sit mid-file).
import { attr, buildModelProto, GraphBuilder } from '../../../src/onnx/index.js';

/**
 * An If whose branches hold the real network, made with the repo's GraphBuilder (src/onnx). The
 * condition comes from the data (mean of x > 0.5), so rows pick the branch batch by batch:
 *   then: Relu(x·W1 + b1) · W2 + b2        (W1 in a Constant node, W2 a branch initializer)
 *   else: Relu(Conv(x as [B,1,4,4])) → Flatten → · Wshared + bs   (Wshared held by the main graph)
 * Input "x" [batch, 16], output "y" [batch, 8].
 */
export function buildIfNet(seed = 5): ModelProto {
  const next = rng(seed);
  const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * s);
  const then = new GraphBuilder('then_mlp')
    .node('Constant', [], ['W1'], { value: attr.tensor('FP32', [16, 32], rand(16 * 32, 0.6)) }, { name: 'W1_const' })
    .initializer('b1', 'FP32', [32], rand(32, 0.1))
    .initializer('W2', 'FP32', [32, 8], rand(32 * 8, 0.4))
    .initializer('b2', 'FP32', [8], rand(8, 0.1))
    .node('MatMul', ['x', 'W1'], ['t_mm1'], {}, { name: 'then_fc1' })
    .node('Add', ['t_mm1', 'b1'], ['t_pre1'], {}, { name: 'then_fc1_bias' })
    .node('Relu', ['t_pre1'], ['t_h1'], {}, { name: 'then_relu1' })
    .node('MatMul', ['t_h1', 'W2'], ['t_mm2'], {}, { name: 'then_fc2' })
    .node('Add', ['t_mm2', 'b2'], ['t_y'], {}, { name: 'then_fc2_bias' })
    .output('t_y', 'FP32', ['batch', 8]);
  const otherwise = new GraphBuilder('else_conv')
    .initializer('shape4', 'INT64', [4], [-1n, 1n, 4n, 4n])
    .initializer('Wc', 'FP32', [4, 1, 3, 3], rand(36, 0.8))
    .initializer('bc', 'FP32', [4], rand(4, 0.1))
    .initializer('bs', 'FP32', [8], rand(8, 0.1))
    .node('Reshape', ['x', 'shape4'], ['e_img'], {}, { name: 'else_reshape' })
    .node(
      'Conv',
      ['e_img', 'Wc', 'bc'],
      ['e_conv'],
      { pads: [1, 1, 1, 1], kernel_shape: [3, 3] },
      { name: 'else_conv' },
    )
    .node('Relu', ['e_conv'], ['e_relu'], {}, { name: 'else_relu' })
    .node('Flatten', ['e_relu'], ['e_flat'], { axis: 1 }, { name: 'else_flatten' })
    .node('MatMul', ['e_flat', 'Wshared'], ['e_mm'], {}, { name: 'else_fc' })
    .node('Add', ['e_mm', 'bs'], ['e_y'], {}, { name: 'else_fc_bias' })
    .output('e_y', 'FP32', ['batch', 8]);
  const g = new GraphBuilder('if_net')
    .input('x', 'FP32', ['batch', 16])
    .initializer('half', 'FP32', [], [0.5])
    .initializer('Wshared', 'FP32', [64, 8], rand(64 * 8, 0.3))
    .node('ReduceMean', ['x'], ['x_mean'], { keepdims: 0 }, { name: 'mean' })
    .node('Greater', ['x_mean', 'half'], ['cond'], {}, { name: 'is_high' })
    .node(
      'If',
      ['cond'],
      ['y'],
      {
        then_branch: attr.graph(then.toProto(['x'])),
        else_branch: attr.graph(otherwise.toProto(['x', 'Wshared'])),
      },
      { name: 'route' },
    )
    .output('y', 'FP32', ['batch', 8]);
  return buildModelProto(g, { opset: 17, producerName: 'infergate-test' });
}

/**
 * A Loop running three steps of h ← tanh(h·W + b) from h = x: the MatMul's input is a loop-carried
 * body input, so calibrating it needs values from every iteration. Input "x" [batch, 8], output "y".
 */
export function buildLoopNet(seed = 9): ModelProto {
  const next = rng(seed);
  const body = new GraphBuilder('step')
    .input('i', 'INT64', [])
    .input('c_in', 'BOOL', [])
    .input('h_in', 'FP32', ['batch', 8])
    .initializer(
      'Wl',
      'FP32',
      [8, 8],
      Float32Array.from({ length: 64 }, () => (next() * 2 - 1) * 0.7),
    )
    .node('MatMul', ['h_in', 'Wl'], ['l_mm'], {}, { name: 'loop_fc' })
    .initializer(
      'bl',
      'FP32',
      [8],
      Float32Array.from({ length: 8 }, () => (next() * 2 - 1) * 0.2),
    )
    .node('Add', ['l_mm', 'bl'], ['l_pre'], {}, { name: 'loop_add' })
    .node('Tanh', ['l_pre'], ['h_out'], {}, { name: 'loop_tanh' })
    .node('Identity', ['c_in'], ['c_out'], {}, { name: 'loop_cond' })
    .output('c_out', 'BOOL', [])
    .output('h_out', 'FP32', ['batch', 8]);
  const g = new GraphBuilder('loop_net')
    .input('x', 'FP32', ['batch', 8])
    .initializer('steps', 'INT64', [], [3n])
    .initializer('go', 'BOOL', [], [true])
    .node('Loop', ['steps', 'go', 'x'], ['y'], { body: attr.graph(body.toProto()) }, { name: 'iterate' })
    .output('y', 'FP32', ['batch', 8]);
  return buildModelProto(g, { opset: 17, producerName: 'infergate-test' });
}

/**
 * A Scan over the 4 steps of x [batch, 4, 8] (scan_input_axes/scan_output_axes = 1): each step
 * y_t = Relu(x_t·W + b) adds into an accumulator that starts at the mean over the steps; output "y"
 * is the accumulator [batch, 8] (the stacked y_t come out as "ys", unused).
 */
export function buildScanNet(seed = 4): ModelProto {
  const next = rng(seed);
  const body = new GraphBuilder('scan_body')
    .input('acc_in', 'FP32', ['batch', 8])
    .input('xt', 'FP32', ['batch', 8])
    .initializer(
      'Ws',
      'FP32',
      [8, 8],
      Float32Array.from({ length: 64 }, () => next() * 2 - 1),
    )
    .initializer(
      'bs',
      'FP32',
      [8],
      Float32Array.from({ length: 8 }, () => next() * 0.1),
    )
    .node('MatMul', ['xt', 'Ws'], ['s_mm'], {}, { name: 'scan_fc' })
    .node('Add', ['s_mm', 'bs'], ['s_pre'], {}, { name: 'scan_bias' })
    .node('Relu', ['s_pre'], ['s_y'], {}, { name: 'scan_relu' })
    .node('Add', ['acc_in', 's_y'], ['acc_out'], {}, { name: 'scan_acc' })
    .output('acc_out', 'FP32', ['batch', 8])
    .output('s_y', 'FP32', ['batch', 8]);
  const g = new GraphBuilder('scan_net')
    .input('x', 'FP32', ['batch', 4, 8])
    .node('ReduceMean', ['x'], ['acc0'], { axes: [1], keepdims: 0 }, { name: 'start' })
    .node(
      'Scan',
      ['acc0', 'x'],
      ['y', 'ys'],
      { body: attr.graph(body.toProto()), num_scan_inputs: 1, scan_input_axes: [1], scan_output_axes: [1] },
      { name: 'scan' },
    )
    .output('y', 'FP32', ['batch', 8]);
  return buildModelProto(g, { opset: 17, producerName: 'infergate-test' });
}
