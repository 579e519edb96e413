// A locked server through the front door (reliability.md S13, S17-S19, S22): API keys with
// scopes and tenants over HTTP and gRPC, 401/403/404/429 with clean bodies, the rate limit, the
// load API's file payloads off, methods and CORS, the audit trail and its verification.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { status as GrpcCode } from '@grpc/grpc-js';
import { request } from 'undici';
import { ApiKeyStore } from '../../src/auth/api-keys.js';
import { UNAUTHENTICATED_TEXT } from '../../src/auth/gatekeeper.js';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { HttpClient } from '../../src/client/http-client.js';
import { RepositoryModelUnloadRequestSchema } from '../../src/gen/grpc_service_pb.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-auth-e2e-'));
const keys = new ApiKeyStore(join(dir, 'keys.json'));
const auditFile = join(dir, 'audit.jsonl');
const K = {
  admin: keys.create({ name: 'ops', scopes: ['admin', 'read', 'infer'] }),
  acme: keys.create({ name: 'acme app', scopes: ['infer', 'read'], tenant: 'acme' }),
  inferOnly: keys.create({ name: 'batch', scopes: ['infer'] }),
  limited: keys.create({ name: 'trial', scopes: ['infer'], rateLimit: { rate: 1, burst: 2 } }),
};
const X = [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) }];

let s: TestServer;
let base: string;
before(async () => {
  const repo = tempRepo();
  const cfg = 'max_batch_size: 8\ninstance_group [{ count: 1 }]\n';
  for (const [name, c] of [
    ['acme-churn', 1],
    ['globex-fraud', 2],
  ] as const)
    addModel(repo, name, 1, addConstModel(c), cfg);
  writeFileSync(
    join(dir, 'auth.yaml'),
    `mode: required\napi_keys: keys.json\naudit_log: audit.jsonl\ntenants:\n  acme: { models: ["acme-*"] }\n`,
  );
  s = await startTestServer({
    repository: repo,
    controlMode: 'explicit',
    loadModels: ['*'],
    authConfig: join(dir, 'auth.yaml'),
  });
  base = `http://${s.httpAddress}`;
});
after(() => s?.close());

const http = (key?: string) => new HttpClient(base, { headers: key ? { 'x-api-key': key } : {} });
const grpc = (key?: string) =>
  new GrpcClient(s.grpcAddress, { metadata: key ? { authorization: `Bearer ${key}` } : {} });

