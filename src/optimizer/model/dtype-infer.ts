/**
 * Element-type inference for every tensor of a graph (and, through If/Loop/Scan, of its subgraphs):
 * enough to know which tensors are float32 when converting to float16 and where Casts belong.
 * Declared types (inputs, initializers, value_info) win; otherwise a small rule table by op type,
 * defaulting to "same as the first typed input".
 */
import type { GraphProto, NodeProto, ValueInfoProto } from '../../gen/onnx-ml_pb.js';
import { TensorProto_DataType as DT } from '../../gen/onnx-ml_pb.js';
import { GraphView } from './graph.js';
import { attrInt } from './attributes.js';

/** Element type codes by tensor name. */
export type TypeMap = Map<string, number>;

const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OUT = new Set([
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);
const DTYPE_ATTR = new Set([
  'EyeLike',
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
]);

/** The declared element type of a value info (0 when absent). */
export function declaredType(v: ValueInfoProto): number {
  return v.type?.value.case === 'tensorType' ? v.type.value.value.elemType : 0;
}

/** Infer element types of a graph's tensors; `outer` holds types of enclosing scopes. */
export function inferElemTypes(graph: GraphProto, outer: TypeMap = new Map()): TypeMap {
  const types: TypeMap = new Map(outer);
  for (const v of [...graph.input, ...graph.valueInfo, ...graph.output])
    if (declaredType(v)) types.set(v.name, declaredType(v));
  for (const t of graph.initializer) types.set(t.name, t.dataType);
  for (const n of new GraphView(graph).topoOrder()) {
    const outs = nodeOutputTypes(n, types);
    n.output.forEach((o, i) => {
      const t = outs[i] ?? outs[0];
      if (o && t && !types.has(o)) types.set(o, t);
    });
  }
  return types;
}

function attrTensorType(n: NodeProto, name: string): number | undefined {
  return n.attribute.find((a) => a.name === name)?.t?.dataType;
}

// Output types of one node from its inputs' types; undefined entries stay unknown.
function nodeOutputTypes(n: NodeProto, types: TypeMap): (number | undefined)[] {
  const inT = (i: number) => types.get(n.input[i] ?? '');
  const first = n.input.map((x) => types.get(x)).find((t) => t !== undefined);
  if (n.opType === 'Constant') return [attrTensorType(n, 'value') ?? constantAttrType(n)];
  if (n.opType === 'Cast') return [attrInt(n, 'to', DT.FLOAT)];
  if (n.opType === 'CastLike') return [inT(1)];
  if (INT64_OUT.has(n.opType)) return [DT.INT64];
  if (BOOL_OUT.has(n.opType)) return [DT.BOOL];
  if (n.opType === 'TopK') return [inT(0), DT.INT64];
  if (n.opType === 'Unique') return [inT(0), DT.INT64, DT.INT64, DT.INT64];
  if (n.opType === 'Where') return [inT(1)];
  if (n.opType === 'QuantizeLinear') return [inT(2) ?? DT.UINT8];
  if (n.opType === 'DequantizeLinear') return [inT(1) ?? DT.FLOAT];
  if (n.opType === 'DynamicQuantizeLinear') return [DT.UINT8, DT.FLOAT, DT.UINT8];
  if (n.opType === 'MatMulInteger' || n.opType === 'ConvInteger') return [DT.INT32];
  if (n.opType === 'ConstantOfShape') return [attrTensorType(n, 'value') ?? DT.FLOAT];
  if (DTYPE_ATTR.has(n.opType)) {
    const d = n.attribute.find((a) => a.name === 'dtype');
    return [d ? Number(d.i) : n.opType.endsWith('Like') ? inT(0) : DT.FLOAT];
  }
  const sub = subgraphOutputTypes(n, types);
  if (sub) return sub;
  return n.output.map(() => first);
}

function constantAttrType(n: NodeProto): number | undefined {
  const a = n.attribute[0];
  if (!a) return undefined;
  if (a.name === 'value_float' || a.name === 'value_floats') return DT.FLOAT;
  if (a.name === 'value_int' || a.name === 'value_ints') return DT.INT64;
  return a.name === 'value_string' || a.name === 'value_strings' ? DT.STRING : undefined;
}

// If: a branch's outputs; Loop: body outputs after the condition; Scan: body outputs.
function subgraphOutputTypes(n: NodeProto, types: TypeMap): (number | undefined)[] | undefined {
  const g = n.attribute.find((a) => a.name === 'then_branch' || a.name === 'body')?.g;
  if (!g) return undefined;
  const inner = inferElemTypes(g, types);
  const outs = g.output.map((o) => inner.get(o.name));
  return n.opType === 'Loop' ? outs.slice(1) : outs;
}
