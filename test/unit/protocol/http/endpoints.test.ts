import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { echoModel, modelFileFor, overriding } from '../real-services.js';
import { closeAll, postJson, ROW, SIMPLE, setup } from './helpers.js';

after(closeAll);

const HEALTHY = [echoModel('ok', 'INT32', [1])];
const row = (v = ROW) => ({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: v }] });

describe('HTTP endpoints', () => {
  test('health live/ready: empty 200; not ready is an empty 503', async () => {
    const { app, real } = await setup(undefined, HEALTHY);
    for (const url of ['/v2/health/live', '/v2/health/ready']) {
      const ok = await app.inject({ method: 'GET', url });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.body, '');
    }
    real.setServing(false); // shutdown began: readiness turns false while in-flight work finishes
    const draining = await app.inject({ method: 'GET', url: '/v2/health/ready' });
    assert.equal(draining.statusCode, 503);
    assert.equal(draining.body, '');
    // Strict readiness: a model with no version serving keeps the server not ready...
    const broken = await setup(undefined, [echoModel('dead', 'INT32', [1], { versions: { 1: 'broken' } })]);
    assert.equal((await broken.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode, 503);
    assert.equal((await broken.app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode, 200);
    // ...but a version that failed beside one that serves is the model's state, not the server's.
    const partly = await setup(undefined, [SIMPLE]);
    assert.equal((await partly.app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode, 200);
    assert.equal(
      (await partly.app.inject({ method: 'GET', url: '/v2/models/simple/versions/2/ready' })).statusCode,
      400,
    );
    // The router is live for as long as the process runs: only a wrapper can answer "not live".
    const dead = await setup(undefined, HEALTHY, (s) => ({
      ...s,
      inference: overriding(s.inference, { live: () => false }),
    }));
    const r = await dead.app.inject({ method: 'GET', url: '/v2/health/live' });
    assert.equal(r.statusCode, 400);
    assert.equal(r.body, '');
  });

  test('model ready: 200 empty, 400 not ready, 404 unknown model and version', async () => {
    const { app } = await setup(undefined, [SIMPLE]);
    const ok = await app.inject({ method: 'GET', url: '/v2/models/simple/ready' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '');
    const v1 = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1/ready' });
    assert.equal(v1.statusCode, 200);
    const notReady = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/2/ready' });
    assert.equal(notReady.statusCode, 400);
    assert.deepEqual(notReady.json(), { error: 'Model version not ready' });
    const unknown = await app.inject({ method: 'GET', url: '/v2/models/nope/ready' });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.json().error, /^Request for unknown model: 'nope'/);
    const badVersion = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/9/ready' });
    assert.equal(badVersion.statusCode, 404);
    assert.match(badVersion.json().error, /version 9 is not found/);
  });

  test('server and model metadata, query strings ignored, names URL-decoded', async () => {
    const { app } = await setup(undefined, [SIMPLE, echoModel('a b+c', 'FP32', [2])]);
    const meta = await app.inject({ method: 'GET', url: '/v2?test_1=1&test_2=2' });
    assert.equal(meta.statusCode, 200);
    assert.equal(meta.json().name, 'infergate');
    const model = await app.inject({ method: 'GET', url: '/v2/models/simple?x=1' });
    assert.deepEqual(model.json(), {
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] }],
    });
    const v = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1' });
    assert.deepEqual(v.json().versions, ['1']);
    const quoted = await app.inject({ method: 'GET', url: '/v2/models/a%20b%2Bc' });
    assert.equal(quoted.statusCode, 200);
    assert.equal(quoted.json().name, 'a b+c');
    // %2F is decoded into the name (no model can be called that on disk).
    const slash = await app.inject({ method: 'GET', url: '/v2/models/a%2Fb' });
    assert.equal(slash.statusCode, 404);
    assert.equal(slash.json().error, "Request for unknown model: 'a/b' is not found");
  });

  test('model config', async () => {
    const { app } = await setup(undefined, [SIMPLE]);
    const r = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1/config' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().max_batch_size, 8);
    assert.equal(r.json().name, 'simple');
    assert.deepEqual(r.json().input[0].dims, [16]);
    const notReady = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/2/config' });
    assert.equal(notReady.statusCode, 503);
    assert.deepEqual(notReady.json(), { error: "'simple' version 2 is not at ready state" });
  });

  test('statistics: all, one model, one version, counted by the router', async () => {
    const { app, real } = await setup();
    for (const v of [1, 2]) {
      const r = await app.inject(postJson('/v2/models/simple/infer', row(ROW.map((x) => x * v))));
      assert.equal(r.statusCode, 200, r.body);
    }
    const ready = real.admin.repositoryIndex(true).length;
    for (const url of ['/v2/models/stats', '/v2/models/simple/stats', '/v2/models/simple/versions/1/stats']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      const all = r.json().model_stats as Array<Record<string, never>>;
      assert.equal(all.length, url === '/v2/models/stats' ? ready : 1, url);
      const s = all.find((x) => x['name'] === 'simple') as Record<string, unknown> | undefined;
      assert.equal(s?.['version'], '1', url);
      assert.equal(s?.['inference_count'], 2, url);
      assert.equal(s?.['execution_count'], 2, url);
      assert.match(r.body, /"simple","version":"1".*?"success":\{"count":2,"ns":\d+\}/);
    }
    const unknown = await app.inject({ method: 'GET', url: '/v2/models/nope/stats' });
    assert.equal(unknown.statusCode, 404);
  });

  test('statistics: nanosecond sums past 2^53 are written as exact integers', async () => {
    const { app, real } = await setup(undefined, [SIMPLE]);
    // The router's own counters (StatsRegistry), fed as a long-running server would have fed them.
    const s = real.stats.get('simple', 1);
    const t = { inputNs: 0, inferNs: 0, outputNs: 0 };
    s.success(1_700_000_000_000, 2 ** 52 + 1, 2 ** 53, 1, t);
    s.success(1_700_000_000_000, 2 ** 52, 3, 1, t);
    const r = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1/stats' });
    assert.match(r.body, /"success":\{"count":2,"ns":9007199254740993\}/);
    assert.match(r.body, /"queue":\{"count":2,"ns":9007199254740995\}/);
    assert.match(r.body, /"last_inference":1700000000000/);
  });

  test('repository index: bare array, ready filter, non-bool ready → 400', async () => {
    const { app } = await setup(undefined, [SIMPLE, echoModel('never_loaded', 'INT32', [1], { load: false })]);
    const all = await app.inject({ method: 'POST', url: '/v2/repository/index' });
    assert.equal(all.statusCode, 200);
    const rows = all.json() as Array<Record<string, string>>;
    assert.deepEqual(
      rows.map(({ reason: _r, ...rest }) => rest),
      [
        { name: 'never_loaded' },
        { name: 'simple', version: '1', state: 'READY' },
        { name: 'simple', version: '2', state: 'UNAVAILABLE' },
      ],
    );
    assert.match(rows[2]?.['reason'] ?? '', /version 2 is broken on purpose/);
    const ready = await app.inject(postJson('/v2/repository/index', { ready: true }));
    assert.deepEqual(ready.json(), [{ name: 'simple', version: '1', state: 'READY' }]);
    const bad = await app.inject(postJson('/v2/repository/index', { ready: 'yes' }));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /'ready' must be a boolean/);
  });

  test('load with config and base64 files; load from disk; unload with dependents', async () => {
    const { app, real } = await setup(undefined, [
      echoModel('m1', 'INT32', [2], { memoryOnly: true }),
      echoModel('m2', 'INT32', [2], { load: false }),
    ]);
    const files = { 'file:1/model.onnx': Buffer.from(modelFileFor('m1')).toString('base64') };
    const r = await app.inject(postJson('/v2/repository/models/m1/load', { parameters: { config: '{}', ...files } }));
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.body, '');
    // The decoded file reached the backend: m1 is served with the signature it describes.
    assert.equal(real.backend.loads.at(-1)?.model, 'm1');
    const meta = await app.inject({ method: 'GET', url: '/v2/models/m1' });
    assert.deepEqual(meta.json().inputs, [{ name: 'INPUT0', datatype: 'INT32', shape: [2] }]);
    const inferred = await app.inject(
      postJson('/v2/models/m1/infer', { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [2], data: [5, 6] }] }),
    );
    assert.deepEqual(inferred.json().outputs[0].data, [5, 6]);

    assert.equal((await app.inject({ method: 'GET', url: '/v2/models/m2/ready' })).statusCode, 404, 'never loaded');
    const plain = await app.inject({ method: 'POST', url: '/v2/repository/models/m2/load' });
    assert.equal(plain.statusCode, 200, plain.body);
    assert.equal((await app.inject({ method: 'GET', url: '/v2/models/m2/ready' })).statusCode, 200);

    const failed = await app.inject(postJson('/v2/repository/models/m3/load', { parameters: { config: '{bad' } }));
    assert.equal(failed.statusCode, 400);
    const noConfig = await app.inject(postJson('/v2/repository/models/m3/load', { parameters: files }));
    assert.equal(noConfig.statusCode, 400);
    assert.match(noConfig.json().error, /requires the 'config' parameter/);
    const unknown = await app.inject({ method: 'POST', url: '/v2/repository/models/ghost/load' });
    assert.equal(unknown.statusCode, 404);

    const badFlag = await app.inject(
      postJson('/v2/repository/models/m1/unload', { parameters: { unload_dependents: 'yes' } }),
    );
    assert.equal(badFlag.statusCode, 400);
    assert.match(badFlag.json().error, /'unload_dependents' must be a boolean/);
    const un = await app.inject(
      postJson('/v2/repository/models/m1/unload', { parameters: { unload_dependents: true } }),
    );
    assert.equal(un.statusCode, 200);
    const gone = await app.inject({ method: 'GET', url: '/v2/models/m1/ready' });
    assert.equal(gone.statusCode, 400);
    assert.deepEqual(gone.json(), { error: 'Model version not ready' });
  });

  test('named repository → 501', async () => {
    const { app } = await setup(undefined, HEALTHY);
    const r = await app.inject({ method: 'POST', url: '/v2/repository/myrepo/models/m/load' });
    assert.equal(r.statusCode, 501);
    assert.match(r.json().error, /'repository_name' specification is not supported/);
  });

  test('logging GET/POST through the admin service; bad key → 400', async () => {
    const { app } = await setup(undefined, HEALTHY);
    const defaults = {
      log_file: '',
      log_info: true,
      log_warning: true,
      log_error: true,
      log_verbose_level: 0,
      log_format: 'default',
    };
    const get = await app.inject({ method: 'GET', url: '/v2/logging' });
    assert.deepEqual(get.json(), defaults);
    const post = await app.inject(postJson('/v2/logging', { log_verbose_level: 2 }));
    assert.deepEqual(post.json(), { ...defaults, log_verbose_level: 2 });
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v2/logging' })).json().log_verbose_level, 2);
    const bad = await app.inject(postJson('/v2/logging', { nope: 1 }));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /nope/);
  });

  test('trace settings: defaults OFF, model overrides apply, unknown keys → 400, unknown model → 404', async () => {
    const { app } = await setup(undefined, [SIMPLE]);
    const get = await app.inject({ method: 'GET', url: '/v2/trace/setting' });
    assert.deepEqual(get.json().trace_level, ['OFF']);
    assert.equal(get.json().trace_rate, '1000');
    const post = await app.inject(
      postJson('/v2/models/simple/trace/setting', { trace_rate: '10', trace_level: ['OFF'] }),
    );
    assert.equal(post.statusCode, 200);
    assert.equal(post.json().trace_rate, '10');
    const model = await app.inject({ method: 'GET', url: '/v2/models/simple/trace/setting' });
    assert.equal(model.json().trace_rate, '10');
    const global = await app.inject({ method: 'GET', url: '/v2/trace/setting' });
    assert.equal(global.json().trace_rate, '1000', 'a model override leaves the server-wide settings alone');
    const bad = await app.inject(postJson('/v2/trace/setting', { trace_bogus: '1' }));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /trace_bogus/);
    const ghost = await app.inject({ method: 'GET', url: '/v2/models/ghost/trace/setting' });
    assert.equal(ghost.statusCode, 404);
  });

  test('CUDA shared memory declined as B.8 says (system shared memory: shared-memory.test.ts)', async () => {
    const { app } = await setup(undefined, HEALTHY);
    const kind = 'cudasharedmemory';
    for (const url of [`/v2/${kind}/status`, `/v2/${kind}/region/r0/status`]) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), []);
    }
    for (const url of [`/v2/${kind}/unregister`, `/v2/${kind}/region/r0/unregister`]) {
      const r = await app.inject({ method: 'POST', url });
      assert.equal(r.statusCode, 200);
    }
    const reg = await app.inject(postJson(`/v2/${kind}/region/r0/register`, { key: 'k', offset: 0, byte_size: 4 }));
    assert.equal(reg.statusCode, 501);
    assert.deepEqual(reg.json(), { error: 'CUDA shared memory is not supported by this server' });
    const system = await app.inject({ method: 'GET', url: '/v2/systemsharedmemory/status' });
    assert.deepEqual(system.json(), []);
  });

  test('unknown route → 404 Not Found; wrong method → 405; non-digit version → 404', async () => {
    const { app } = await setup(undefined, [SIMPLE]);
    const cases: Array<[string, string, number, string]> = [
      ['GET', '/v3', 404, 'Not Found'],
      ['GET', '/v2/models/simple/versions/one', 404, 'Not Found'],
      ['POST', '/v2/models/simple/versions/1x/infer', 404, 'Not Found'],
      ['GET', '/v2/models/simple/generate', 404, 'Not Found'],
      ['DELETE', '/v2/models/simple', 405, 'Method Not Allowed'],
      ['GET', '/v2/models/simple/infer', 405, 'Method Not Allowed'],
      ['POST', '/v2/health/live', 405, 'Method Not Allowed'],
      ['PUT', '/v2/logging', 405, 'Method Not Allowed'],
    ];
    for (const [method, url, status, error] of cases) {
      const r = await app.inject({ method: method as 'GET', url });
      assert.equal(r.statusCode, status, `${method} ${url}`);
      assert.deepEqual(r.json(), { error }, `${method} ${url}`);
    }
  });

  test('InferError headers pass through; unexpected exceptions → 500 internal error, no stack', async () => {
    const seen: unknown[] = [];
    // A poisoned output: any read of its data throws an error with internals in its text.
    const poison = new Proxy(
      {},
      {
        get() {
          throw new TypeError('secret /etc/path at foo.js:1:2');
        },
      },
    );
    const { app, real } = await setup({ onError: (e) => seen.push(e) }, [
      // One instance, a queue of one: a third request finds the queue full.
      echoModel('queued', 'INT32', [1], {
        maxBatchSize: 1,
        delayMs: 150,
        config: { dynamic_batching: { default_queue_policy: { max_queue_size: 1 } } },
      }),
      echoModel('boom', 'INT32', [1], {
        compute: () => [{ name: 'OUTPUT0', datatype: 'INT32', shape: [1], data: poison as Int32Array }],
      }),
    ]);
    const body = (v: number) => ({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 1], data: [v] }] });
    const settle = () => new Promise((r) => setTimeout(r, 20));
    const running = app.inject(postJson('/v2/models/queued/infer', body(1)));
    await real.waitForCalls(1);
    await settle();
    const waiting = app.inject(postJson('/v2/models/queued/infer', body(2)));
    await real.waitForCalls(2);
    await settle();
    const full = await app.inject(postJson('/v2/models/queued/infer', body(3)));
    assert.equal(full.statusCode, 503);
    assert.equal(full.headers['retry-after'], '1');
    assert.equal(full.headers['infergate-error-code'], 'IG_ERR_QUEUE_FULL', 'the stable code, beside Triton’s body');
    assert.deepEqual(full.json(), { error: 'Exceeds maximum queue size' });
    assert.equal((await running).statusCode, 200);
    assert.equal((await waiting).statusCode, 200);
    assert.equal(seen.length, 0, 'a full queue is an outcome, not an internal error to log with its stack');

    const boom = await app.inject(
      postJson('/v2/models/boom/infer', { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [1] }] }),
    );
    assert.equal(boom.statusCode, 500);
    assert.deepEqual(boom.json(), { error: 'internal error' });
    assert.equal(boom.headers['infergate-error-code'], 'IG_ERR_INTERNAL');
    assert.doesNotMatch(boom.body, /secret|etc|foo\.js/);
    assert.ok(seen.some((e) => e instanceof TypeError && e.message.includes('secret')));
  });
});
