import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import {
  DATATYPES,
  type DataType,
  elementCount,
  elementSize,
  InferError,
  numericFromBytes,
  type Tensor,
} from '../../../../src/core/index.js';
import { ModelInferRequestSchema, ModelInferResponseSchema } from '../../../../src/gen/grpc_service_pb.js';
import { tensorFromWire } from '../../../../src/protocol/common/index.js';
import { decodeInferRequest } from '../../../../src/protocol/grpc/infer-decode.js';
import { encodeInferResponse, rawBytes } from '../../../../src/protocol/grpc/infer-encode.js';

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });

/** Any tensor: every datatype, any bit pattern, BYTES elements of any content. */
const tensorArb: fc.Arbitrary<Tensor> = fc
  .tuple(fc.constantFrom(...DATATYPES), shapeArb)
  .chain(([datatype, shape]: [DataType, number[]]) => {
    const n = elementCount(shape);
    if (datatype === 'BYTES')
      return fc
        .array(fc.uint8Array({ maxLength: 6 }), { minLength: n, maxLength: n })
        .map((data): Tensor => ({ name: 'T', datatype, shape, data }));
    const size = n * elementSize(datatype);
    return fc
      .uint8Array({ minLength: size, maxLength: size })
      .map((bytes): Tensor => ({ name: 'T', datatype, shape, data: numericFromBytes(datatype, bytes) }));
  });

function requestBytes(t: Tensor): Uint8Array {
  const msg = create(ModelInferRequestSchema, {
    modelName: 'm',
    id: 'x',
    inputs: [{ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) }],
    rawInputContents: [rawBytes(t)],
  });
  return toBinary(ModelInferRequestSchema, msg);
}

describe('gRPC codec properties', () => {
  it('decode(encode(tensor)) is the tensor (raw_input_contents over the wire)', () => {
    fc.assert(
      fc.property(tensorArb, (t) => {
        const req = decodeInferRequest(fromBinary(ModelInferRequestSchema, requestBytes(t)));
        const got = req.inputs[0] as Tensor;
        assert.equal(got.datatype, t.datatype);
        assert.deepEqual(got.shape, t.shape);
        assert.deepEqual(Buffer.from(rawBytes(got)), Buffer.from(rawBytes(t)));
      }),
      { numRuns: 300 },
    );
  });

  it('responses carry every output byte-exact in raw_output_contents', () => {
    fc.assert(
      fc.property(fc.array(tensorArb, { maxLength: 3 }), (outputs) => {
        const named = outputs.map((t, i) => ({ ...t, name: `O${i}` }));
        const msg = encodeInferResponse({ model: 'm', version: '3', outputs: named }, 'rid');
        const back = fromBinary(ModelInferResponseSchema, toBinary(ModelInferResponseSchema, msg));
        assert.equal(back.id, 'rid');
        assert.equal(back.modelVersion, '3');
        assert.equal(back.rawOutputContents.length, named.length);
        named.forEach((t, i) => {
          const o = back.outputs[i];
          assert.ok(o);
          const decoded = tensorFromWire(
            o.name,
            t.datatype,
            o.shape.map(Number),
            back.rawOutputContents[i] ?? new Uint8Array(),
          );
          assert.deepEqual(Buffer.from(rawBytes(decoded)), Buffer.from(rawBytes(t)));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('mutated requests either decode or fail with an InferError', () => {
    fc.assert(
      fc.property(
        tensorArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (t, flips) => {
          const bytes = requestBytes(t).slice();
          for (const [pos, v] of flips) if (bytes.length > 0) bytes[pos % bytes.length] = v;
          let msg: ReturnType<typeof fromBinary<typeof ModelInferRequestSchema>>;
          try {
            msg = fromBinary(ModelInferRequestSchema, bytes);
          } catch {
            return; // the transport answers these with INVALID_ARGUMENT before decoding
          }
          try {
            decodeInferRequest(msg);
          } catch (err) {
            assert.ok(err instanceof InferError, String(err));
            assert.equal(err.code === 'IG_ERR_INVALID_ARG' || err.code === 'IG_ERR_SHM_NOT_FOUND', true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
