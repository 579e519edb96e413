/**
 * Pass: raise the ai.onnx opset of an old model (e.g. PaddleOCR's opset-9 recognizer) to 13, the
 * lowest opset with everything our quantizers emit (DynamicQuantizeLinear: 11; per-axis
 * QuantizeLinear/DequantizeLinear: 13). Only ops whose meaning we know across that range are
 * accepted: some are rewritten (attributes that became inputs: Clip, Slice, Squeeze, Unsqueeze,
 * ReduceSum, Split, Pad, TopK; Dropout becomes Identity at inference), Softmax-family ops keep their
 * pre-13 "flatten to 2-D at axis" meaning by checking the axis is the last one (or by an explicit
 * Flatten/Reshape), and every other op must be on a list of ops unchanged between the versions.
 * Anything else is refused by name, so the upgrade never silently changes what the model computes.
 */
import { clone } from '@bufbuild/protobuf';
import { type GraphProto, type ModelProto, ModelProtoSchema, type NodeProto } from '../../gen/onnx-ml_pb.js';
import { allGraphs, defaultOpset, nameAllocator } from '../model/graph.js';
import { makeNode } from '../model/attributes.js';
import { attrFloat, attrInt, attrInts } from '../model/attributes.js';
import { floatTensor, int64Tensor } from '../model/tensor-data.js';

export const UPGRADE_TARGET = 13;

// Same inputs, attributes and meaning from opset 7 up to 13 (checked against the operator changelog).
const UNCHANGED = new Set(
  'Abs Acos Add And ArgMax ArgMin Asin Atan AveragePool BatchNormalization Cast Ceil Concat Constant ConstantOfShape Conv ConvTranspose Cos DepthToSpace Div Elu Equal Erf Exp Expand Flatten Floor Gather GatherElements Gemm GlobalAveragePool GlobalMaxPool Greater HardSigmoid Identity If InstanceNormalization LRN LSTM GRU RNN LeakyRelu Less Log Loop MatMul Max MaxPool Mean Min Mul Neg Not Or PRelu Pow Reciprocal ReduceL2 ReduceMax ReduceMean ReduceMin ReduceProd Relu Reshape Selu Shape Sigmoid Sign Sin Size Softplus Softsign SpaceToDepth Sqrt Sub Sum Tan Tanh Tile Transpose Where Xor NonZero Range Einsum'.split(
    ' ',
  ),
);

type Fresh = (base: string) => string;

export interface UpgradeResult {
  model: ModelProto;
  from: number;
  to: number;
  rewritten: Record<string, number>;
}

/** Upgrade a model's default-domain opset to 13; throws naming the ops it cannot vouch for. */
export function upgradeOpset(
  model: ModelProto,
  rank: (tensor: string) => number | undefined = () => undefined,
): UpgradeResult {
  const from = defaultOpset(model);
  const out = clone(ModelProtoSchema, model);
  if (from >= UPGRADE_TARGET) return { model: out, from, to: from, rewritten: {} };
  if (from < 7)
    throw new Error(`opset ${from} is older than 7: not upgraded (BatchNormalization/Upsample semantics differ)`);
  const unknown = new Set<string>();
  for (const { graph } of allGraphs(out))
    for (const n of graph.node)
      if (isDefault(n) && !UNCHANGED.has(n.opType) && !(n.opType in REWRITES)) unknown.add(n.opType);
  if (unknown.size > 0)
    throw new Error(
      `cannot upgrade opset ${from} → ${UPGRADE_TARGET}: no safe conversion for ${[...unknown].sort().join(', ')}`,
    );
  const fresh = nameAllocator(out);
  const rewritten: Record<string, number> = {};
  for (const { graph } of allGraphs(out)) {
    const nodes: NodeProto[] = [];
    for (const n of graph.node) {
      const rw = isDefault(n) ? REWRITES[n.opType] : undefined;
      if (rw) {
        nodes.push(...rw(n, graph, fresh, from, rank));
        rewritten[n.opType] = (rewritten[n.opType] ?? 0) + 1;
      } else nodes.push(n);
    }
    graph.node = nodes;
  }
  for (const o of out.opsetImport) if (o.domain === '' || o.domain === 'ai.onnx') o.version = BigInt(UPGRADE_TARGET);
  if (out.irVersion < 7n) out.irVersion = 7n;
  return { model: out, from, to: UPGRADE_TARGET, rewritten };
}

const isDefault = (n: NodeProto) => n.domain === '' || n.domain === 'ai.onnx';

type Rewrite = (
  n: NodeProto,
  g: GraphProto,
  fresh: Fresh,
  from: number,
  rank: (t: string) => number | undefined,
) => NodeProto[];

