/**
 * Node attributes. Plain values are typed by inference (see `AttrValue`); the `attr.*` helpers
 * state the type explicitly where inference would guess wrong (a float attribute whose value
 * happens to be whole, like Gemm's `alpha: attr.float(1)`).
 */
import { create } from '@bufbuild/protobuf';
import {
  type AttributeProto,
  AttributeProto_AttributeType as AT,
  AttributeProtoSchema,
  type GraphProto,
  type TensorProto,
} from '../gen/onnx-ml_pb.js';
import { type ElemType, type TensorValues, tensorProto } from './tensor.js';

/** An attribute with its type stated, as made by the `attr` helpers. */
export type TypedAttr =
  | { kind: 'int'; value: number | bigint }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly (number | bigint)[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'strings'; value: readonly string[] }
  | { kind: 'tensor'; value: TensorProto }
  | { kind: 'graph'; value: GraphProto };

/**
 * An attribute value. Inference for plain values: bigint or whole number → INT, other number →
 * FLOAT, string → STRING, array of whole numbers/bigints → INTS, other number array → FLOATS,
 * string array → STRINGS. An empty array is INTS. Use `attr.*` when that guess is wrong.
 */
export type AttrValue = number | bigint | string | readonly (number | bigint)[] | readonly string[] | TypedAttr;

/** Explicitly typed attribute values. */
export const attr = {
  /** INT attribute. */
  int: (value: number | bigint): TypedAttr => ({ kind: 'int', value }),
  /** FLOAT attribute (use for float attributes with whole values, e.g. alpha = 1). */
  float: (value: number): TypedAttr => ({ kind: 'float', value }),
  /** STRING attribute. */
  string: (value: string): TypedAttr => ({ kind: 'string', value }),
  /** INTS attribute. */
  ints: (value: readonly (number | bigint)[]): TypedAttr => ({ kind: 'ints', value }),
  /** FLOATS attribute (use when every value is whole, e.g. scales [1, 2]). */
  floats: (value: readonly number[]): TypedAttr => ({ kind: 'floats', value }),
  /** STRINGS attribute. */
  strings: (value: readonly string[]): TypedAttr => ({ kind: 'strings', value }),
  /** TENSOR attribute (e.g. Constant's `value`); the tensor's name may stay empty. */
  tensor: (type: ElemType, dims: readonly number[], values: TensorValues): TypedAttr => ({
    kind: 'tensor',
    value: tensorProto('', type, dims, values),
  }),
  /** GRAPH attribute (If/Loop/Scan bodies), e.g. `attr.graph(subgraph.toProto())`. */
  graph: (value: GraphProto): TypedAttr => ({ kind: 'graph', value }),
};

function isTyped(v: AttrValue): v is TypedAttr {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'kind' in v;
}

/** Resolves a plain value to its typed form by the inference rules above. */
export function inferAttr(v: AttrValue): TypedAttr {
  if (isTyped(v)) return v;
  if (typeof v === 'bigint') return attr.int(v);
  if (typeof v === 'number') return Number.isInteger(v) ? attr.int(v) : attr.float(v);
  if (typeof v === 'string') return attr.string(v);
  const arr = v as readonly unknown[];
  if (arr.every((x) => typeof x === 'string')) return arr.length === 0 ? attr.ints([]) : attr.strings(arr as string[]);
  if (arr.every((x) => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x)))) {
    return attr.ints(arr as (number | bigint)[]);
  }
  if (arr.every((x) => typeof x === 'number')) return attr.floats(arr as number[]);
  throw new Error('attribute array mixes strings and numbers');
}

/** Builds the AttributeProto for one named attribute. */
export function attributeProto(name: string, value: AttrValue): AttributeProto {
  const a = inferAttr(value);
  const enc = new TextEncoder();
  switch (a.kind) {
    case 'int':
      return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(a.value) });
    case 'float':
      return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: a.value });
    case 'string':
      return create(AttributeProtoSchema, { name, type: AT.STRING, s: enc.encode(a.value) });
    case 'ints':
      return create(AttributeProtoSchema, { name, type: AT.INTS, ints: a.value.map((x) => BigInt(x)) });
    case 'floats':
      return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: [...a.value] });
    case 'strings':
      return create(AttributeProtoSchema, { name, type: AT.STRINGS, strings: a.value.map((s) => enc.encode(s)) });
    case 'tensor':
      return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: a.value });
    case 'graph':
      return create(AttributeProtoSchema, { name, type: AT.GRAPH, g: a.value });
  }
}
