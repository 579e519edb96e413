// Registry control mode with real onnxruntime (embedded SQLite registry): aliases as versions on
// the wire, the default alias, an alias move under load with zero failed calls, the validation
// gate and force, compare-and-set conflicts, pins, and the admin API's bad-input answers.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { openSqliteStore } from '../../src/registry/sqlite.js';
import type { RegistryService } from '../../src/registry/service.js';
import type { RegistryStore } from '../../src/registry/types.js';
import { startServer } from '../../src/server/server.js';
import { addConstModel } from './models.js';
import {
  answer,
  api,
  cliService,
  loadLoop,
  pushConstVersions,
  startRegistryServer,
  stopLoads,
  until,
} from './registry-helpers.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
let store: RegistryStore;
let service: RegistryService;
let base: string;
let registryDir: string;

before(async () => {
  registryDir = mkdtempSync(join(tmpdir(), 'ig-registry-'));
  store = await openSqliteStore(join(registryDir, 'registry.db'), { now: () => performance.now(), wallMs: Date.now });
  service = cliService(store, join(registryDir, 'artifacts'));
  await pushConstVersions(service, 'm', 3);
  await service.setAlias({ model: 'm', alias: 'production', version: 1 }, 'test');
  await service.setAlias({ model: 'm', alias: 'staging', version: 2 }, 'test');
  s = await startRegistryServer(registryDir);
  base = `http://${s.httpAddress}`;
});
afterEach(stopLoads);
after(async () => {
  await s?.close();
  await store?.close();
});

