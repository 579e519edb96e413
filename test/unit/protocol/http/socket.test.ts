import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { InferError } from '../../../../src/core/index.js';
import { DROP_REASONS } from '../../../../src/observability/stats.js';
import { echoModel, executedValues } from '../real-services.js';
import { closeAll, setup } from './helpers.js';

after(closeAll);

/** One instance that takes a while per request: a second request waits in the queue. */
const SLOW = echoModel('slow', 'INT32', [1], { delayMs: 200 });
const body = (v: number) => JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [v] }] });

describe('HTTP over a loopback socket', () => {
  test('a client that aborts mid-request aborts the call signal; a queued request then never runs', async () => {
    const { server, real } = await setup(undefined, [SLOW]);
    const port = await server.listen(0);
    const url = `http://127.0.0.1:${port}/v2/models/slow/infer`;
    // A client of its own: undici replaces the aborted connection with an idle one, which would
    // hold server.close() until undici's own keep-alive timeout.
    const dispatcher = new Agent();
    const running = request(url, { method: 'POST', body: body(1), dispatcher });
    const first = await real.nextCall();
    const controller = new AbortController();
    const queued = request(url, { method: 'POST', body: body(2), signal: controller.signal, dispatcher }).catch(
      (e: Error) => e,
    );
    const second = await real.nextCall();
    assert.equal(second.ctx.signal?.aborted, false);
    const aborted = new Promise<void>((resolve) => second.ctx.signal?.addEventListener('abort', () => resolve()));
    controller.abort();
    await aborted;
    assert.equal(second.ctx.signal?.aborted, true);
    assert.ok((await queued) instanceof Error);
    assert.equal(second.error?.code, 'IG_ERR_CANCELLED');
    const res = await running;
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(first.ctx.signal?.aborted, false);
    assert.deepEqual(executedValues(real, 'slow'), [[1]], 'the abandoned request never reached the instance');
    assert.equal(
      real.stats.get('slow', 1).drops[DROP_REASONS.indexOf('cancelled')],
      1,
      "counted as a 'cancelled' drop",
    );
    await dispatcher.close();
    await server.close();
  });

  test('a completed request does not abort its signal; close() waits for in-flight requests', async () => {
    const { server, real } = await setup(undefined, [SLOW]);
    const port = await server.listen(0);
    const pending = request(`http://127.0.0.1:${port}/v2/models/slow/infer`, { method: 'POST', body: body(7) });
    const call = await real.nextCall();
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(closed, false, 'the model is still running the request');
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.deepEqual(((await res.body.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]?.data, [7]);
    await closing;
    assert.equal(call.ctx.signal?.aborted, false);
    assert.equal((call.ctx.signal?.reason as InferError | undefined)?.code, undefined);
  });
});
