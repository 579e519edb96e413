// gRPC messages are bounded by the server's configured limit (the HTTP body limit), refused from
// their length prefix with RESOURCE_EXHAUSTED naming the limit, before the message is buffered.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { echoName, type Harness, startHarness } from './harness.js';

const LIMIT = 1 << 20;
let h: Harness;
before(async () => {
  h = await startHarness({ maxMessageBytes: LIMIT, maxBytesElements: 10 });
});
after(() => h.close());

const infer = (bytes: number) =>
  h.call('modelInfer', {
    modelName: echoName('UINT8'),
    inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: [BigInt(bytes)] }],
    rawInputContents: [new Uint8Array(bytes)],
  });

describe('gRPC message size limit', () => {
  it('refuses a request over the limit with RESOURCE_EXHAUSTED naming it; the model never runs', async () => {
    const calls = h.real.calls.length;
    await assert.rejects(infer(2 * LIMIT), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.RESOURCE_EXHAUSTED);
      assert.match(err.details, new RegExp(`${LIMIT}`));
      return true;
    });
    assert.equal(h.real.calls.length, calls, 'the call never reached the router');
  });

  it('a BYTES input with more elements than maxBytesElements → INVALID_ARGUMENT naming the limit', async () => {
    const calls = h.real.calls.length;
    const bytes = (n: number) =>
      h.call('modelInfer', {
        modelName: echoName('BYTES'),
        inputs: [
          {
            name: 'INPUT0',
            datatype: 'BYTES',
            shape: [BigInt(n)],
            contents: { bytesContents: new Array(n).fill(new Uint8Array(0)) },
          },
        ],
      });
    await assert.rejects(bytes(11), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      // Refused from the wire bytes, before protobuf-es made an object per element.
      assert.match(err.details, /input #1 has 11 BYTES elements; at most 10/);
      return true;
    });
    assert.equal(h.real.calls.length, calls);
    assert.equal((await bytes(10)).outputs.length, 1);
  });

  it('serves a request under the limit', async () => {
    const ok = await infer(LIMIT / 2);
    assert.equal(ok.rawOutputContents[0]?.byteLength, LIMIT / 2);
  });
});