describe('registry control mode', () => {
  test('serves what the aliases name: alias, number and default on HTTP and gRPC', async () => {
    assert.equal(await answer(s.http, 'm', 'production'), 1);
    assert.equal(await answer(s.http, 'm', 'staging'), 2);
    assert.equal(await answer(s.http, 'm', '2'), 2);
    assert.equal(await answer(s.http, 'm'), 1, 'no version: the production alias');
    const g = await s.grpc.infer('m', [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }], {
      version: 'staging',
    });
    assert.equal((g.outputs[0]!.data as Float32Array)[0], 2);
    assert.equal(g.version, '2', 'the answer names the concrete version');
    // Version 3 is registered but nothing names it: not loaded.
    await assert.rejects(answer(s.http, 'm', '3'), /version 3/);
    assert.equal(await s.http.status('/v2/models/m/versions/production/ready'), 200);
    const meta = (await s.http.json('GET', '/v2/models/m/versions/staging')) as { versions: string[] };
    assert.deepEqual(meta.versions, ['2']);
  });

  test('unknown aliases and models are 404s naming them', async () => {
    await assert.rejects(answer(s.http, 'm', 'canary'), (e: Error) => /no alias 'canary'/.test(e.message));
    await assert.rejects(answer(s.http, 'ghost', 'production'), /ghost/);
    const r = await api(base, 'GET', '/v2/registry/models/m/versions/canary');
    assert.equal(r.status, 404);
    assert.match(r.body.error, /no alias 'canary'/);
  });

  test('an alias move under load: switched within the poll, zero failed calls', async () => {
    const load = loadLoop([() => answer(s.http, 'm', 'production'), () => answer(s.http, 'm')], 4);
    await new Promise((r) => setTimeout(r, 300));
    const moved = await api(base, 'PUT', '/v2/registry/models/m/aliases/production', {
      version: 2,
      expected: 1,
      reason: 'v2 passed its gate',
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const ms = await until(async () => (await answer(s.http, 'm', 'production')) === 2, 3000, 'production → v2');
    await new Promise((r) => setTimeout(r, 500));
    await load.stop();
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.total()} calls failed`);
    assert.ok(load.seen.get(1)! > 0 && load.seen.get(2)! > 0, JSON.stringify([...load.seen]));
    assert.ok(ms < 2000, `switch took ${ms} ms`);
    // v1 is no longer named by anything: retired.
    await until(async () => (await s.http.status('/v2/models/m/versions/1/ready')) !== 200, 3000, 'v1 unloaded');
  });

  test('the gate: an unvalidated version may not take production; force overrides and is audited', async () => {
    const v4 = await service.push(
      (() => {
        const d = join(mkdtempSync(join(tmpdir(), 'ig-src-')), 'm');
        mkdirSync(join(d, '1'), { recursive: true });
        writeFileSync(join(d, '1', 'model.onnx'), addConstModel(4));
        return d;
      })(),
      { model: 'm' },
      'test',
    );
    assert.equal(v4.version, 4);
    const refused = await api(base, 'POST', '/v2/registry/models/m/versions/4/promote', {});
    assert.equal(refused.status, 409);
    assert.match(refused.body.error, /has not been validated/);
    const forced = await api(base, 'POST', '/v2/registry/models/m/versions/4/promote', {
      force: true,
      reason: 'hotfix',
    });
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
    await until(async () => (await answer(s.http, 'm')) === 4, 3000, 'default → v4');
    const history = await api(base, 'GET', '/v2/registry/models/m/history');
    const last = history.body.history.at(-1);
    assert.equal(last.after.version, 4);
    assert.match(last.reason, /forced past the gate: .*not been validated.*hotfix/);
    assert.equal(last.actor, 'admin-api:local', 'no auth configured: the loopback caller');
  });

  test('compare-and-set: the loser gets 409 with the current target', async () => {
    const r = await api(base, 'PUT', '/v2/registry/models/m/aliases/staging', { version: 3, expected: 1 });
    assert.equal(r.status, 409);
    assert.match(r.body.error, /names version 2, not 1/);
  });

  test('a pinned version is served without an alias', async () => {
    const r = await api(base, 'PATCH', '/v2/registry/models/m/versions/3', { pinned: true });
    assert.equal(r.status, 200);
    assert.equal(r.body.pinned, true);
    await until(async () => (await answer(s.http, 'm', '3').catch(() => 0)) === 3, 5000, 'pinned v3 served');
  });

  test('the repository load API is refused in registry mode', async () => {
    const r = await api(base, 'POST', '/v2/repository/models/m/load', {});
    assert.equal(r.status, 503);
    assert.match(r.body.error, /registry control mode/);
  });

  test('admin API bad input: names, bodies, traversal', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['PUT', '/v2/registry/models/m/aliases/production', { version: 'x/..' }, 400, /alias/],
      ['PUT', '/v2/registry/models/m/aliases/production', {}, 400, /'version' is required/],
      ['PUT', '/v2/registry/models/m/aliases/production', { version: 2, expected: 'one' }, 400, /expected/],
      ['PUT', '/v2/registry/models/m/aliases/production', { version: 99 }, 404, /no version 99/],
      ['PUT', '/v2/registry/models/m/aliases/1bad', { version: 2 }, 400, /alias '1bad' is not valid/],
      ['PATCH', '/v2/registry/models/m/versions/3', { tags: { a: 1 } }, 400, /'tags.a' must be a string/],
      ['GET', '/v2/registry/models/..%2fetc', undefined, 400, /model name/],
      // A client's URL parser resolves %2e%2e as '..' before sending: the path that arrives matches no route.
      ['GET', '/v2/registry/models/%2e%2e/history', undefined, 404, /Not Found/],
      ['GET', '/v2/registry/models/a%5cb', undefined, 400, /model name/],
      ['GET', '/v2/registry/models/x%00', undefined, 400, /model name/],
      ['GET', `/v2/registry/models/${'x'.repeat(4096)}`, undefined, 400, /model name/],
      ['GET', '/v2/registry/models/nope', undefined, 404, /'nope' is not in the registry/],
      ['GET', '/v2/registry/audit?limit=x', undefined, 400, /limit/],
      ['POST', '/v2/registry/models', { source: 'file:///etc/passwd', model: 'x' }, 403, /local paths/],
      ['POST', '/v2/registry/models', { source: '/etc/passwd', model: 'x' }, 403, /local paths/],
      ['POST', '/v2/registry/models', {}, 400, /'source' is required/],
    ];
    for (const [method, path, body, status, text] of cases) {
      const r = await api(base, method as 'GET', path, body);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.error, text, `${method} ${path}`);
      assert.doesNotMatch(r.body.error, /\/tmp\/|at .*\.ts:/, 'no paths or stacks');
    }
  });

  test('audit and verify over the API', async () => {
    const audit = await api(base, 'GET', '/v2/registry/audit?model=m');
    assert.ok(audit.body.audit.length > 5);
    const verify = await api(base, 'POST', '/v2/registry/verify');
    assert.equal(verify.body.ok, true);
    const status = await api(base, 'GET', '/v2/registry');
    assert.match(status.body.location, /^sqlite:/);
    assert.equal(status.body.serving.storeAvailable, true);
  });
});

test('the registry API answers 501 naming the flag when no registry is configured', async () => {
  const plain = await startTestServer({ repository: mkdtempSync(join(tmpdir(), 'ig-plain-')) });
  try {
    const r = await api(`http://${plain.httpAddress}`, 'GET', '/v2/registry/models');
    assert.equal(r.status, 501);
    assert.match(r.body.error, /--registry/);
  } finally {
    await plain.close();
  }
});

test('registry mode refuses a repository folder holding models it did not write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-foreign-'));
  mkdirSync(join(dir, 'hand-made', '1'), { recursive: true });
  await assert.rejects(
    startServer({
      repository: dir,
      controlMode: 'registry',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      logLevel: 'silent',
    }),
    /already holds hand-made/,
  );
});
