// Import from a real MLflow 3.17.2 tracking server (started once per run by scripts/run-tests.mjs,
// or by this file alone): MLflow's own Python client logs and registers ONNX models, resolveMlflow
// + pushVersion import them into a SQLite registry over MLflow's REST API, and the real server
// serves what was imported, answering what onnxruntime in MLflow's venv computed. The last test
// goes through the CLI (`registry import`, `registry show`) and a server in registry control mode.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { HttpClient } from '../../src/client/http-client.js';
import { InferError, systemClock, type Tensor } from '../../src/core/index.js';
import { layoutModel } from '../../src/manager/layout.js';
import { ArtifactStore } from '../../src/registry/artifacts.js';
import { pushVersion } from '../../src/registry/push.js';
import { resolveMlflow } from '../../src/registry/sources/mlflow.js';
import { openSqliteStore } from '../../src/registry/sqlite.js';
import type { AliasRecord, RegistryStore, VersionRecord } from '../../src/registry/types.js';
import { startServer } from '../../src/server/server.js';
import { testMlflow } from '../services/mlflow.js';

const BIN = resolve('bin/infergate.js');
const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });

const ROWS = [
  [0.1, 0.2, 0.3, 0.4],
  [-1, 0, 1, 2],
  [3, -2, 0.5, 0],
  [0, 0, 0, 0],
];

interface Logged {
  name: string;
  versions: Record<
    string,
    { run_id: string; source: string; files: Record<string, { sha256: string; size: number }>; probs: number[][] }
  >;
  plain: { name: string; sha256: string; size: number };
}

const mlflow = await testMlflow();
const skip = typeof mlflow === 'string' ? mlflow : false;
const host = typeof mlflow === 'string' ? '' : new URL(mlflow.url).host;
// Unique per run: the runner's server is shared by every MLflow test file.
const name = `mlp-${randomBytes(3).toString('hex')}`;
const odd = `${name} #2 & 50%+?@x`;
let logged: Logged;
let dir: string;
let store: RegistryStore;
let artifacts: ArtifactStore;

