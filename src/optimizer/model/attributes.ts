/** ONNX node attributes: readers with a default for an absent attribute, and a node factory with int attributes. */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type NodeProto,
  NodeProtoSchema,
} from '../../gen/onnx-ml_pb.js';

/** Integer attribute with a default. */
export function attrInt(n: NodeProto, name: string, dflt: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? Number(a.i) : dflt;
}
/** Integer list attribute, or undefined when absent. */
export function attrInts(n: NodeProto, name: string): number[] | undefined {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.ints.map(Number) : undefined;
}
/** Float attribute with a default. */
export function attrFloat(n: NodeProto, name: string, dflt: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.f : dflt;
}
/** String attribute with a default. */
export function attrString(n: NodeProto, name: string, dflt: string): string {
  const a = n.attribute.find((x) => x.name === name);
  return a ? new TextDecoder().decode(a.s) : dflt;
}

/** Node factory with attributes given as plain numbers (ints). */
export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  ints: Record<string, number> = {},
): NodeProto {
  const attribute = Object.entries(ints).map(([k, v]) =>
    create(AttributeProtoSchema, { name: k, type: AttributeProto_AttributeType.INT, i: BigInt(v) }),
  );
  return create(NodeProtoSchema, { opType, input: inputs, output: outputs, name, attribute });
}
