// Raw binary requests (Inference-Header-Content-Length: 0) for a BYTES input (issue #21 item 7):
// one element takes the whole body as that element, as Triton reads it; several stay length-prefixed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRawBinaryRequest } from '../../../../src/protocol/http/raw-binary.js';

const meta = (shape: number[]) => ({
  name: 'text',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'IN', datatype: 'BYTES', shape }],
  outputs: [],
});

test('a one-element BYTES input takes the whole body, with no length prefix', () => {
  const body = new TextEncoder().encode('hello, raw world');
  for (const shape of [[1], [-1, 1], [-1]]) {
    const { request } = decodeRawBinaryRequest(body, meta(shape), 'text', undefined);
    const input = request.inputs[0]!;
    assert.deepEqual(
      input.shape.reduce((n, d) => n * d, 1),
      1,
    );
    assert.deepEqual(input.data, [body]);
    assert.notEqual((input.data as Uint8Array[])[0]!.buffer, body.buffer, 'copied into memory the tensor owns');
  }
});

test('several BYTES elements are read length-prefixed, as before', () => {
  const body = Uint8Array.from([1, 0, 0, 0, 0x61, 2, 0, 0, 0, 0x62, 0x63]);
  const { request } = decodeRawBinaryRequest(body, meta([2]), 'text', undefined);
  assert.deepEqual(
    (request.inputs[0]!.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)),
    ['a', 'bc'],
  );
});
