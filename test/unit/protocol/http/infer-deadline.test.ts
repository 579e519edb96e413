import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DROP_REASONS } from '../../../../src/observability/stats.js';
import { echoModel, executedValues } from '../real-services.js';
import { closeAll, postJson, setup } from './helpers.js';

after(closeAll);

/** Versions 1 and 3 both READY: the default call goes to the highest. */
const MULTI = echoModel('multi', 'INT32', [1], { versions: { 1: 'ok', 3: 'ok' } });
/** One instance, 80 ms per execution: a second request waits behind the first. */
const SLOW = echoModel('slow', 'INT32', [1], { delayMs: 80 });
const body = (v: number) => ({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [v] }] });

describe('infer: served version header and the infergate-timeout-ms deadline', () => {
  test('the infergate-model-version header names the version that served', async () => {
    const { app } = await setup(undefined, [MULTI]);
    const latest = await app.inject(postJson('/v2/models/multi/infer', body(1)));
    assert.equal(latest.statusCode, 200, latest.body);
    assert.equal(latest.headers['infergate-model-version'], '3');
    assert.equal(latest.json().model_version, '3');
    const pinned = await app.inject(postJson('/v2/models/multi/versions/1/infer', body(1)));
    assert.equal(pinned.headers['infergate-model-version'], '1');
    assert.equal(pinned.json().model_version, '1');
    const failed = await app.inject(postJson('/v2/models/multi/versions/2/infer', body(1)));
    assert.equal(failed.statusCode, 404);
    assert.equal(failed.headers['infergate-model-version'], undefined, 'no version served an error');
  });

  test('a malformed infergate-timeout-ms → 400 naming the header, before the router', async () => {
    const { app, real } = await setup(undefined, [SLOW]);
    for (const value of ['abc', '0', '-5', '1.5', '99999999999']) {
      const res = await app.inject(postJson('/v2/models/slow/infer', body(1), { 'infergate-timeout-ms': value }));
      assert.equal(res.statusCode, 400, value);
      assert.match(res.json().error, /^header 'infergate-timeout-ms' must be a whole number of milliseconds/, value);
    }
    assert.equal(real.calls.length, 0);
    const ok = await app.inject(postJson('/v2/models/slow/infer', body(1), { 'infergate-timeout-ms': '5000' }));
    assert.equal(ok.statusCode, 200, ok.body);
    const ctx = real.calls[0]?.ctx;
    assert.ok(ctx && ctx.deadline > Date.now() && ctx.deadline <= Date.now() + 5000, 'the deadline reached the router');
  });

  test('a deadline that passes behind a slow request → 504, and the request never executes', async () => {
    const { app, real } = await setup(undefined, [SLOW]);
    const first = app.inject(postJson('/v2/models/slow/infer', body(1)));
    await real.waitForCalls(1);
    const late = await app.inject(postJson('/v2/models/slow/infer', body(2), { 'infergate-timeout-ms': '1' }));
    assert.equal(late.statusCode, 504, late.body);
    assert.deepEqual(late.json(), { error: 'request deadline exceeded before the model ran' });
    assert.equal(real.calls[1]?.error?.code, 'IG_ERR_DEADLINE_EXCEEDED');
    assert.equal((await first).statusCode, 200);
    // Give a wrongly queued request the time to run before looking.
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(executedValues(real, 'slow'), [[1]], 'only the first request ran');
    const s = real.admin.modelStatistics('slow', '1')[0];
    assert.equal(s?.inference_stats.fail.count, 1);
    assert.equal(s?.inference_count, 1);
    assert.equal(real.stats.get('slow', 1).drops[DROP_REASONS.indexOf('cancelled')], 0, 'refused, not cancelled');
  });

  test('a generous deadline does not get in the way', async () => {
    const { app, real } = await setup(undefined, [SLOW]);
    const first = app.inject(postJson('/v2/models/slow/infer', body(1)));
    await real.waitForCalls(1);
    const second = await app.inject(postJson('/v2/models/slow/infer', body(2), { 'infergate-timeout-ms': '5000' }));
    assert.equal(second.statusCode, 200, second.body);
    assert.equal((await first).statusCode, 200);
    assert.deepEqual(executedValues(real, 'slow'), [[1], [2]]);
  });
});
