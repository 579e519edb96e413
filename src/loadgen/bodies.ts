/**
 * Request bodies built once per run and reused for every request, so the generator spends its
 * CPU on sending, not on encoding: KServe v2 JSON, Triton binary tensor data (protocol.md B.1)
 * and a serialised gRPC ModelInferRequest.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  type DataType,
  elementCount,
  encodeBytesElements,
  isBytesData,
  type NumericArray,
  type Tensor,
} from '../core/index.js';
import { type InferParameter, ModelInferRequestSchema } from '../gen/grpc_service_pb.js';
import type { Rng } from './schedule.js';

/** One input of the request: name, datatype and full shape (batch dim included). */
export interface InputSpec {
  name: string;
  datatype: DataType;
  shape: number[];
}

/** Request-level parameters (e.g. `priority`). */
export type RequestParams = Record<string, string | number | boolean>;

/** A prepared HTTP request: the same headers and bytes for every send. */
export interface PreparedHttp {
  headers: Record<string, string>;
  body: Buffer;
}

/** Random data for one input: FP in [0, 1), integers in [0, 100), BOOL 0/1, BYTES short strings. */
export function randomTensor(spec: InputSpec, rng: Rng): Tensor {
  const n = elementCount(spec.shape);
  const base = { name: spec.name, shape: [...spec.shape] };
  if (spec.datatype === 'BYTES') {
    const enc = new TextEncoder();
    return {
      ...base,
      datatype: 'BYTES',
      data: Array.from({ length: n }, () => enc.encode(`s${Math.floor(rng() * 1e6)}`)),
    };
  }
  return { ...base, datatype: spec.datatype, data: randomNumeric(spec.datatype, n, rng) };
}

function randomNumeric(dt: Exclude<DataType, 'BYTES'>, n: number, rng: Rng): NumericArray {
  switch (dt) {
    case 'FP32':
      return Float32Array.from({ length: n }, rng);
    case 'FP64':
      return Float64Array.from({ length: n }, rng);
    case 'FP16':
    case 'BF16':
      // 1.0 .. ~2.0 as bit patterns: any small positive value does for load.
      return Uint16Array.from({ length: n }, () => (dt === 'FP16' ? 0x3c00 : 0x3f80) + Math.floor(rng() * 64));
    case 'BOOL':
      return Uint8Array.from({ length: n }, () => (rng() < 0.5 ? 0 : 1));
    case 'INT64':
      return BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rng() * 100)));
    case 'UINT64':
      return BigUint64Array.from({ length: n }, () => BigInt(Math.floor(rng() * 100)));
    default: {
      const ctor = {
        INT8: Int8Array,
        INT16: Int16Array,
        INT32: Int32Array,
        UINT8: Uint8Array,
        UINT16: Uint16Array,
        UINT32: Uint32Array,
      }[dt];
      const out = new ctor(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * 100);
      return out;
    }
  }
}

function rawBytes(t: Tensor): Uint8Array {
  if (isBytesData(t.data)) return encodeBytesElements(t.data);
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function jsonValues(t: Tensor): unknown[] {
  if (isBytesData(t.data)) return t.data.map((b) => new TextDecoder().decode(b));
  if (t.datatype === 'FP16' || t.datatype === 'BF16')
    throw new Error(`input '${t.name}': ${t.datatype} needs a binary protocol`);
  if (t.datatype === 'BOOL') return Array.from(t.data as Uint8Array, (v) => v !== 0);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

/** A KServe v2 JSON request (JSON data in, JSON outputs back), as a plain JSON client sends it. */
export function httpJsonRequest(inputs: Tensor[], params: RequestParams = {}): PreparedHttp {
  const body = {
    ...(Object.keys(params).length > 0 ? { parameters: params } : {}),
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: jsonValues(t) })),
  };
  return { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}

/** A binary tensor data request (inputs after the JSON header, all outputs asked back binary). */
export function httpBinaryRequest(inputs: Tensor[], params: RequestParams = {}): PreparedHttp {
  const chunks = inputs.map(rawBytes);
  const header = {
    parameters: { ...params, binary_data_output: true },
    inputs: inputs.map((t, i) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      parameters: { binary_data_size: chunks[i]!.byteLength },
    })),
  };
  const json = Buffer.from(JSON.stringify(header));
  return {
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(json.byteLength),
    },
    body: Buffer.concat([json, ...chunks]),
  };
}

function grpcParam(v: string | number | boolean): InferParameter['parameterChoice'] {
  if (typeof v === 'boolean') return { case: 'boolParam', value: v };
  if (typeof v === 'number' && Number.isInteger(v)) return { case: 'int64Param', value: BigInt(v) };
  if (typeof v === 'number') return { case: 'doubleParam', value: v };
  return { case: 'stringParam', value: v };
}

/** A serialised gRPC ModelInferRequest with raw_input_contents. */
export function grpcRequest(model: string, version: string, inputs: Tensor[], params: RequestParams = {}): Uint8Array {
  const parameters: Record<string, { parameterChoice: InferParameter['parameterChoice'] }> = {};
  for (const [k, v] of Object.entries(params)) parameters[k] = { parameterChoice: grpcParam(v) };
  const req = create(ModelInferRequestSchema, {
    modelName: model,
    modelVersion: version,
    parameters,
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
    rawInputContents: inputs.map(rawBytes),
  });
  return toBinary(ModelInferRequestSchema, req);
}
