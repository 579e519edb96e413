import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import {
  type InferParameterSchema,
  ModelInferResponseSchema,
  ModelStreamInferResponseSchema,
} from '../../../../src/gen/grpc_service_pb.js';
import { encodeModelInferResponse, encodeModelStreamInferResponse } from '../../../../src/protocol/grpc/fast-encode.js';

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const text = fc.string({ unit: 'binary', maxLength: 12 });

const paramArb: fc.Arbitrary<MessageInitShape<typeof InferParameterSchema>> = fc.oneof(
  fc.boolean().map((value) => ({ parameterChoice: { case: 'boolParam' as const, value } })),
  int64.map((value) => ({ parameterChoice: { case: 'int64Param' as const, value } })),
  fc
    .bigInt({ min: 0n, max: 2n ** 64n - 1n })
    .map((value) => ({ parameterChoice: { case: 'uint64Param' as const, value } })),
  text.map((value) => ({ parameterChoice: { case: 'stringParam' as const, value } })),
  fc.double().map((value) => ({ parameterChoice: { case: 'doubleParam' as const, value } })),
  fc.constant({}),
);

const paramsArb = fc.dictionary(text, paramArb, { maxKeys: 3 });

const responseArb = fc.record({
  modelName: text,
  modelVersion: text,
  id: text,
  parameters: paramsArb,
  outputs: fc.array(
    fc.record({ name: text, datatype: text, shape: fc.array(int64, { maxLength: 4 }), parameters: paramsArb }),
    { maxLength: 3 },
  ),
  rawOutputContents: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 3 }),
});

describe('hand-written response encoder', () => {
  it('writes exactly the bytes protobuf-es writes (ModelInferResponse)', () => {
    fc.assert(
      fc.property(responseArb, (init) => {
        const m = create(ModelInferResponseSchema, init);
        assert.deepEqual(Buffer.from(encodeModelInferResponse(m)), Buffer.from(toBinary(ModelInferResponseSchema, m)));
      }),
      { numRuns: 400 },
    );
  });

  it('writes exactly the bytes protobuf-es writes (ModelStreamInferResponse)', () => {
    fc.assert(
      fc.property(text, fc.option(responseArb, { nil: undefined }), (errorMessage, inferResponse) => {
        const m = create(ModelStreamInferResponseSchema, { errorMessage, inferResponse });
        assert.deepEqual(
          Buffer.from(encodeModelStreamInferResponse(m)),
          Buffer.from(toBinary(ModelStreamInferResponseSchema, m)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('falls back to protobuf-es for typed output contents', () => {
    const m = create(ModelInferResponseSchema, {
      outputs: [{ name: 'o', datatype: 'FP32', shape: [1n], contents: { fp32Contents: [1.5] } }],
    });
    assert.deepEqual(Buffer.from(encodeModelInferResponse(m)), Buffer.from(toBinary(ModelInferResponseSchema, m)));
  });
});
