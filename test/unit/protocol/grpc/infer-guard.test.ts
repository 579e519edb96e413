import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelInferRequestSchema } from '../../../../src/gen/grpc_service_pb.js';
import { inferRequestOverLimits, MAX_TENSORS } from '../../../../src/protocol/grpc/infer-guard.js';
import { visitFields } from '../../../../src/protowire/reader.js';

/** A ModelInferRequest whose one input carries `n` empty bytes_contents entries, built on the wire. */
function manyEmptyBytes(n: number): Uint8Array {
  const contents = new Uint8Array(2 * n);
  for (let i = 0; i < n; i++) contents[2 * i] = (8 << 3) | 2; // field 8, LEN; the length byte stays 0
  const lenVarint = (v: number) => {
    const out: number[] = [];
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const input = [(5 << 3) | 2, ...lenVarint(contents.length)];
  const inputBytes = new Uint8Array(input.length + contents.length);
  inputBytes.set(input);
  inputBytes.set(contents, input.length);
  const head = [(5 << 3) | 2, ...lenVarint(inputBytes.length)];
  const msg = new Uint8Array(head.length + inputBytes.length);
  msg.set(head);
  msg.set(inputBytes, head.length);
  return msg;
}

describe('ModelInferRequest wire guard', () => {
  it('counts bytes_contents entries without decoding them: 2M empty entries are refused', () => {
    const why = inferRequestOverLimits(manyEmptyBytes(2_000_000), 65_536);
    assert.match(why ?? '', /input #1 has 2000000 BYTES elements; at most 65536/);
    assert.equal(inferRequestOverLimits(manyEmptyBytes(100), 65_536), undefined);
  });

  it('bounds inputs, outputs and parameters; a normal request passes', () => {
    const ok = toBinary(
      ModelInferRequestSchema,
      create(ModelInferRequestSchema, {
        modelName: 'm',
        inputs: [{ name: 'x', datatype: 'INT32', shape: [2n], contents: { intContents: [1, 2] } }],
        parameters: { a: { parameterChoice: { case: 'int64Param', value: 1n } } },
      }),
    );
    assert.equal(inferRequestOverLimits(ok, 10), undefined);
    const outputs = toBinary(
      ModelInferRequestSchema,
      create(ModelInferRequestSchema, {
        outputs: Array.from({ length: MAX_TENSORS + 1 }, (_, i) => ({ name: `o${i}` })),
      }),
    );
    assert.match(inferRequestOverLimits(outputs, 10) ?? '', /lists 1025 outputs; at most 1024/);
    const params = toBinary(
      ModelInferRequestSchema,
      create(ModelInferRequestSchema, {
        parameters: Object.fromEntries(
          Array.from({ length: 300 }, (_, i) => [
            `p${i}`,
            { parameterChoice: { case: 'boolParam' as const, value: true } },
          ]),
        ),
      }),
    );
    assert.match(inferRequestOverLimits(params, 10) ?? '', /300 parameters; at most 256/);
  });

  it('the walker refuses truncated input', () => {
    assert.throws(() => visitFields(new Uint8Array([(5 << 3) | 2, 10, 1]), 0, 3, () => {}), /truncated/);
  });
});
