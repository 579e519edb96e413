import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferError } from '../../../../src/core/index.js';
import { paramValue, toInferParameter } from '../../../../src/protocol/grpc/params.js';
import { decodeShape } from '../../../../src/protocol/grpc/tensor-decode.js';

const where = { input: 'IN', model: 'm' };

describe('gRPC parameter conversion', () => {
  it('chooses the oneof case by value', () => {
    const cases = [true, 'x', 1.5, 7, -7, 2n ** 63n, -(2n ** 63n), 2n ** 70n].map((v) => {
      const p = toInferParameter(v);
      return [p.parameterChoice.case, p.parameterChoice.value];
    });
    assert.deepEqual(cases, [
      ['boolParam', true],
      ['stringParam', 'x'],
      ['doubleParam', 1.5],
      ['int64Param', 7n],
      ['int64Param', -7n],
      ['uint64Param', 2n ** 63n],
      ['int64Param', -(2n ** 63n)],
      ['stringParam', String(2n ** 70n)],
    ]);
  });

  it('reads 64-bit integers as numbers when exact, bigint otherwise', () => {
    assert.equal(paramValue(toInferParameter(42)), 42);
    assert.equal(paramValue(toInferParameter(2n ** 60n)), 2n ** 60n);
  });
});

describe('shape decoding', () => {
  it('accepts zero dims even after huge ones', () => {
    assert.deepEqual(decodeShape([2n ** 40n, 2n ** 40n, 0n], where), { shape: [2 ** 40, 2 ** 40, 0], count: 0 });
  });

  it('rejects negative, oversized and overflowing shapes naming the input', () => {
    for (const dims of [[-1n], [2n ** 60n], [2n ** 30n, 2n ** 30n]]) {
      assert.throws(
        () => decodeShape(dims, where),
        (e: unknown) => e instanceof InferError && e.code === 'IG_ERR_INVALID_ARG' && e.message.includes("'IN'"),
      );
    }
  });
});
