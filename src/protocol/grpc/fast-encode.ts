/**
 * Hand-written protobuf encoder for ModelInferResponse and ModelStreamInferResponse, the only
 * messages on the inference hot path. protobuf-es's reflective toBinary costs ~10 µs for a tiny
 * response (more than the rest of our layer together); this writes the same bytes with one
 * sized allocation. Anything unusual (typed contents, unknown fields) falls back to toBinary.
 * Field numbers: protocol.md C.2. Proto3 rules kept: empty scalars omitted, oneof members and
 * repeated elements always written, int64 packed.
 */
import { toBinary } from '@bufbuild/protobuf';
import {
  type InferParameter,
  type ModelInferResponse,
  type ModelInferResponse_InferOutputTensor,
  ModelInferResponseSchema,
  type ModelStreamInferResponse,
  ModelStreamInferResponseSchema,
} from '../../gen/grpc_service_pb.js';
import { bigVarintSize, I64, LEN, lenField, VARINT, WireWriter } from '../../protowire/writer.js';

function paramBody(p: InferParameter): Buffer {
  const c = p.parameterChoice;
  switch (c.case) {
    case 'boolParam':
      return Buffer.from([1 * 8 + VARINT, c.value ? 1 : 0]);
    case 'int64Param':
    case 'uint64Param': {
      const o = new WireWriter(1 + bigVarintSize(c.value));
      o.tag(c.case === 'int64Param' ? 2 : 5, VARINT);
      o.bigVarint(c.value);
      return o.buf;
    }
    case 'stringParam': {
      const len = Buffer.byteLength(c.value, 'utf8');
      const o = new WireWriter(lenField(len));
      o.string(3, c.value, len);
      return o.buf;
    }
    case 'doubleParam': {
      const b = Buffer.allocUnsafe(9);
      b[0] = 4 * 8 + I64;
      b.writeDoubleLE(c.value, 1);
      return b;
    }
    default:
      return Buffer.alloc(0);
  }
}

/** Map entries (key 1, value 2) as complete `field` records. */
function encodeParamMap(field: number, map: Record<string, InferParameter>): Buffer[] {
  const out: Buffer[] = [];
  for (const [key, p] of Object.entries(map)) {
    const keyLen = Buffer.byteLength(key, 'utf8');
    const value = paramBody(p);
    // Map entries always carry their key, even an empty one (as protobuf-es writes them).
    const entryLen = lenField(keyLen) + lenField(value.byteLength);
    const o = new WireWriter(lenField(entryLen));
    o.tag(field, LEN);
    o.varint(entryLen);
    o.string(1, key, keyLen);
    o.bytes(2, value);
    out.push(o.buf);
  }
  return out;
}

function encodeOutputTensor(t: ModelInferResponse_InferOutputTensor): Buffer {
  const nameLen = Buffer.byteLength(t.name, 'utf8');
  const dtLen = Buffer.byteLength(t.datatype, 'utf8');
  let shapeLen = 0;
  for (const d of t.shape) shapeLen += bigVarintSize(d);
  const params = encodeParamMap(4, t.parameters);
  let size = (nameLen ? lenField(nameLen) : 0) + (dtLen ? lenField(dtLen) : 0) + (shapeLen ? lenField(shapeLen) : 0);
  for (const p of params) size += p.byteLength;
  const o = new WireWriter(size);
  if (nameLen) o.string(1, t.name, nameLen);
  if (dtLen) o.string(2, t.datatype, dtLen);
  if (shapeLen) {
    o.tag(3, LEN);
    o.varint(shapeLen);
    for (const d of t.shape) o.bigVarint(d);
  }
  for (const p of params) {
    o.buf.set(p, o.pos);
    o.pos += p.byteLength;
  }
  return o.buf;
}

// Messages this encoder does not cover byte-for-byte go through protobuf-es.
function needsFallback(m: ModelInferResponse): boolean {
  if (m.$unknown?.length) return true;
  for (const o of m.outputs) if (o.contents !== undefined || o.$unknown?.length) return true;
  return false;
}

/** Serialises a ModelInferResponse (same bytes as toBinary). */
export function encodeModelInferResponse(m: ModelInferResponse): Uint8Array {
  if (needsFallback(m)) return toBinary(ModelInferResponseSchema, m);
  const nameLen = Buffer.byteLength(m.modelName, 'utf8');
  const versionLen = Buffer.byteLength(m.modelVersion, 'utf8');
  const idLen = Buffer.byteLength(m.id, 'utf8');
  const params = encodeParamMap(4, m.parameters);
  const outputs = m.outputs.map(encodeOutputTensor);
  let size =
    (nameLen ? lenField(nameLen) : 0) + (versionLen ? lenField(versionLen) : 0) + (idLen ? lenField(idLen) : 0);
  for (const p of params) size += p.byteLength;
  for (const o of outputs) size += lenField(o.byteLength);
  for (const r of m.rawOutputContents) size += lenField(r.byteLength);
  const o = new WireWriter(size);
  if (nameLen) o.string(1, m.modelName, nameLen);
  if (versionLen) o.string(2, m.modelVersion, versionLen);
  if (idLen) o.string(3, m.id, idLen);
  for (const p of params) {
    o.buf.set(p, o.pos);
    o.pos += p.byteLength;
  }
  for (const t of outputs) o.bytes(5, t);
  for (const r of m.rawOutputContents) o.bytes(6, r);
  return o.buf;
}

/** Serialises a ModelStreamInferResponse (same bytes as toBinary). */
export function encodeModelStreamInferResponse(m: ModelStreamInferResponse): Uint8Array {
  if (m.$unknown?.length) return toBinary(ModelStreamInferResponseSchema, m);
  const errLen = Buffer.byteLength(m.errorMessage, 'utf8');
  const inner = m.inferResponse ? encodeModelInferResponse(m.inferResponse) : undefined;
  const o = new WireWriter((errLen ? lenField(errLen) : 0) + (inner ? lenField(inner.byteLength) : 0));
  if (errLen) o.string(1, m.errorMessage, errLen);
  if (inner) o.bytes(2, inner);
  return o.buf;
}