before(async () => {
  if (typeof mlflow === 'string') return;
  dir = await mkdtemp(join(tmpdir(), 'infergate-mlflow-test-'));
  store = await openSqliteStore(join(dir, 'registry.db'), systemClock);
  artifacts = new ArtifactStore(join(dir, 'artifacts'));
  const { stdout } = await promisify(execFile)(
    mlflow.python,
    ['test/services/mlflow_log_onnx.py', name, odd, JSON.stringify(ROWS)],
    {
      env: { ...process.env, MLFLOW_TRACKING_URI: mlflow.url, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
    },
  );
  // MLflow's client prints run links on stdout too; the script's JSON is the last line.
  logged = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
});

after(async () => {
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Checks a `probs` output against what onnxruntime in the MLflow venv computed for `version`. */
function assertProbs(outputs: Tensor[], version: string): void {
  const probs = outputs.find((o) => o.name === 'probs');
  assert.ok(probs, 'probs output');
  assert.deepEqual(probs.shape, [ROWS.length, 3]);
  const want = logged.versions[version]?.probs.flat() ?? [];
  const got = Array.from(probs.data as Float32Array);
  assert.equal(got.length, want.length);
  for (const [i, g] of got.entries())
    assert.ok(Math.abs(g - (want[i] ?? Number.NaN)) <= 1e-5, `v${version}[${i}]: ${g} vs ${want[i]}`);
}

function shas(v: VersionRecord): Record<string, string> {
  return Object.fromEntries(v.files.map((f) => [f.path, f.sha256]));
}

/** What MLflow's client read back for a version, with model.onnx as its onnx file. */
function expectedShas(version: string): Record<string, string> {
  const files = logged.versions[version]?.files ?? {};
  const keep = Object.entries(files).filter(([p]) => p === 'model.onnx' || p.endsWith('.data'));
  assert.equal(keep.length, 2, 'the logged model has model.onnx and one external-data file');
  return Object.fromEntries(keep.map(([p, f]) => [p, f.sha256]));
}

async function rejectsWith(uri: string, code: InferError['code'], message: RegExp): Promise<void> {
  await assert.rejects(resolveMlflow(uri, fetch), (err: unknown) => {
    assert.ok(err instanceof InferError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n\s+at /, 'no stack in the message');
    return true;
  });
}

test('imports by alias and by version: checksums, lineage, tags', { skip }, async () => {
  const champion = await resolveMlflow(`mlflow://${host}/${name}@champion`, fetch);
  assert.equal(champion.suggestedName, name);
  const v1 = await pushVersion(store, artifacts, champion, { model: name }, 'mlflow-import');
  assert.equal(v1.version, 1);
  assert.equal(v1.sourceUri, `mlflow://${host}/${name}/1`);
  assert.equal(v1.format, 'onnx');
  assert.deepEqual(shas(v1), expectedShas('1'));
  assert.deepEqual(v1.lineage.mlflow, {
    trackingUri: `http://${host}`,
    name,
    version: '1',
    runId: logged.versions['1']?.run_id,
    params: { hidden: '64', seed: '1', optimizer: 'adam' },
    metrics: { acc: 0.91, loss: 0.25 },
    source: logged.versions['1']?.source,
  });
  assert.deepEqual(v1.tags, { format: 'onnx', owner: 'team-a' });
  assert.ok(await Promise.all(v1.files.map((f) => artifacts.verify(f))).then((ok) => ok.every(Boolean)));

  const byNumber = await resolveMlflow(`mlflow://${host}/${name}/2`, fetch);
  const v2 = await pushVersion(store, artifacts, byNumber, { model: name }, 'mlflow-import');
  assert.equal(v2.version, 2);
  assert.deepEqual(shas(v2), expectedShas('2'));
  assert.equal(v2.lineage.mlflow?.runId, logged.versions['2']?.run_id);
  assert.deepEqual(v2.lineage.mlflow?.metrics, { acc: 0.93, loss: 0.25 });
  assert.deepEqual(v2.tags, {});

  // No alias or version: the newest one.
  assert.equal((await resolveMlflow(`mlflow://${host}/${name}`, fetch)).uri, `mlflow://${host}/${name}/2`);
  assert.deepEqual(
    (await store.audit({ model: name })).map((a) => a.action),
    ['model.create', 'version.register', 'version.register'],
  );
});

test('a name that needs URL-encoding; a bare .onnx artifact without MLmodel', { skip }, async () => {
  const encoded = encodeURIComponent(odd);
  const src = await resolveMlflow(`mlflow://${host}/${encoded}`, fetch);
  assert.equal(src.uri, `mlflow://${host}/${encoded}/1`);
  assert.equal(src.lineage?.mlflow?.name, odd);
  assert.equal(src.suggestedName, undefined, 'not a valid registry name: the caller must choose one');
  const rec = await pushVersion(store, artifacts, src, { model: `${name}-odd` }, 'mlflow-import');
  assert.deepEqual(shas(rec), expectedShas('1'));

  const plain = await resolveMlflow(`mlflow://${host}/${logged.plain.name}/1`, fetch);
  const p = await pushVersion(store, artifacts, plain, { model: logged.plain.name }, 'mlflow-import');
  assert.deepEqual(p.files, [{ path: 'model.onnx', sha256: logged.plain.sha256, size: logged.plain.size }]);
  await rejectsWith(`mlflow://${host}/${logged.plain.name}/2`, 'IG_ERR_INVALID_ARG', /has no ONNX model/);
  assert.equal((await store.listVersions(logged.plain.name)).length, 1);
});

test('serves the imported versions; outputs match onnxruntime in the MLflow venv', { skip }, async () => {
  const versions = await store.listVersions(name);
  assert.equal(versions.length, 2, 'the import test ran first');
  const repository = join(dir, 'repository');
  // One model directory per imported version: a default version policy serves only the newest.
  for (const v of versions) await layoutModel(artifacts, repository, `${name}-v${v.version}`, [v]);
  const server = await startServer({
    repository,
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    logLevel: 'silent',
    drainSeconds: 0,
  });
  const http = new HttpClient(`http://127.0.0.1:${server.httpPort}`);
  try {
    for (const v of versions) {
      const res = await http.infer(`${name}-v${v.version}`, [
        { name: 'x', datatype: 'FP32', shape: [ROWS.length, 4], data: Float32Array.from(ROWS.flat()) },
      ]);
      assertProbs(res.outputs, String(v.version));
    }
  } finally {
    await http.close();
    await server.stop();
  }
});

test('unknown model, alias, version: IG_ERR_NOT_FOUND naming it; malformed URIs; nothing registered', {
  skip,
}, async () => {
  const empty = await openSqliteStore(join(dir, 'empty.db'), systemClock);
  const blobs = new ArtifactStore(join(dir, 'empty-artifacts'));
  try {
    await rejectsWith(
      `mlflow://${host}/${name}-nope`,
      'IG_ERR_NOT_FOUND',
      new RegExp(`no registered model '${name}-nope'`),
    );
    await rejectsWith(`mlflow://${host}/${name}@nope`, 'IG_ERR_NOT_FOUND', /has no alias 'nope'/);
    await rejectsWith(`mlflow://${host}/${name}/99`, 'IG_ERR_NOT_FOUND', /has no version 99/);
    for (const bad of ['mlflow://', 'mlflow://host/', 'mlflow://h:1/a/b/c', `mlflow://${host}/${name}/0`])
      await rejectsWith(bad, 'IG_ERR_INVALID_ARG', /not a valid MLflow source/);
    await rejectsWith(`mlflow://${host}/${name}/-1`, 'IG_ERR_INVALID_ARG', /version '-1' is not a positive integer/);
    assert.deepEqual(await empty.listModels(), []);
    assert.deepEqual(await readdir(blobs.dir).catch(() => []), []);
  } finally {
    await empty.close();
  }
});

test('a server that is down: IG_ERR_STORE_UNAVAILABLE naming the host, quickly', { skip }, async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const started = Date.now();
  await rejectsWith(
    `mlflow://127.0.0.1:${port}/${name}`,
    'IG_ERR_STORE_UNAVAILABLE',
    new RegExp(`127\\.0\\.0\\.1:${port}`),
  );
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

test('end to end: `registry import` and `registry show` on the CLI, served in registry control mode', {
  skip,
}, async () => {
  const registry = await mkdtemp(join(dir, 'cli-registry-'));
  const imported = await cli(
    'registry',
    'import',
    `mlflow://${host}/${name}@champion`,
    '--registry',
    registry,
    '--alias',
    'staging',
    '--json',
  );
  const record = JSON.parse(imported.stdout) as VersionRecord & { alias?: AliasRecord };
  assert.equal(record.model, name);
  assert.equal(record.version, 1);
  assert.equal(record.sourceUri, `mlflow://${host}/${name}/1`);
  assert.equal(record.lineage.mlflow?.runId, logged.versions['1']?.run_id);
  assert.equal(record.alias?.alias, 'staging');
  assert.equal(record.alias?.version, 1);

  const shown = JSON.parse((await cli('registry', 'show', name, '--registry', registry, '--json')).stdout) as {
    versions: VersionRecord[];
    aliases: AliasRecord[];
  };
  assert.deepEqual(
    shown.versions.map((v) => v.version),
    [1],
  );
  assert.deepEqual(shas(shown.versions[0] as VersionRecord), expectedShas('1'));
  assert.deepEqual(
    shown.aliases.map((a) => [a.alias, a.version]),
    [['staging', 1]],
  );

  const server = await startServer({
    repository: await mkdtemp(join(dir, 'serving-')),
    controlMode: 'registry',
    registry,
    registryPollSeconds: 0.2,
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    logLevel: 'silent',
    drainSeconds: 0,
  });
  const http = new HttpClient(`http://127.0.0.1:${server.httpPort}`);
  try {
    const res = await http.infer(
      name,
      [{ name: 'x', datatype: 'FP32', shape: [ROWS.length, 4], data: Float32Array.from(ROWS.flat()) }],
      { version: 'staging' },
    );
    assert.equal(res.version, '1', 'the answer names the concrete version, not the alias');
    assertProbs(res.outputs, '1');
  } finally {
    await http.close();
    await server.stop();
  }
});
