/** ValueInfoProto construction: a named tensor type with a (possibly symbolic) shape. */
import { create } from '@bufbuild/protobuf';
import {
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from '../gen/onnx-ml_pb.js';
import { type ElemType, onnxElemType } from './tensor.js';

/**
 * One dimension: a number ≥ 0 is fixed, a string is a symbolic dim (`'batch'`), -1 or null is
 * unknown (neither value nor name, which ORT also reports as dynamic).
 */
export type Dim = number | string | null;

/** Builds the ValueInfoProto of a tensor; `dims` undefined means unknown rank. */
export function valueInfo(name: string, type: ElemType, dims?: readonly Dim[], doc = ''): ValueInfoProto {
  const tensorType = create(TypeProto_TensorSchema, { elemType: onnxElemType(type) });
  if (dims !== undefined) {
    tensorType.shape = create(TensorShapeProtoSchema, { dim: dims.map(dimension) });
  }
  return create(ValueInfoProtoSchema, {
    name,
    docString: doc,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

function dimension(d: Dim) {
  if (typeof d === 'string') return create(TensorShapeProto_DimensionSchema, { value: { case: 'dimParam', value: d } });
  if (d === null || d === -1) return create(TensorShapeProto_DimensionSchema, {});
  if (!Number.isInteger(d) || d < 0) throw new Error(`invalid dimension ${d}`);
  return create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } });
}
