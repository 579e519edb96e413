/**
 * Tiny ONNX model builders for backend tests, made with the generated protobuf-es classes
 * (no binary fixtures). ir_version 8, opset 17. May later give way to the shared src/onnx builder.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { type DataType, toOnnxType } from '../../../src/core/index.js';
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  type TensorShapeProto_Dimension,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  type ValueInfoProto,
  ValueInfoProtoSchema,
} from '../../../src/gen/onnx-ml_pb.js';

/** A graph input/output: numbers are fixed dims, strings symbolic ones. */
export interface IoDef {
  name: string;
  datatype: DataType;
  shape: Array<number | string>;
}

function valueInfo(io: IoDef): ValueInfoProto {
  const dim: TensorShapeProto_Dimension[] = io.shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, {
      value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
    }),
  );
  const tensorType = create(TypeProto_TensorSchema, {
    elemType: toOnnxType(io.datatype),
    shape: create(TensorShapeProtoSchema, { dim }),
  });
  return create(ValueInfoProtoSchema, {
    name: io.name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }),
  });
}

interface GraphDef {
  inputs: IoDef[];
  outputs: IoDef[];
  nodes: Array<{ op: string; inputs: string[]; outputs: string[] }>;
  initializers?: Array<{ name: string; dims: number[]; data: Float32Array }>;
}

/** Serialises a single-graph model. */
export function buildModel(g: GraphDef): Uint8Array {
  const graph = create(GraphProtoSchema, {
    name: 'test',
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    node: g.nodes.map((n, i) =>
      create(NodeProtoSchema, { name: `n${i}`, opType: n.op, input: n.inputs, output: n.outputs }),
    ),
    initializer: (g.initializers ?? []).map((t) =>
      create(TensorProtoSchema, {
        name: t.name,
        dims: t.dims.map(BigInt),
        dataType: toOnnxType('FP32'),
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      }),
    ),
  });
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'infergate-test',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph,
  });
  return toBinary(ModelProtoSchema, model);
}

/** y = Identity(x) for one datatype, shape [N, ...dims] with a symbolic batch. */
export function identityModel(datatype: DataType, dims: number[] = [3]): Uint8Array {
  const shape: Array<number | string> = ['N', ...dims];
  return buildModel({
    inputs: [{ name: 'x', datatype, shape }],
    outputs: [{ name: 'y', datatype, shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** y = x + 1 (FP32), shape [N, width]. */
export function addOneModel(width = 4): Uint8Array {
  const one = new Float32Array([1]);
  return buildModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', width] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['N', width] }],
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
    initializers: [{ name: 'one', dims: [], data: one }],
  });
}

/** y = x · W with a random [size, size] FP32 initializer; input [N, size]. */
export function matMulModel(size: number): Uint8Array {
  const w = new Float32Array(size * size);
  for (let i = 0; i < w.length; i++) w[i] = Math.random() - 0.5;
  return buildModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', size] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['N', size] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', dims: [size, size], data: w }],
  });
}

/** Writes model bytes into a fresh temp directory and returns the file's absolute path. */
export function writeModel(bytes: Uint8Array, name = 'model.onnx'): string {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-backend-'));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