async function call(method: string, path: string, key?: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: {
      ...(key ? { 'x-api-key': key } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    json: text ? (JSON.parse(text) as { error?: string }) : undefined,
  };
}

function clean(text: string): void {
  assert.doesNotMatch(text, /at .*:\d+:\d+|\/tmp\/|node_modules|igk_[a-z2-7]{8}_[A-Za-z0-9_-]{10}/, `leaks: ${text}`);
}

describe('a locked server', () => {
  test('health stays open; everything else needs credentials (one identical 401)', async () => {
    assert.equal((await call('GET', '/v2/health/live')).status, 200);
    assert.equal((await call('GET', '/v2/health/ready')).status, 200);
    const bodies = new Set<string>();
    for (const [m, p, key] of [
      ['GET', '/v2', undefined],
      ['GET', '/v2/models/acme-churn', undefined],
      ['POST', '/v2/models/acme-churn/infer', undefined],
      ['POST', '/v2/repository/index', 'igk_aaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['GET', '/v2/models/stats', `${K.acme.key}x`],
    ] as const) {
      const r = await call(m, p, key, m === 'POST' ? {} : undefined);
      assert.equal(r.status, 401, `${m} ${p}`);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      bodies.add(r.text);
      clean(r.text);
    }
    assert.deepEqual([...bodies], [JSON.stringify({ error: UNAUTHENTICATED_TEXT })]);
    await assert.rejects(grpc().infer('acme-churn', X), (e: { code?: number }) => e.code === GrpcCode.UNAUTHENTICATED);
  });

  test("a tenant sees and infers on its own models only; another tenant's is 404 like a missing one", async () => {
    const acme = http(K.acme.key);
    const r = await acme.infer('acme-churn', X);
    assert.equal((r.outputs[0]!.data as Float32Array)[0], 1);
    const theirs = await call('POST', '/v2/models/globex-fraud/infer', K.acme.key, { inputs: [] });
    const missing = await call('POST', '/v2/models/no-such-model/infer', K.acme.key, { inputs: [] });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.text.replace('globex-fraud', 'M'), missing.text.replace('no-such-model', 'M'));
    assert.equal((await call('GET', '/v2/models/globex-fraud', K.acme.key)).status, 404);
    const index = (await call('POST', '/v2/repository/index', K.acme.key, {})).json as unknown as Array<{
      name: string;
    }>;
    assert.deepEqual(
      index.map((m) => m.name),
      ['acme-churn'],
    );
    await assert.rejects(
      grpc(K.acme.key).infer('globex-fraud', X),
      (e: { code?: number }) => e.code === GrpcCode.NOT_FOUND,
    );
    const g = await grpc(K.acme.key).infer('acme-churn', X);
    assert.equal((g.outputs[0]!.data as Float32Array)[0], 1);
  });

  test('an infer-only key: 403 naming the scope on reads and on the control surface (HTTP and gRPC)', async () => {
    const read = await call('POST', '/v2/repository/index', K.inferOnly.key, {});
    assert.equal(read.status, 403);
    assert.match(read.text, /the 'read' scope is required/);
    const load = await call('POST', '/v2/repository/models/acme-churn/unload', K.inferOnly.key, {});
    assert.equal(load.status, 403);
    assert.match(load.text, /the 'admin' scope is required/);
    clean(load.text);
    await assert.rejects(
      grpc(K.inferOnly.key).call(
        'repositoryModelUnload',
        create(RepositoryModelUnloadRequestSchema, { modelName: 'acme-churn' }),
      ),
      (e: { code?: number }) => e.code === GrpcCode.PERMISSION_DENIED,
    );
    await http(K.inferOnly.key).infer('globex-fraud', X);
  });

  test("the admin key runs the control surface; the load API's file payloads are off", async () => {
    assert.equal((await call('POST', '/v2/repository/models/globex-fraud/load', K.admin.key, {})).status, 200);
    const files = await call('POST', '/v2/repository/models/injected/load', K.admin.key, {
      parameters: { config: '{}', 'file:1/model.onnx': Buffer.from('x').toString('base64') },
    });
    assert.equal(files.status, 403);
    assert.match(files.text, /--allow-load-files/);
  });

  test('a principal over its rate limit gets 429 with Retry-After (gRPC RESOURCE_EXHAUSTED)', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++)
      answers.push(
        await call('POST', '/v2/models/acme-churn/infer', K.limited.key, {
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] }],
        }),
      );
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length >= 3, answers.map((a) => a.status).join(','));
    assert.ok(Number(limited[0]!.headers['retry-after']) >= 1);
    assert.match(limited[0]!.text, /^\{"error":"rate limit exceeded: retry in \d+ s"\}$/);
    await assert.rejects(
      grpc(K.limited.key).infer('acme-churn', X),
      (e: { code?: number }) => e.code === GrpcCode.RESOURCE_EXHAUSTED,
    );
    // Other principals are not affected.
    await http(K.inferOnly.key).infer('acme-churn', X);
  });

  test('methods and CORS: TRACE/PUT/DELETE on infer are 405; no allow-origin for an unknown origin', async () => {
    for (const m of ['PUT', 'DELETE', 'TRACE'])
      assert.equal((await call(m, '/v2/models/acme-churn/infer', K.admin.key)).status, 405, m);
    const pre = await call('OPTIONS', '/v2/models/acme-churn/infer', undefined, undefined, {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assert.equal(pre.headers['x-powered-by'], undefined);
  });

  test('the audit trail records refusals and admin actions, and verify catches an edited line', async () => {
    await new Promise((r) => setTimeout(r, 100));
    const rows = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const denied = rows.filter((r) => r.action === 'security.denied');
    const admin = rows.filter((r) => r.action === 'security.admin');
    assert.ok(denied.some((r) => r.reason === 'no credentials' && r.after.remoteAddress));
    assert.ok(denied.some((r) => r.actor === `key:${K.inferOnly.record.prefix}` && r.reason === 'missing scope admin'));
    assert.ok(
      admin.some(
        (r) => r.actor === `key:${K.admin.record.prefix}` && r.model === 'globex-fraud' && r.after.outcome === '200',
      ),
    );
    assert.ok(
      !readFileSync(auditFile, 'utf8').includes(K.admin.key.split('_').slice(2).join('_')),
      'no secret in the trail',
    );
    const run = promisify(execFile);
    const cli = (f: string) =>
      run(process.execPath, [resolve('bin/infergate.js'), 'audit', 'verify', '--file', f]).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    const copy = join(dir, 'copy.jsonl');
    writeFileSync(copy, readFileSync(auditFile));
    writeFileSync(`${copy}.head`, readFileSync(`${auditFile}.head`));
    const ok = await cli(copy);
    assert.equal(ok.code, 0, ok.out);
    writeFileSync(copy, readFileSync(copy, 'utf8').replace(`"key:${K.admin.record.prefix}"`, '"key:mallory1"'));
    const bad = await cli(copy);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /content does not match its hash \(edited\)/);
  });
});

describe('auth off (the default)', () => {
  test('listeners are on loopback only; the control surface answers loopback callers', async () => {
    const local = await startTestServer({ repository: tempRepo() });
    try {
      const ports = [local.server.httpPort, local.server.grpcPort, local.server.metricsPort];
      const ss = await promisify(execFile)('ss', ['-ltnH']).catch(() => undefined);
      if (ss) {
        const ours = ss.stdout.split('\n').filter((l) => ports.some((p) => l.includes(`:${p} `)));
        assert.equal(ours.length, 3, ss.stdout);
        for (const l of ours) assert.match(l, /127\.0\.0\.1:\d+/, l);
      }
      const index = await request(`http://${local.httpAddress}/v2/repository/index`, { method: 'POST' });
      assert.equal(index.statusCode, 200);
      await index.body.dump();
    } finally {
      await local.close();
    }
  });
});
