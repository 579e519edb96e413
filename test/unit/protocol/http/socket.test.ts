import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import type { InferRequest } from '../../../../src/core/index.js';
import { setup } from './helpers.js';

const body = JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [1] }] });

describe('HTTP over a loopback socket', () => {
  test('a client that aborts mid-request aborts InferRequest.signal', async () => {
    const { server, service } = setup();
    let seen: InferRequest | undefined;
    const aborted = new Promise<void>((resolve) => {
      service.inferImpl = (r) => {
        seen = r;
        r.signal?.addEventListener('abort', () => resolve());
        return new Promise(() => {}); // never answers: only the abort can end it
      };
    });
    const port = await server.listen(0);
    const controller = new AbortController();
    const pending = request(`http://127.0.0.1:${port}/v2/models/simple/infer`, {
      method: 'POST',
      body,
      signal: controller.signal,
    }).catch((e: Error) => e);
    while (seen === undefined) await new Promise((r) => setTimeout(r, 5));
    assert.equal(seen.signal?.aborted, false);
    controller.abort();
    await aborted;
    assert.equal(seen.signal?.aborted, true);
    assert.ok((await pending) instanceof Error);
    await server.close();
  });

  test('a completed request does not abort its signal; close() waits for in-flight requests', async () => {
    const { server, service } = setup();
    let release = () => {};
    let seen: InferRequest | undefined;
    service.inferImpl = (r) => {
      seen = r;
      return new Promise((resolve) => {
        release = () => resolve({ model: r.model, version: '1', outputs: r.inputs });
      });
    };
    const port = await server.listen(0);
    const pending = request(`http://127.0.0.1:${port}/v2/models/simple/infer`, { method: 'POST', body });
    while (seen === undefined) await new Promise((r) => setTimeout(r, 5));
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(closed, false);
    release();
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { outputs: unknown[] }).outputs.length, 1);
    await closing;
    assert.equal(seen.signal?.aborted, false);
  });
});
