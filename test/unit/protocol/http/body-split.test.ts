import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { InferError } from '../../../../src/core/index.js';
import { readSplitBody, splitPoint } from '../../../../src/protocol/http/body-split.js';
import { tensorFromWire } from '../../../../src/protocol/common/tensor-wire.js';

const INFER = 'infer';
const headers = (over: Record<string, string>) => ({
  'content-length': '100',
  'inference-header-content-length': '40',
  ...over,
});

describe('splitting binary-extension infer bodies', () => {
  test('split only an uncompressed infer body whose header length fits its Content-Length', () => {
    assert.deepEqual(splitPoint(INFER, headers({})), { total: 100, header: 40 });
    assert.deepEqual(splitPoint(INFER, headers({ 'content-encoding': 'identity' })), {
      total: 100,
      header: 40,
    });
    assert.deepEqual(splitPoint(INFER, headers({ 'inference-header-content-length': '0' })), { total: 100, header: 0 });
    assert.equal(splitPoint('load', headers({})), undefined);
    assert.equal(splitPoint(undefined, headers({})), undefined, 'no route matched');
    assert.equal(splitPoint(INFER, headers({ 'content-encoding': 'gzip' })), undefined);
    assert.equal(splitPoint(INFER, headers({ 'inference-header-content-length': '101' })), undefined);
    assert.equal(splitPoint(INFER, headers({ 'inference-header-content-length': '4x' })), undefined);
    assert.equal(splitPoint(INFER, { 'inference-header-content-length': '4' }), undefined, 'no Content-Length');
  });

  test('property: any chunking gives the same JSON header and binary section', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 20 }),
        async (bytes, at, cuts) => {
          const header = bytes.length === 0 ? 0 : at % (bytes.length + 1);
          const chunks: Buffer[] = [];
          let off = 0;
          for (const c of cuts) {
            if (off >= bytes.length) break;
            chunks.push(Buffer.from(bytes.subarray(off, off + c)));
            off += c;
          }
          if (off < bytes.length) chunks.push(Buffer.from(bytes.subarray(off)));
          const got = await readSplitBody(Readable.from(chunks), bytes.length, header);
          assert.deepEqual([...got.json], [...bytes.subarray(0, header)]);
          assert.deepEqual([...got.binary], [...bytes.subarray(header)]);
          assert.equal(got.binary.byteOffset, 0);
          assert.equal(got.binary.buffer.byteLength, bytes.length - header, 'a buffer of its own');
        },
      ),
    );
  });

  test('a body shorter than its Content-Length is a clear 400', async () => {
    await assert.rejects(
      readSplitBody(Readable.from([Buffer.alloc(10)]), 16, 4),
      (e: InferError) => e.code === 'IG_ERR_INVALID_ARG' && /ended after 10 of its 16 bytes/.test(e.message),
    );
  });

  test('tensorFromWire uses a whole buffer in place and copies a slice of a shared one', () => {
    const own = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const inPlace = tensorFromWire('x', 'FP32', [4], own);
    assert.equal((inPlace.data as Float32Array).buffer, own.buffer);
    const shared = new Uint8Array(20);
    shared.set(own, 4);
    const copied = tensorFromWire('x', 'FP32', [4], shared.subarray(4));
    assert.notEqual((copied.data as Float32Array).buffer, shared.buffer);
    assert.deepEqual(Array.from(copied.data as Float32Array), [1, 2, 3, 4]);
  });
});
