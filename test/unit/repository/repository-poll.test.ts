import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InferError } from '../../../src/core/errors.js';
import { writeModelFile } from './fake-backend.js';
import { makeRepo, resolve, tempRepo, writeModel } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ root, cleanup } = await tempRepo()));
afterEach(() => cleanup());

describe('repository in poll mode', () => {
  it('rejects load and unload', async () => {
    const { repo } = makeRepo(root, 'poll');
    await repo.start();
    await assert.rejects(repo.load('a'), (e) => e instanceof InferError && e.code === 'IG_ERR_UNAVAILABLE');
    await assert.rejects(repo.unload('a'), /explicit model load \/ unload is not allowed if polling is enabled/);
    await repo.stop();
  });

  it('a new version is loaded and READY before the policy retires the old one after its in-flight work', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo, schedulers, waitFor, backend } = makeRepo(root, 'poll');
    await repo.start();
    const job = resolve(repo, 'a').scheduler.submit({ inputs: [], batchSize: 1 });
    const v2loading = waitFor((e) => e.type === 'loading' && e.version === 2);
    const v2ready = waitFor((e) => e.type === 'ready' && e.version === 2);
    const v1gone = waitFor((e) => e.type === 'unloaded' && e.version === 1);
    await writeModelFile(join(root, 'a', '2', 'model.onnx'));
    await v2loading;
    assert.equal(repo.allReady(), true, 'a swap never turns readiness off while the old version serves');
    await v2ready;
    assert.equal(repo.allReady(), true);
    assert.equal(resolve(repo, 'a').version, 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(backend.live, 2, 'v1 waits for its in-flight request');
    schedulers[0]!.releaseAll();
    await job;
    await v1gone;
    assert.equal(backend.live, 1);
    assert.deepEqual(repo.index(false), [
      { name: 'a', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'a', version: '2', state: 'READY' },
    ]);
    await repo.stop();
  });

  it('a removed version directory is unloaded', async () => {
    await writeModel(root, 'a', { 1: undefined, 2: undefined }, 'version_policy { all {} }');
    const { repo, waitFor } = makeRepo(root, 'poll');
    await repo.start();
    const gone = waitFor((e) => e.type === 'unloaded' && e.version === 2);
    await rm(join(root, 'a', '2'), { recursive: true });
    await gone;
    assert.equal(resolve(repo, 'a').version, 1);
    assert.deepEqual(
      repo
        .modelVersions('a')
        .filter((s) => s.state === 'READY')
        .map((s) => s.version),
      [1],
    );
    await repo.stop();
  });

  it('a broken new version is UNAVAILABLE with a reason and never takes the working one down', async () => {
    await writeModel(root, 'a', { 1: undefined });
    await writeModel(root, 'b', { 1: undefined });
    const { repo, waitFor, events } = makeRepo(root, 'poll');
    await repo.start();
    const failed = waitFor((e) => e.type === 'failed' && e.model === 'a' && e.version === 2);
    await writeModelFile(join(root, 'a', '2', 'model.onnx'), 'garbage');
    await failed;
    assert.equal(resolve(repo, 'a').version, 1);
    assert.equal(repo.allReady(), true, "a failed new version is the model's state, not the server's");
    const v2 = repo.modelVersions('a', 2)[0]!;
    assert.equal(v2.state, 'UNAVAILABLE');
    assert.ok(v2.reason && !v2.reason.includes(root), v2.reason);
    assert.equal(resolve(repo, 'b').version, 1);
    // Unchanged broken files are not retried on every poll.
    const count = events.filter((e) => e.type === 'failed').length;
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(events.filter((e) => e.type === 'failed').length, count);
    // Fixing the file loads it and retires v1.
    const fixed = waitFor((e) => e.type === 'unloaded' && e.model === 'a' && e.version === 1);
    await writeModelFile(join(root, 'a', '2', 'model.onnx'));
    await fixed;
    assert.equal(resolve(repo, 'a').version, 2);
    await repo.stop();
  });

  it('a broken config keeps the old version serving; a changed config reloads', async () => {
    await writeModel(root, 'a', { 1: undefined }, 'max_batch_size: 4');
    const { repo, waitFor } = makeRepo(root, 'poll');
    await repo.start();
    const old = resolve(repo, 'a');
    const failed = waitFor((e) => e.type === 'failed' && e.model === 'a');
    await writeFile(join(root, 'a', 'config.pbtxt'), 'max_batch_size: 4\nwhat: 1');
    await failed;
    assert.equal(resolve(repo, 'a').scheduler, old.scheduler);
    const ready = waitFor((e) => e.type === 'ready' && e.model === 'a');
    await writeFile(join(root, 'a', 'config.pbtxt'), 'max_batch_size: 2');
    await ready;
    assert.equal(resolve(repo, 'a').spec.maxBatchSize, 2);
    await repo.stop();
  });

  it('new model directories load and removed ones unload and leave the index', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo, waitFor } = makeRepo(root, 'poll');
    await repo.start();
    const bReady = waitFor((e) => e.type === 'ready' && e.model === 'b');
    await writeModel(root, 'b', { 1: undefined });
    await bReady;
    assert.equal(resolve(repo, 'b').version, 1);
    const aGone = waitFor((e) => e.type === 'unloaded' && e.model === 'a');
    await rm(join(root, 'a'), { recursive: true });
    await aGone;
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      repo.index(false).map((r) => r.name),
      ['b'],
    );
    assert.throws(() => resolve(repo, 'a'), /'a' is not found/);
    await repo.stop();
  });
});
