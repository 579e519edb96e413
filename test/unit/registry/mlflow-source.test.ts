// resolveMlflow against a fake MLflow server in-process: URI parsing, the ONNX flavor's file and
// its siblings, and what a hostile or broken server gets (huge or endless answers, deep trees,
// unsafe names, wrong sizes, silence): a clear InferError, bounded work, nothing registered.
// The real server is exercised by test/integration/registry-mlflow.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InferError, systemClock } from '../../../src/core/index.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { pushVersion } from '../../../src/registry/push.js';
import { type MlflowOptions, parseMlflowUri, resolveMlflow } from '../../../src/registry/sources/mlflow.js';
import type { Fetcher } from '../../../src/registry/sources/types.js';
import { openSqliteStore } from '../../../src/registry/sqlite.js';
import type { RegistryStore } from '../../../src/registry/types.js';

const API = '/api/2.0/mlflow';
const ART = '/api/2.0/mlflow-artifacts/artifacts';
const ROOT = '0/models/m-1/artifacts';
const MODEL = Buffer.from('not really onnx, but bytes with a checksum');
const MLMODEL = 'flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.23.2\n';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;
interface Fake {
  /** Artifacts under ROOT: path → content. */
  files?: Record<string, string | Buffer>;
  /** file_size to list instead of the real one. */
  sizes?: Record<string, number>;
  artifactUri?: string;
  /** Replaces the answer for a pathname (an API path, or `${ART}` for listings). */
  routes?: Record<string, Handler>;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infergate-mlflow-unit-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Starts a fake tracking server with one model 'm' (version 1, alias 'best'); answers its base host. */
async function fake(spec: Fake, t: { after(fn: () => unknown): void }): Promise<{ host: string; seen: string[] }> {
  const files = spec.files ?? { MLmodel: MLMODEL, 'model.onnx': MODEL, 'conda.yaml': 'x' };
  const seen: string[] = [];
  const mv = {
    name: 'm',
    version: '1',
    status: 'READY',
    run_id: 'r1',
    source: 'models:/m-1',
    tags: [{ key: 'k', value: 'v' }],
  };
  const routes: Record<string, Handler> = {
    [`${API}/registered-models/get`]: (_q, res, u) =>
      u.searchParams.get('name') === 'm'
        ? json(res, { registered_model: { name: 'm', latest_versions: [mv] } })
        : json(res, { error_code: 'RESOURCE_DOES_NOT_EXIST' }, 404),
    [`${API}/registered-models/alias`]: (_q, res, u) =>
      u.searchParams.get('alias') === 'best'
        ? json(res, { model_version: mv })
        : json(res, { error_code: 'INVALID_PARAMETER_VALUE' }, 400),
    [`${API}/model-versions/get`]: (_q, res, u) =>
      u.searchParams.get('version') === '1'
        ? json(res, { model_version: mv })
        : json(res, { error_code: 'RESOURCE_DOES_NOT_EXIST' }, 404),
    [`${API}/model-versions/get-download-uri`]: (_q, res) =>
      json(res, { artifact_uri: spec.artifactUri ?? `mlflow-artifacts:/${ROOT}` }),
    [`${API}/runs/get`]: (_q, res) =>
      json(res, {
        run: {
          data: {
            params: [{ key: 'lr', value: '0.1' }],
            metrics: [
              { key: 'acc', value: 0.9 },
              { key: 'bad', value: 'NaN' },
            ],
          },
        },
      }),
    [ART]: (_q, res, u) => {
      const prefix = (u.searchParams.get('path') ?? '').slice(ROOT.length + 1);
      const children = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
      for (const [p, body] of Object.entries(files)) {
        if (prefix && !p.startsWith(`${prefix}/`)) continue;
        const [head, ...rest] = (prefix ? p.slice(prefix.length + 1) : p).split('/');
        if (!head) continue;
        children.set(
          head,
          rest.length
            ? { path: head, is_dir: true }
            : { path: head, is_dir: false, file_size: spec.sizes?.[p] ?? Buffer.byteLength(body) },
        );
      }
      json(res, children.size ? { files: [...children.values()] } : {});
    },
    ...spec.routes,
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    seen.push(`${u.pathname}${u.search}`);
    const route = routes[u.pathname];
    if (route) return route(req, res, u);
    const body = u.pathname.startsWith(`${ART}/${ROOT}/`)
      ? files[decodeURIComponent(u.pathname.slice(ART.length + ROOT.length + 2))]
      : undefined;
    if (body === undefined) return json(res, { error_code: 'RESOURCE_DOES_NOT_EXIST' }, 404);
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function registry(): Promise<{ store: RegistryStore; artifacts: ArtifactStore; root: string }> {
  const root = await mkdtemp(join(dir, 'reg-'));
  return {
    store: await openSqliteStore(join(root, 'r.db'), systemClock),
    artifacts: new ArtifactStore(join(root, 'a')),
    root,
  };
}

async function rejects(p: Promise<unknown>, code: InferError['code'], message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InferError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const resolve = (uri: string, opts?: MlflowOptions) => resolveMlflow(uri, fetch, opts);

test('URI forms: latest, alias, version, https, IPv6, percent-encoded names', () => {
  assert.deepEqual(parseMlflowUri('mlflow://h:5000/m'), {
    base: 'http://h:5000',
    host: 'h:5000',
    scheme: 'mlflow',
    name: 'm',
  });
  assert.equal(parseMlflowUri('mlflow://h:5000/m@champion').alias, 'champion');
  assert.equal(parseMlflowUri('mlflow://h:5000/m/12').version, 12);
  assert.equal(parseMlflowUri('mlflows://h:8443/m').base, 'https://h:8443');
  assert.equal(parseMlflowUri('mlflow://[::1]:5000/m').host, '[::1]:5000');
  assert.equal(parseMlflowUri('mlflow://h:1/a%20b%40c%2Fd@x').name, 'a b@c/d');
});

test('malformed URIs are IG_ERR_INVALID_ARG naming the URI', async () => {
  for (const uri of [
    'mlflow://',
    'mlflow://host/',
    'mlflow://h:1/a/b/c',
    'mlflow://h:1/a/0',
    'mlflow://h:1/a/-1',
    'mlflow://h:1/a/01',
    'mlflow://h:1/a/',
    'mlflow://h:1/a@',
    'mlflow://h:1/a@b/1',
    'mlflow://h:1/a@b%20c',
    'mlflow://h:1/a?x=1',
    'mlflow://user:pw@h:1/a',
    'mlflow://h:99999/a',
    'mlflow://h\\x:1/a',
    'mlflow://h:1/%E0%A4%A',
    'mlflow://h:1/a%0Ab',
    `mlflow://h:1/${'n'.repeat(300)}`,
    'http://h:1/a',
  ])
    await rejects(resolve(uri), 'IG_ERR_INVALID_ARG', /not a valid MLflow source/);
});

test('the onnx flavor file becomes model.onnx with its external-data siblings; every call through the fetcher', async (t) => {
  const weights = Buffer.alloc(3000, 7);
  const { host, seen } = await fake(
    {
      files: {
        MLmodel: 'flavors:\n  onnx:\n    data: net/graph.onnx\n',
        'net/graph.onnx': MODEL,
        'net/graph.onnx.data': weights,
        'net/other.onnx': 'ignored',
        'net/requirements.txt': 'mlflow',
      },
    },
    t,
  );
  const calls: Array<{ url: string; auth?: string; signal: boolean }> = [];
  const fetcher: Fetcher = (url, init) => {
    calls.push({ url, auth: init?.headers?.authorization, signal: init?.signal !== undefined });
    return fetch(url, init);
  };
  const src = await resolveMlflow(`mlflow://${host}/m@best`, fetcher, { token: 's3cret' });
  assert.equal(src.uri, `mlflow://${host}/m/1`);
  assert.deepEqual(src.tags, { k: 'v' });
  assert.deepEqual(src.lineage?.mlflow, {
    trackingUri: `http://${host}`,
    name: 'm',
    version: '1',
    runId: 'r1',
    params: { lr: '0.1' },
    metrics: { acc: 0.9 },
    source: 'models:/m-1',
  });
  const { store, artifacts } = await registry();
  const v = await pushVersion(store, artifacts, src, { model: 'm' }, 'mlflow-import');
  assert.deepEqual(v.files, [
    { path: 'model.onnx', sha256: sha(MODEL), size: MODEL.length },
    { path: 'graph.onnx.data', sha256: sha(weights), size: weights.length },
  ]);
  assert.equal(calls.length, seen.length, 'no request bypassed the injected fetcher');
  assert.ok(calls.every((c) => c.auth === 'Bearer s3cret' && c.signal));
  await store.close();
});

test('no onnx flavor: the single .onnx artifact; none or several: IG_ERR_INVALID_ARG', async (t) => {
  const one = await fake({ files: { MLmodel: 'flavors:\n  sklearn: {}\n', 'deep/er/x.onnx': MODEL } }, t);
  const src = await resolve(`mlflow://${one.host}/m/1`);
  assert.deepEqual(
    src.files.map((f) => [f.path, f.size]),
    [['model.onnx', MODEL.length]],
  );
  const none = await fake({ files: { 'README.md': 'hi' } }, t);
  await rejects(resolve(`mlflow://${none.host}/m`), 'IG_ERR_INVALID_ARG', /has no ONNX model/);
  const two = await fake({ files: { 'a.onnx': MODEL, 'b/c.onnx': MODEL } }, t);
  await rejects(resolve(`mlflow://${two.host}/m`), 'IG_ERR_INVALID_ARG', /2 \.onnx artifacts/);
});

test('unknown model, alias, version: IG_ERR_NOT_FOUND naming it', async (t) => {
  const { host } = await fake({}, t);
  await rejects(resolve(`mlflow://${host}/nope`), 'IG_ERR_NOT_FOUND', /no registered model 'nope'/);
  await rejects(resolve(`mlflow://${host}/m@gone`), 'IG_ERR_NOT_FOUND', /model 'm' .* has no alias 'gone'/);
  await rejects(resolve(`mlflow://${host}/m/7`), 'IG_ERR_NOT_FOUND', /model 'm' .* has no version 7/);
});

test('a listed size that the download does not match: IG_ERR_CHECKSUM, nothing registered or left staged', async (t) => {
  for (const listed of [MODEL.length - 5, MODEL.length + 5]) {
    const { host } = await fake({ sizes: { 'model.onnx': listed } }, t);
    const { store, artifacts, root } = await registry();
    const src = await resolve(`mlflow://${host}/m`);
    await rejects(
      pushVersion(store, artifacts, src, { model: 'm' }, 'mlflow-import'),
      'IG_ERR_CHECKSUM',
      /model\.onnx/,
    );
    assert.deepEqual(await store.listModels(), []);
    assert.deepEqual(await readdir(join(root, 'a', 'tmp')).catch(() => []), []);
    assert.deepEqual(await readdir(join(root, 'a', 'blobs')).catch(() => []), []);
    await store.close();
  }
});

test('huge JSON answers are refused, declared or streamed', async (t) => {
  const big = `{"registered_model": {"name": "${'x'.repeat(5 * 1024 * 1024)}"}}`;
  const declared = await fake(
    { routes: { [`${API}/registered-models/get`]: (_q, res) => json(res, JSON.parse(big)) } },
    t,
  );
  await rejects(resolve(`mlflow://${declared.host}/m`), 'IG_ERR_INVALID_ARG', /over 4194304 bytes/);
  const streamed = await fake(
    {
      routes: {
        // Endless chunked JSON: must stop at the limit, not at the end.
        [`${API}/registered-models/get`]: (_q, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"registered_model": {"name": "');
          const chunk = 'x'.repeat(64 * 1024);
          const pump = () => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once('drain', pump);
          };
          pump();
        },
      },
    },
    t,
  );
  await rejects(resolve(`mlflow://${streamed.host}/m`), 'IG_ERR_INVALID_ARG', /over 4194304 bytes/);
});

test('endless or hostile artifact listings are bounded', async (t) => {
  const deep = await fake({ routes: { [ART]: (_q, res) => json(res, { files: [{ path: 'd', is_dir: true }] }) } }, t);
  await rejects(resolve(`mlflow://${deep.host}/m`), 'IG_ERR_INVALID_ARG', /deeper than 8/);
  const wide = await fake(
    {
      routes: {
        [ART]: (_q, res) => json(res, { files: Array.from({ length: 10_001 }, (_, i) => ({ path: `f${i}` })) }),
      },
    },
    t,
  );
  await rejects(resolve(`mlflow://${wide.host}/m`), 'IG_ERR_INVALID_ARG', /more than 10000 artifacts/);
  for (const path of ['..', '../../etc/passwd', 'a/b']) {
    const evil = await fake({ routes: { [ART]: (_q, res) => json(res, { files: [{ path, file_size: 1 }] }) } }, t);
    await rejects(resolve(`mlflow://${evil.host}/m`), 'IG_ERR_INVALID_ARG', /lists an artifact/);
  }
  const flavor = await fake({ files: { MLmodel: 'flavors:\n  onnx:\n    data: ../../x.onnx\n' } }, t);
  await rejects(resolve(`mlflow://${flavor.host}/m`), 'IG_ERR_INVALID_ARG', /not a relative file path/);
  const yaml = await fake({ files: { MLmodel: 'flavors: [unclosed' } }, t);
  await rejects(resolve(`mlflow://${yaml.host}/m`), 'IG_ERR_INVALID_ARG', /not valid YAML/);
});

test('artifacts the server does not serve, non-MLflow answers, server errors', async (t) => {
  const s3 = await fake({ artifactUri: 's3://bucket/models/m' }, t);
  await rejects(resolve(`mlflow://${s3.host}/m`), 'IG_ERR_INVALID_ARG', /served artifacts/);
  const html = await fake(
    { routes: { [`${API}/registered-models/get`]: (_q, res) => res.writeHead(200).end('<html>hi</html>') } },
    t,
  );
  await rejects(resolve(`mlflow://${html.host}/m`), 'IG_ERR_INVALID_ARG', /is it an MLflow server/);
  const down = await fake({ routes: { [`${API}/registered-models/get`]: (_q, res) => json(res, {}, 503) } }, t);
  await rejects(resolve(`mlflow://${down.host}/m`), 'IG_ERR_STORE_UNAVAILABLE', new RegExp(`${down.host}.*HTTP 503`));
  const auth = await fake({ routes: { [`${API}/registered-models/get`]: (_q, res) => json(res, {}, 401) } }, t);
  await rejects(resolve(`mlflow://${auth.host}/m`), 'IG_ERR_FORBIDDEN_SOURCE', /HTTP 401/);
});

test('a silent server: IG_ERR_STORE_UNAVAILABLE within the deadline, for calls and downloads', async (t) => {
  const mute = await fake({ routes: { [`${API}/registered-models/get`]: () => undefined } }, t);
  let started = Date.now();
  await rejects(resolve(`mlflow://${mute.host}/m`, { timeoutMs: 300 }), 'IG_ERR_STORE_UNAVAILABLE', /did not answer/);
  assert.ok(Date.now() - started < 3000);
  const stall = await fake(
    {
      files: { 'model.onnx': MODEL },
      routes: {
        [`${ART}/${ROOT}/model.onnx`]: (_q, res) => {
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).write(MODEL.subarray(0, 5));
        },
      },
    },
    t,
  );
  const src = await resolve(`mlflow://${stall.host}/m`, { timeoutMs: 300 });
  const { store, artifacts } = await registry();
  started = Date.now();
  await rejects(pushVersion(store, artifacts, src, { model: 'm' }, 'x'), 'IG_ERR_STORE_UNAVAILABLE', /stopped sending/);
  assert.ok(Date.now() - started < 3000);
  assert.deepEqual(await store.listModels(), []);
  await store.close();
});
