import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { encodeInferRequest } from '../../../../src/client/grpc-client.js';
import { encodeBytesElements, type Tensor } from '../../../../src/core/index.js';
import { ModelInferRequestSchema } from '../../../../src/gen/grpc_service_pb.js';

const text = fc.string({ unit: 'binary', maxLength: 12 });
const dim = fc.oneof(fc.nat(1000), fc.maxSafeNat(), fc.integer({ min: -3, max: -1 }));

const tensorArb: fc.Arbitrary<Tensor> = fc.oneof(
  fc
    .record({ name: text, shape: fc.array(dim, { maxLength: 4 }), data: fc.uint8Array({ maxLength: 40 }) })
    .map((t) => ({ ...t, datatype: 'UINT8' }) as Tensor),
  fc
    .record({ name: text, shape: fc.array(dim, { maxLength: 2 }), data: fc.array(fc.uint8Array({ maxLength: 6 })) })
    .map((t) => ({ ...t, datatype: 'BYTES' }) as Tensor),
);

const optionsArb = fc.record(
  { version: text, id: text, outputs: fc.array(text, { maxLength: 3 }) },
  { requiredKeys: [] },
);

// What the client sent before the hand-written encoder: protobuf-es's reflective path.
function reference(model: string, inputs: Tensor[], o: { version?: string; id?: string; outputs?: string[] }) {
  return toBinary(
    ModelInferRequestSchema,
    create(ModelInferRequestSchema, {
      modelName: model,
      modelVersion: o.version ?? '',
      id: o.id ?? '',
      inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) })),
      outputs: (o.outputs ?? []).map((name) => ({ name })),
      rawInputContents: inputs.map((t) =>
        Array.isArray(t.data)
          ? encodeBytesElements(t.data)
          : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      ),
    }),
  );
}

describe('gRPC client request encoder', () => {
  it('writes exactly the bytes protobuf-es writes (ModelInferRequest)', () => {
    fc.assert(
      fc.property(text, fc.array(tensorArb, { maxLength: 3 }), optionsArb, (model, inputs, o) => {
        assert.deepEqual(new Uint8Array(encodeInferRequest(model, inputs, o)), reference(model, inputs, o));
      }),
      { numRuns: 300 },
    );
  });
});
