// The feature store instance over a scripted Redis client (backend/feature-store/instance.ts):
// how each way Redis can fail becomes a coded error, cancellation while waiting, and unloading
// waiting for the calls in flight. The real Redis paths are in test/integration/feature-store-redis.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseFeatureStoreSpec } from '../../../../src/backend/feature-store/config.js';
import {
  type FeaturePipeline,
  type FeatureRedis,
  FeatureStoreInstance,
} from '../../../../src/backend/feature-store/instance.js';
import { callContext, type Tensor } from '../../../../src/core/index.js';
import { rejectsCoded, versionSpec } from './spec.js';

type Replies = Array<[Error | null, unknown]> | null;

/** A client whose pipelines answer `answer(keys)` (a promise: it may never settle). */
function scripted(answer: (keys: string[]) => Promise<Replies>, status = 'ready'): FeatureRedis & { sent: string[][] } {
  const sent: string[][] = [];
  return {
    status,
    sent,
    pipeline(): FeaturePipeline {
      const keys: string[] = [];
      return {
        hmget: (key: string | Buffer) => keys.push(Buffer.from(key).toString()),
        exec: () => {
          sent.push(keys);
          return answer(keys);
        },
      };
    },
  };
}

const spec = parseFeatureStoreSpec(
  versionSpec({ parameters: { key_template: 'u:{id}', features: 'age,score,visits', latency_budget_ms: '60000' } }),
);
const ids = (...names: string[]): Tensor => ({
  name: 'entity',
  datatype: 'BYTES',
  shape: [names.length, 1],
  data: names.map((s) => new TextEncoder().encode(s)),
});
const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe('feature store instance', () => {
  test('one pipeline with one key per row; the answer in row order', async () => {
    const redis = scripted(async (keys) => keys.map((k) => [null, [k.slice(2).length.toString(), '1', '2']]));
    const inst = new FeatureStoreInstance(spec, redis, 'user_features_1_0');
    const r = await inst.execute([ids('a', 'bbb')]);
    assert.deepEqual(redis.sent, [['u:a', 'u:bbb']]);
    assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [1, 1, 2, 3, 1, 2]);
    assert.ok(r.timing.inferNs >= 0);
  });

  test('Redis not connected: 503 at once, nothing sent', async () => {
    const redis = scripted(() => assert.fail('nothing may be sent'), 'reconnecting');
    const inst = new FeatureStoreInstance(spec, redis, 'i');
    await rejectsCoded(
      inst.execute([ids('a')]),
      'IG_ERR_UNAVAILABLE',
      /^feature store 'user_features': Redis is not connected$/,
    );
    assert.deepEqual(redis.sent, []);
  });

  test('a failed pipeline, a refusal, an incomplete answer: 503 with a reason that never quotes Redis’s text', async () => {
    const cases: Array<[() => Promise<Replies>, RegExp]> = [
      [() => Promise.reject(new Error('Connection is closed.')), /Redis failed \(connection lost\)$/],
      [async () => [[replyError('NOAUTH Authentication required. secret-arg'), null]], /Redis failed \(NOAUTH\)$/],
      [async () => [[replyError('LOADING Redis is loading the dataset in memory'), null]], /Redis failed \(LOADING\)$/],
      [async () => null, /Redis answered incompletely$/],
      [async () => [], /Redis answered incompletely$/],
    ];
    for (const [answer, pattern] of cases) {
      const inst = new FeatureStoreInstance(spec, scripted(answer), 'i');
      await rejectsCoded(inst.execute([ids('a')]), 'IG_ERR_UNAVAILABLE', pattern);
    }
  });

  test('a key of the wrong type: 500 naming the entity', async () => {
    const redis = scripted(async () => [
      [null, ['1', '2', '3']],
      [replyError('WRONGTYPE Operation against a key holding the wrong kind of value'), null],
    ]);
    await rejectsCoded(
      new FeatureStoreInstance(spec, redis, 'i').execute([ids('a', 'b')]),
      'IG_ERR_MODEL_EXECUTION',
      /the key of entity "b" does not hold a hash/,
    );
  });

  test('the client going away while Redis has not answered: cancelled, at once', async () => {
    const inst = new FeatureStoreInstance(
      spec,
      scripted(() => new Promise(() => {})),
      'i',
    );
    const abort = new AbortController();
    const call = callContext({ protocol: 'http', signal: abort.signal });
    const p = inst.execute([ids('a')], undefined, { call });
    abort.abort();
    await rejectsCoded(p, 'IG_ERR_CANCELLED', /cancelled/);
    await rejectsCoded(inst.execute([ids('a')], undefined, { call }), 'IG_ERR_CANCELLED', /cancelled/);
  });

  test('the call’s deadline, from the scheduler or the call itself, bounds the wait', async () => {
    const inst = new FeatureStoreInstance(
      spec,
      scripted(() => new Promise(() => {})),
      'i',
    );
    await rejectsCoded(
      inst.execute([ids('a')], undefined, { deadline: Date.now() + 20 }),
      'IG_ERR_DEADLINE_EXCEEDED',
      /the request deadline passed while waiting for Redis/,
    );
    const call = callContext({ protocol: 'grpc', deadline: Date.now() + 20 });
    await rejectsCoded(inst.execute([ids('a')], undefined, { call }), 'IG_ERR_DEADLINE_EXCEEDED', /waiting for Redis/);
  });

  test('no rows: an empty tensor without asking Redis; the id input missing: 400', async () => {
    const redis = scripted(() => assert.fail('nothing may be sent'));
    const inst = new FeatureStoreInstance(spec, redis, 'i');
    const r = await inst.execute([{ name: 'entity', datatype: 'BYTES', shape: [0, 1], data: [] }]);
    assert.deepEqual(r.outputs[0]!.shape, [0, 3]);
    await rejectsCoded(inst.execute([]), 'IG_ERR_INVALID_ARG', /input 'entity' is missing/);
  });

  test('dispose waits for the calls in flight, then refuses new ones', async () => {
    let release!: (r: Replies) => void;
    const inst = new FeatureStoreInstance(
      spec,
      scripted(() => new Promise<Replies>((resolve) => (release = resolve))),
      'i',
    );
    const call = inst.execute([ids('a')]);
    assert.equal(inst.inflight, 1);
    let disposed = false;
    const disposing = inst.dispose().then(() => (disposed = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(disposed, false, 'still answering a call');
    assert.equal(inst.alive, false);
    release([[null, ['1', '2', '3']]]);
    assert.deepEqual([...((await call).outputs[0]!.data as Float32Array)], [1, 2, 3]);
    await disposing;
    assert.equal(disposed, true);
    await rejectsCoded(inst.execute([ids('a')]), 'IG_ERR_UNAVAILABLE', /the model is being unloaded/);
  });
});
