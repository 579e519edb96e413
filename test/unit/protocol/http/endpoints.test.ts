import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InferError } from '../../../../src/core/index.js';
import { postJson, setup } from './helpers.js';

describe('HTTP endpoints', () => {
  test('health live/ready: empty 200, empty 400 when not', async () => {
    const { app, service } = setup();
    for (const url of ['/v2/health/live', '/v2/health/ready']) {
      const ok = await app.inject({ method: 'GET', url });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.body, '');
    }
    service.isLive = false;
    service.isReady = false;
    for (const url of ['/v2/health/live', '/v2/health/ready']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 400);
      assert.equal(r.body, '');
    }
  });

  test('model ready: 200 empty, 400 not ready, 404 unknown model and version', async () => {
    const { app } = setup();
    const ok = await app.inject({ method: 'GET', url: '/v2/models/simple/ready' });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '');
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
    const { app, service } = setup();
    const meta = await app.inject({ method: 'GET', url: '/v2?test_1=1&test_2=2' });
    assert.equal(meta.statusCode, 200);
    assert.equal(meta.json().name, 'infergate');
    const model = await app.inject({ method: 'GET', url: '/v2/models/simple?x=1' });
    assert.deepEqual(model.json().versions, ['1']);
    const v = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1' });
    assert.deepEqual(v.json().versions, ['1']);
    service.models.set('a b/c', service.models.get('simple')!);
    const quoted = await app.inject({ method: 'GET', url: '/v2/models/a%20b%2Fc' });
    assert.equal(quoted.statusCode, 200);
    assert.equal(quoted.json().name, 'a b/c');
  });

  test('model config', async () => {
    const { app } = setup();
    const r = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1/config' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().max_batch_size, 8);
  });

  test('statistics: all, one model, one version; bigint ns written as exact integers', async () => {
    const { app } = setup();
    for (const url of ['/v2/models/stats', '/v2/models/simple/stats', '/v2/models/simple/versions/1/stats']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.match(r.body, /"success":\{"count":2,"ns":9007199254740993\}/);
      assert.match(r.body, /"queue":\{"count":2,"ns":12345678901234567890\}/);
      assert.equal(r.json().model_stats.length, 1);
    }
    const unknown = await app.inject({ method: 'GET', url: '/v2/models/nope/stats' });
    assert.equal(unknown.statusCode, 404);
  });

  test('repository index: bare array, ready filter, non-bool ready → 400', async () => {
    const { app } = setup();
    const all = await app.inject({ method: 'POST', url: '/v2/repository/index' });
    assert.equal(all.statusCode, 200);
    assert.deepEqual(all.json(), [{ name: 'simple', version: '1', state: 'READY' }, { name: 'never_loaded' }]);
    const ready = await app.inject(postJson('/v2/repository/index', { ready: true }));
    assert.equal(ready.json().length, 1);
    const bad = await app.inject(postJson('/v2/repository/index', { ready: 'yes' }));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /'ready' must be a boolean/);
  });

  test('load with config and base64 files; unload with dependents', async () => {
    const { app, service } = setup();
    const files = { 'file:1/model.onnx': Buffer.from([1, 2, 3]).toString('base64') };
    const r = await app.inject(postJson('/v2/repository/models/m1/load', { parameters: { config: '{}', ...files } }));
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '');
    assert.equal(service.loads[0]?.params.config, '{}');
    assert.deepEqual([...(service.loads[0]?.params.files?.['1/model.onnx'] ?? [])], [1, 2, 3]);
    const plain = await app.inject({ method: 'POST', url: '/v2/repository/models/m2/load' });
    assert.equal(plain.statusCode, 200);
    assert.deepEqual(service.loads[1], { model: 'm2', params: {} });
    const failed = await app.inject(postJson('/v2/repository/models/m3/load', { parameters: { config: '{bad' } }));
    assert.equal(failed.statusCode, 400);
    const noConfig = await app.inject(postJson('/v2/repository/models/m3/load', { parameters: files }));
    assert.equal(noConfig.statusCode, 400);
    assert.match(noConfig.json().error, /requires the 'config' parameter/);
    const un = await app.inject(
      postJson('/v2/repository/models/m1/unload', { parameters: { unload_dependents: true } }),
    );
    assert.equal(un.statusCode, 200);
    assert.deepEqual(service.unloads, [{ model: 'm1', dependents: true }]);
  });

  test('named repository → 501', async () => {
    const { app } = setup();
    const r = await app.inject({ method: 'POST', url: '/v2/repository/myrepo/models/m/load' });
    assert.equal(r.statusCode, 501);
    assert.match(r.json().error, /'repository_name' specification is not supported/);
  });

  test('logging GET/POST through the service; bad key → 400', async () => {
    const { app } = setup();
    const get = await app.inject({ method: 'GET', url: '/v2/logging' });
    assert.deepEqual(get.json(), { log_info: true, log_verbose_level: 0 });
    const post = await app.inject(postJson('/v2/logging', { log_verbose_level: 2 }));
    assert.deepEqual(post.json(), { log_info: true, log_verbose_level: 2 });
    const bad = await app.inject(postJson('/v2/logging', { nope: 1 }));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /nope/);
  });

  test('trace settings: defaults OFF, known keys accepted, unknown keys → 400', async () => {
    const { app } = setup();
    const get = await app.inject({ method: 'GET', url: '/v2/trace/setting' });
    assert.deepEqual(get.json().trace_level, ['OFF']);
    const post = await app.inject(
      postJson('/v2/models/simple/trace/setting', { trace_rate: '10', trace_level: ['OFF'] }),
    );
    assert.equal(post.statusCode, 200);
    const bad = await app.inject(postJson('/v2/trace/setting', { trace_bogus: '1' }));
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error, /trace_bogus/);
  });

  test('shared memory declined as B.8 says', async () => {
    const { app } = setup();
    for (const kind of ['systemsharedmemory', 'cudasharedmemory']) {
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
      assert.deepEqual(reg.json(), { error: 'shared memory is not supported by this server' });
    }
  });

  test('unknown route → 404 Not Found; wrong method → 405; non-digit version → 404', async () => {
    const { app } = setup();
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
    const { app, service } = setup({ onError: (e) => seen.push(e) });
    service.inferImpl = async () => {
      throw new InferError('IG_ERR_QUEUE_FULL', 'Exceeds maximum queue size', { headers: { 'retry-after': '1' } });
    };
    const body = { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1], data: [1] }] };
    const full = await app.inject(postJson('/v2/models/simple/infer', body));
    assert.equal(full.statusCode, 503);
    assert.equal(full.headers['retry-after'], '1');
    assert.deepEqual(full.json(), { error: 'Exceeds maximum queue size' });
    assert.equal(seen.length, 0, 'a full queue is an outcome, not an internal error to log with its stack');
    service.inferImpl = async () => {
      throw new TypeError('secret /etc/path at foo.js:1:2');
    };
    const boom = await app.inject(postJson('/v2/models/simple/infer', body));
    assert.equal(boom.statusCode, 500);
    assert.deepEqual(boom.json(), { error: 'internal error' });
    assert.ok(seen.some((e) => e instanceof TypeError));
  });
});
