/**
 * BYTES over gRPC are byte-exact (issue #26 item 11): raw_input_contents and typed bytes_contents
 * carry any bytes (NUL, invalid UTF-8, a leading BOM) to the backend and back in
 * raw_output_contents, over a real loopback server and the echo_bytes model.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBytesElements, encodeBytesElements } from '../../../../src/core/index.js';
import { echoName, type Harness, startHarness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

const enc = new TextEncoder();
const NASTY: Uint8Array[] = [
  enc.encode('a\0b'),
  Uint8Array.of(0),
  new Uint8Array(0),
  Uint8Array.of(0xff, 0xfe, 0x00, 0x80),
  enc.encode('\ufeffbom'),
  Uint8Array.of(0xed, 0xa0, 0x80),
  enc.encode('héllo 🙂'),
];

function receivedBytes(): number[][] {
  const input = h.real.calls.at(-1)?.request.inputs[0];
  assert.ok(input, 'the request reached the router');
  return (input.data as Uint8Array[]).map((e) => [...e]);
}

function outputBytes(raw: Uint8Array | undefined, count: number): number[][] {
  const items = decodeBytesElements(raw ?? new Uint8Array(0), count);
  assert.ok(typeof items !== 'string', String(items));
  return items.map((e) => [...e]);
}

async function viaRaw(items: Uint8Array[]) {
  return h.call('modelInfer', {
    modelName: echoName('BYTES'),
    inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [BigInt(items.length)] }],
    rawInputContents: [encodeBytesElements(items)],
  });
}

describe('gRPC BYTES byte-exact', () => {
  it('raw_input_contents → raw_output_contents, NUL and invalid UTF-8 included', async () => {
    const res = await viaRaw(NASTY);
    const want = NASTY.map((e) => [...e]);
    assert.deepEqual(receivedBytes(), want);
    assert.deepEqual(outputBytes(res.rawOutputContents[0], NASTY.length), want);
  });

  it('typed bytes_contents reach the backend unchanged', async () => {
    const res = await h.call('modelInfer', {
      modelName: echoName('BYTES'),
      inputs: [
        { name: 'INPUT0', datatype: 'BYTES', shape: [BigInt(NASTY.length)], contents: { bytesContents: NASTY } },
      ],
    });
    const want = NASTY.map((e) => [...e]);
    assert.deepEqual(receivedBytes(), want);
    assert.deepEqual(outputBytes(res.rawOutputContents[0], NASTY.length), want);
  });

  it('any bytes round-trip (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 6 }), async (items) => {
        const res = await viaRaw(items);
        const want = items.map((e) => [...e]);
        assert.deepEqual(receivedBytes(), want);
        assert.deepEqual(outputBytes(res.rawOutputContents[0], items.length), want);
      }),
      { numRuns: 40 },
    );
  });
});
