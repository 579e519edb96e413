import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InferError } from '../../../src/core/errors.js';
import { SIMPLE } from './fake-backend.js';
import { makeRepo, resolve, tempRepo, writeModel } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ root, cleanup } = await tempRepo()));
afterEach(() => cleanup());

const bytes = (o: unknown) => new TextEncoder().encode(typeof o === 'string' ? o : JSON.stringify(o));

describe('repository in explicit mode', () => {
  it('loads only startup models and lists the others by name only', async () => {
    await writeModel(root, 'a', { 1: undefined });
    await writeModel(root, 'b', { 1: undefined });
    const { repo } = makeRepo(root, 'explicit', { startupModels: ['a'] });
    await repo.start();
    assert.deepEqual(repo.index(false), [{ name: 'a', version: '1', state: 'READY' }, { name: 'b' }]);
    assert.throws(() => resolve(repo, 'b'), /Request for unknown model: 'b' is not found/);
    await writeModel(root, 'c', { 1: undefined });
    assert.deepEqual(
      repo.index(false).map((r) => r.name),
      ['a', 'b', 'c'],
    );
    await repo.load('c');
    assert.equal(resolve(repo, 'c').version, 1);
    assert.equal(repo.allReady(), true);
    await repo.stop();
  });

  it("'*' loads every model", async () => {
    await writeModel(root, 'a', { 1: undefined });
    await writeModel(root, 'b', { 2: undefined });
    const { repo } = makeRepo(root, 'explicit', { startupModels: ['*'] });
    await repo.start();
    assert.deepEqual(repo.index(true).length, 2);
    await repo.stop();
  });

  it('unload waits for in-flight requests, then the model has no available versions', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo, backend, schedulers } = makeRepo(root, 'explicit', { startupModels: ['a'] });
    await repo.start();
    const job = resolve(repo, 'a').scheduler.submit({ inputs: [], batchSize: 1 });
    let unloaded = false;
    const unloading = repo.unload('a').then(() => {
      unloaded = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(unloaded, false);
    assert.equal(repo.modelVersions('a')[0]!.state, 'UNLOADING');
    assert.throws(() => resolve(repo, 'a'), /has no available versions/);
    assert.equal(backend.live, 1);
    schedulers[0]!.releaseAll();
    await job;
    await unloading;
    assert.equal(backend.live, 0);
    assert.deepEqual(repo.index(false), [{ name: 'a', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' }]);
    assert.throws(
      () => resolve(repo, 'a'),
      (e) => e instanceof InferError && e.message === "Request for unknown model: 'a' has no available versions",
    );
    assert.equal(repo.allReady(), true, 'an unloaded model is not expected to be ready');
    await repo.stop();
  });

  it('a reload makes the new version READY before the old one goes; a failed reload keeps the old serving', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo, backend, events } = makeRepo(root, 'explicit', { startupModels: ['a'] });
    await repo.start();
    const first = resolve(repo, 'a');
    await writeFile(join(root, 'a', 'config.pbtxt'), 'max_batch_size: 2');
    events.length = 0;
    await repo.load('a');
    const second = resolve(repo, 'a');
    assert.equal(second.spec.maxBatchSize, 2);
    assert.notEqual(second.scheduler, first.scheduler);
    assert.equal(backend.live, 1, 'the old instance was disposed');
    assert.deepEqual(
      events.map((e) => e.type),
      ['loading', 'ready'],
    );
    await writeFile(join(root, 'a', 'config.pbtxt'), 'max_batch_size: 2\nnot_a_field: 1');
    await assert.rejects(repo.load('a'), /line 2, field 'not_a_field'/);
    assert.equal(resolve(repo, 'a').scheduler, second.scheduler);
    await writeFile(join(root, 'a', 'config.pbtxt'), 'max_batch_size: 2');
    await writeFile(join(root, 'a', '1', 'model.onnx'), JSON.stringify({ ...SIMPLE, failLoad: true }));
    await assert.rejects(repo.load('a'), (e) => e instanceof InferError && !e.message.includes(root));
    assert.equal(resolve(repo, 'a').scheduler, second.scheduler);
    assert.equal(repo.modelVersions('a')[0]!.state, 'READY');
    await repo.stop();
  });

  it('loads an in-memory model from files + config, and rejects unsafe paths and missing config', async () => {
    const { repo } = makeRepo(root, 'explicit');
    await repo.start();
    await repo.load('mem', { config: '{"max_batch_size": 2}', files: { '1/model.onnx': bytes(SIMPLE) } });
    const h = resolve(repo, 'mem');
    assert.equal(h.spec.maxBatchSize, 2);
    assert.ok(existsSync(h.spec.path));
    assert.deepEqual(repo.index(false), [{ name: 'mem', version: '1', state: 'READY' }]);
    await repo.unload('mem');
    assert.equal(existsSync(h.spec.path), false, 'temp directory removed after unload');
    for (const p of ['../1/model.onnx', '/abs/model.onnx', '1/../../x'])
      await assert.rejects(repo.load('x', { config: '{}', files: { [p]: bytes(SIMPLE) } }), /invalid file path/);
    await assert.rejects(repo.load('x', { files: { '1/model.onnx': bytes(SIMPLE) } }), /require a 'config'/);
    // A name the file system refuses is the load's failure (IG_ERR_MODEL_LOAD: 400), not a 500.
    await assert.rejects(
      repo.load('x', { config: '{}', files: { [`1/${'n'.repeat(300)}.onnx`]: bytes(SIMPLE) } }),
      (e: unknown) =>
        e instanceof InferError &&
        e.code === 'IG_ERR_MODEL_LOAD' &&
        /^failed to load 'x': a file of the load parameters cannot be written \(a file name is too long\)$/.test(
          e.message,
        ),
    );
    await assert.rejects(
      repo.load('x', { config: '{"bogus": 1}', files: { '1/model.onnx': bytes(SIMPLE) } }),
      /field 'bogus'/,
    );
    await repo.stop();
  });

  it('load/unload of unknown or traversal names are NOT_FOUND', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo } = makeRepo(root, 'explicit');
    await repo.start();
    for (const name of ['nope', '..', ' ..', '.. ', '../a', 'a/..'])
      await assert.rejects(repo.load(name), (e) => e instanceof InferError && e.code === 'IG_ERR_MODEL_NOT_FOUND');
    await assert.rejects(repo.unload('nope'), /is not found/);
    await repo.unload('a'); // on disk, never loaded: nothing to do
    await repo.stop();
  });

  it('serializes concurrent loads and unloads without wedging', async () => {
    await writeModel(root, 'a', { 1: { ...SIMPLE, loadMs: 5 } });
    const { repo, backend } = makeRepo(root, 'explicit');
    await repo.start();
    const ops = [repo.load('a'), repo.unload('a'), repo.load('a'), repo.load('a'), repo.unload('a'), repo.load('a')];
    await Promise.all(ops);
    assert.equal(resolve(repo, 'a').version, 1);
    assert.equal(backend.live, 1);
    await Promise.all([repo.unload('a'), repo.load('a'), repo.unload('a')]);
    assert.equal(backend.live, 0);
    assert.equal(repo.modelVersions('a')[0]!.state, 'UNAVAILABLE');
    await repo.stop();
  });

  it('a failed first load leaves the model UNAVAILABLE and the server not ready', async () => {
    await writeModel(root, 'a', { 1: 'garbage' });
    const { repo } = makeRepo(root, 'explicit');
    await repo.start();
    await assert.rejects(
      repo.load('a'),
      (e) => e instanceof InferError && e.code === 'IG_ERR_MODEL_LOAD' && !e.message.includes(root),
    );
    assert.equal(repo.modelVersions('a')[0]!.state, 'UNAVAILABLE');
    assert.equal(repo.allReady(), false);
    await repo.stop();
  });
});
