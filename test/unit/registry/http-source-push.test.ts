// resolveHttp + pushVersion into a real SQLite store and artifact store: a version exists only if
// every byte arrived and matched its declared checksum; otherwise nothing at all is left behind.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { InferError, systemClock } from '../../../src/core/index.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { pushVersion } from '../../../src/registry/push.js';
import { createPolicedFetch, DEFAULT_FETCH_POLICY, resolveHttp } from '../../../src/registry/sources/http.js';
import type { Fetcher } from '../../../src/registry/sources/types.js';
import { openSqliteStore } from '../../../src/registry/sqlite.js';
import type { RegistryStore } from '../../../src/registry/types.js';
import { closeAll, MODEL, MODEL_SHA, startFileServer } from './http-source-fixtures.js';

/** Every file under a directory, relative (an empty list means nothing was left behind). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
}

describe('resolveHttp + pushVersion', () => {
  let files: Awaited<ReturnType<typeof startFileServer>>;
  let base = '';
  let fetch: Fetcher;
  let dir = '';
  let store: RegistryStore & { close(): Promise<void> };
  let artifacts: ArtifactStore;

  before(async () => {
    files = await startFileServer();
    base = `http://127.0.0.1:${files.port}`;
    fetch = createPolicedFetch({
      ...DEFAULT_FETCH_POLICY,
      allowHttp: true,
      allowHosts: [`127.0.0.1:${files.port}`],
      timeoutMs: 5000,
    });
  });
  after(() => closeAll(files.server));
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ig-http-push-'));
    store = await openSqliteStore(join(dir, 'registry.db'), systemClock);
    artifacts = new ArtifactStore(join(dir, 'artifacts'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function assertNothingRegistered() {
    assert.deepEqual(await store.listModels(), []);
    assert.deepEqual(filesUnder(join(dir, 'artifacts')), []);
  }

  test('a matching #sha256= registers the version; the recorded URI keeps no query or fragment', async () => {
    const source = await resolveHttp(`${base}/digits.onnx?token=s3cr3t#sha256=${MODEL_SHA.toUpperCase()}`, fetch);
    assert.equal(source.uri, `${base}/digits.onnx`);
    assert.equal(source.suggestedName, 'digits');
    assert.equal(source.files.length, 1);
    assert.deepEqual(
      { path: source.files[0]?.path, size: source.files[0]?.size, sha256: source.files[0]?.sha256 },
      { path: 'model.onnx', size: MODEL.length, sha256: MODEL_SHA },
    );
    const v = await pushVersion(store, artifacts, source, { model: 'digits' }, 'test');
    assert.equal(v.version, 1);
    assert.equal(v.sourceUri, `${base}/digits.onnx`);
    assert.deepEqual(v.files, [{ path: 'model.onnx', sha256: MODEL_SHA, size: MODEL.length }]);
    assert.ok(await artifacts.has(MODEL_SHA));
    assert.ok(await artifacts.verify(v.files[0]!));
    assert.deepEqual(filesUnder(join(dir, 'artifacts', 'tmp')), []);
  });

  test('the sha256 option works like the fragment; both must agree', async () => {
    const source = await resolveHttp(`${base}/blob`, fetch, { sha256: MODEL_SHA });
    assert.equal(source.files[0]?.sha256, MODEL_SHA);
    assert.equal(source.suggestedName, undefined);
    const other = '0'.repeat(64);
    await assert.rejects(resolveHttp(`${base}/digits.onnx#sha256=${other}`, fetch, { sha256: MODEL_SHA }), {
      code: 'IG_ERR_INVALID_ARG',
    });
    await assert.rejects(resolveHttp(`${base}/digits.onnx#sha256=xyz`, fetch), { code: 'IG_ERR_INVALID_ARG' });
  });

  test('not an .onnx path and not octet-stream: refused', async () => {
    await assert.rejects(resolveHttp(`${base}/page`, fetch), {
      code: 'IG_ERR_INVALID_ARG',
      message: /not an \.onnx model.*'text\/html'/,
    });
  });

  test('the policy applies to resolveHttp too', async () => {
    await assert.rejects(resolveHttp('http://169.254.169.254/latest/meta-data/model.onnx', fetch), {
      code: 'IG_ERR_FORBIDDEN_SOURCE',
    });
    await assert.rejects(resolveHttp(`${base}/missing.onnx`, fetch), { code: 'IG_ERR_NOT_FOUND' });
  });

  test('a mismatching #sha256= is refused with IG_ERR_CHECKSUM and nothing is registered', async () => {
    const wrong = 'ab'.repeat(32);
    const source = await resolveHttp(`${base}/digits.onnx#sha256=${wrong}`, fetch);
    await assert.rejects(pushVersion(store, artifacts, source, { model: 'digits' }, 'test'), (err: unknown) => {
      assert.ok(err instanceof InferError);
      assert.equal(err.code, 'IG_ERR_CHECKSUM');
      assert.match(err.message, /nothing was registered/);
      return true;
    });
    await assertNothingRegistered();
    assert.equal(await artifacts.has(MODEL_SHA), false);
  });

  test('a server that closes the connection halfway through the body: error, nothing registered', async () => {
    const source = await resolveHttp(`${base}/truncated.onnx`, fetch);
    assert.equal(source.files[0]?.size, MODEL.length);
    await assert.rejects(pushVersion(store, artifacts, source, { model: 'digits' }, 'test'), (err: unknown) => {
      assert.ok(err instanceof InferError, String(err));
      assert.equal(err.code, 'IG_ERR_STORE_UNAVAILABLE');
      return true;
    });
    await assertNothingRegistered();
  });

  test('a body over the push limit: refused, nothing registered', async () => {
    const small = createPolicedFetch({
      ...DEFAULT_FETCH_POLICY,
      allowHttp: true,
      allowHosts: [`127.0.0.1:${files.port}`],
      maxBytes: 4096,
    });
    const source = await resolveHttp(`${base}/endless.onnx`, small);
    await assert.rejects(pushVersion(store, artifacts, source, { model: 'digits' }, 'test'), {
      code: 'IG_ERR_FORBIDDEN_SOURCE',
    });
    await assertNothingRegistered();
  });
});