function dropAttrs(n: NodeProto, names: string[]): void {
  n.attribute = n.attribute.filter((a) => !names.includes(a.name));
}

// Moves an integer-list attribute into a new int64 initializer input at position `at`.
function attrToInput(n: NodeProto, g: GraphProto, fresh: Fresh, attr: string, at: number): void {
  const v = attrInts(n, attr);
  if (v === undefined) return;
  const name = fresh(`${n.name || n.opType}_${attr}`);
  g.initializer.push(int64Tensor(name, [v.length], v));
  while (n.input.length < at) n.input.push('');
  n.input[at] = name;
  dropAttrs(n, [attr]);
}

const clip: Rewrite = (n, g, fresh, from) => {
  if (from >= 11) return [n];
  const lo = attrFloat(n, 'min', -3.4028234663852886e38);
  const hi = attrFloat(n, 'max', 3.4028234663852886e38);
  const [a, b] = [fresh(`${n.name || 'Clip'}_min`), fresh(`${n.name || 'Clip'}_max`)];
  g.initializer.push(floatTensor(a, [], Float32Array.of(lo)), floatTensor(b, [], Float32Array.of(hi)));
  n.input.splice(1, n.input.length - 1, a, b);
  dropAttrs(n, ['min', 'max']);
  return [n];
};

const slice: Rewrite = (n, g, fresh, from) => {
  if (from >= 10) return [n];
  attrToInput(n, g, fresh, 'starts', 1);
  attrToInput(n, g, fresh, 'ends', 2);
  attrToInput(n, g, fresh, 'axes', 3);
  return [n];
};

// Squeeze/Unsqueeze/ReduceSum (13) and Split (13): the list attribute became input 1.
const axesInput =
  (attr: string): Rewrite =>
  (n, g, fresh) => {
    attrToInput(n, g, fresh, attr, 1);
    return [n];
  };

const pad: Rewrite = (n, g, fresh, from) => {
  if (from >= 11) return [n];
  attrToInput(n, g, fresh, 'pads', 1);
  const value = attrFloat(n, 'value', 0);
  const v = fresh(`${n.name || 'Pad'}_value`);
  g.initializer.push(floatTensor(v, [], Float32Array.of(value)));
  n.input[2] = v;
  dropAttrs(n, ['value']);
  return [n];
};

const topk: Rewrite = (n, g, fresh, from) => {
  if (from >= 10) return [n];
  const k = fresh(`${n.name || 'TopK'}_k`);
  g.initializer.push(int64Tensor(k, [1], [attrInt(n, 'k', 1)]));
  n.input.push(k);
  dropAttrs(n, ['k']);
  return [n];
};

// Inference-time Dropout is the identity; its optional mask output is not supported here.
const dropout: Rewrite = (n) => {
  if (n.output.length > 1 && n.output[1]) throw new Error(`Dropout "${n.name}" uses its mask output: not upgraded`);
  return [makeNode('Identity', [n.input[0]!], [n.output[0]!], n.name)];
};

// Before 13, Softmax flattened the input to 2-D at `axis` (default 1). Same as 13 when axis is last.
const softmaxFamily: Rewrite = (n, _g, fresh, _from, rank) => {
  const axis = attrInt(n, 'axis', 1);
  const r = rank(n.input[0]!);
  if (r !== undefined && (axis === -1 || axis === r - 1)) {
    dropAttrs(n, ['axis']);
    n.attribute.push(makeNode('X', [], [], '', { axis: -1 }).attribute[0]!);
    return [n];
  }
  const base = n.name || n.opType;
  const [shape, flat, y2] = [fresh(`${base}_shape`), fresh(`${base}_2d`), fresh(`${base}_2d_out`)];
  const y = n.output[0]!;
  return [
    makeNode('Shape', [n.input[0]!], [shape], fresh(`${base}_Shape`)),
    makeNode('Flatten', [n.input[0]!], [flat], fresh(`${base}_Flatten`), { axis }),
    makeNode(n.opType, [flat], [y2], base, { axis: 1 }),
    makeNode('Reshape', [y2, shape], [y], fresh(`${base}_Reshape`)),
  ];
};

const REWRITES: Record<string, Rewrite> = {
  Clip: clip,
  Slice: slice,
  Squeeze: axesInput('axes'),
  Unsqueeze: axesInput('axes'),
  ReduceSum: axesInput('axes'),
  Split: axesInput('split'),
  Pad: pad,
  TopK: topk,
  Dropout: dropout,
  Softmax: softmaxFamily,
  LogSoftmax: softmaxFamily,
  Hardmax: softmaxFamily,
};
