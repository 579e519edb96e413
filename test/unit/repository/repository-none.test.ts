import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InferError } from '../../../src/core/errors.js';
import { writeModelFile } from './fake-backend.js';
import { makeRepo, resolve, tempRepo, writeModel } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ root, cleanup } = await tempRepo()));
afterEach(() => cleanup());

function rejectsWith(err: unknown, code: string, text: string): boolean {
  assert.ok(err instanceof InferError, String(err));
  assert.equal(err.code, code);
  assert.equal(err.message, text);
  return true;
}

describe('repository in none mode', () => {
  it('loads every model, resolves the default version, and indexes them', async () => {
    await writeModel(root, 'a', { 1: undefined, 2: undefined });
    await writeModel(root, 'b', { 3: undefined }, 'max_batch_size: 2\n');
    await mkdir(join(root, 'a', '01')); // not a version directory
    await mkdir(join(root, '.hidden'));
    const { repo } = makeRepo(root, 'none');
    await repo.start();
    assert.equal(repo.allReady(), true);
    const h = resolve(repo, 'a');
    assert.equal(h.version, 2);
    assert.equal(h.spec.path, join(root, 'a', '2', 'model.onnx'));
    assert.equal(h.spec.maxBatchSize, 4);
    assert.equal(h.config['name'], 'a');
    assert.equal(resolve(repo, 'b', '3').spec.maxBatchSize, 2);
    assert.equal(repo.modelConfig('b')['max_batch_size'], 2);
    assert.equal(repo.modelVersions('b')[0]!.platform, 'onnxruntime_onnx');
    assert.deepEqual(repo.index(false), [
      { name: 'a', version: '2', state: 'READY' },
      { name: 'b', version: '3', state: 'READY' },
    ]);
    await repo.stop();
  });

  it("answers Triton's NOT_FOUND texts and never touches files for unsafe names", async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo } = makeRepo(root, 'none');
    await repo.start();
    const NF = 'IG_ERR_MODEL_NOT_FOUND';
    assert.throws(
      () => resolve(repo, 'nope'),
      (e) => rejectsWith(e, NF, "Request for unknown model: 'nope' is not found"),
    );
    assert.throws(
      () => resolve(repo, 'a', '7'),
      (e) => rejectsWith(e, NF, "Request for unknown model: 'a' version 7 is not found"),
    );
    assert.throws(
      () => resolve(repo, 'a', 'x'),
      (e) => rejectsWith(e, NF, "Request for unknown model: 'a' version x is not found"),
    );
    for (const name of ['..', ' ..', '.. ', '../a', 'a/../a', '/etc'])
      assert.throws(
        () => repo.modelVersions(name),
        (e) => rejectsWith(e, NF, `Request for unknown model: '${name}' is not found`),
      );
    await repo.stop();
  });

  it('rejects load and unload with the control-mode text', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo } = makeRepo(root, 'none');
    await repo.start();
    const text = 'explicit model load / unload is not allowed if polling is enabled';
    await assert.rejects(repo.load('a'), (e) => rejectsWith(e, 'IG_ERR_UNAVAILABLE', text));
    await assert.rejects(repo.unload('a'), (e) => rejectsWith(e, 'IG_ERR_UNAVAILABLE', text));
    await repo.stop();
  });

  it('marks a broken model UNAVAILABLE with a reason (no absolute path) while others serve', async () => {
    await writeModel(root, 'good', { 1: undefined });
    await writeModel(root, 'badcfg', { 1: undefined }, 'max_batch_size: 2\nbogus_field: 1\n');
    await writeModel(root, 'badfile', { 1: 'not onnx' });
    await writeModel(root, 'badload', { 1: { inputs: [], outputs: [], failLoad: true } });
    const { repo, events } = makeRepo(root, 'none');
    await repo.start();
    assert.equal(resolve(repo, 'good').version, 1);
    assert.equal(repo.allReady(), false);
    const rows = repo.index(false);
    const bad = rows.filter((r) => r.name !== 'good');
    assert.equal(bad.length, 3);
    for (const r of bad) {
      assert.equal(r.state, 'UNAVAILABLE');
      assert.ok(r.reason && !r.reason.includes(root), r.reason);
    }
    assert.match(
      rows.find((r) => r.name === 'badcfg')!.reason!,
      /'badcfg\/config\.pbtxt', line 2, field 'bogus_field'/,
    );
    assert.match(rows.find((r) => r.name === 'badfile')!.reason!, /badfile\/1\/model\.onnx/);
    assert.throws(() => resolve(repo, 'badcfg'), /has no available versions/);
    assert.throws(() => resolve(repo, 'badfile', 1), /'badfile' version 1 is not at ready state/);
    assert.ok(events.some((e) => e.type === 'failed' && e.model === 'badload' && e.version === 1));
    assert.deepEqual(repo.index(true), [{ name: 'good', version: '1', state: 'READY' }]);
    await repo.stop();
  });

  it('applies version policies: latest N, all, specific', async () => {
    await writeModel(
      root,
      'l2',
      { 1: undefined, 2: undefined, 3: undefined },
      'version_policy { latest { num_versions: 2 } }',
    );
    await writeModel(root, 'all', { 1: undefined, 5: undefined }, 'version_policy: { all {} }');
    await writeModel(
      root,
      'sp',
      { 1: undefined, 2: undefined, 3: undefined },
      'version_policy { specific { versions: [1, 3] } }',
    );
    const { repo } = makeRepo(root, 'none');
    await repo.start();
    const versions = (m: string) => repo.modelVersions(m).map((s) => [s.version, s.state]);
    assert.deepEqual(versions('l2'), [
      [3, 'READY'],
      [2, 'READY'],
    ]);
    assert.deepEqual(versions('all'), [
      [5, 'READY'],
      [1, 'READY'],
    ]);
    assert.deepEqual(versions('sp'), [
      [3, 'READY'],
      [1, 'READY'],
    ]);
    assert.throws(() => resolve(repo, 'sp', 2), /version 2 is not found/);
    assert.equal(resolve(repo, 'sp', '1').version, 1);
    await repo.stop();
  });

  it('accepts a model directory form, a YAML config, label files and a custom file name', async () => {
    await writeModelFile(join(root, 'dirform', '1', 'model.onnx', 'model.onnx'));
    await writeModel(root, 'yml', { 1: undefined });
    await writeFile(
      join(root, 'yml', 'config.yaml'),
      'max_batch_size: 3\noutput:\n  - {name: y, data_type: TYPE_FP32, dims: [2], label_filename: l.txt}\n',
    );
    await writeFile(join(root, 'yml', 'l.txt'), 'a\nb\n');
    await writeModelFile(join(root, 'custom', '1', 'net.bin'));
    await writeFile(join(root, 'custom', 'config.pbtxt'), 'default_model_filename: "net.bin"');
    const { repo } = makeRepo(root, 'none');
    await repo.start();
    assert.equal(resolve(repo, 'dirform').spec.path, join(root, 'dirform', '1', 'model.onnx', 'model.onnx'));
    const y = resolve(repo, 'yml').spec;
    assert.equal(y.maxBatchSize, 3);
    assert.deepEqual(y.outputs[0]!.labels, ['a', 'b']);
    assert.equal(resolve(repo, 'custom').spec.path, join(root, 'custom', '1', 'net.bin'));
    await repo.stop();
  });

  it('stop drains and disposes every version', async () => {
    await writeModel(root, 'a', { 1: undefined });
    const { repo, backend, schedulers } = makeRepo(root, 'none');
    await repo.start();
    const job = resolve(repo, 'a').scheduler.submit({ inputs: [], batchSize: 1 });
    const stopped = repo.stop();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(backend.live, 1, 'not disposed while a request is in flight');
    schedulers[0]!.releaseAll();
    await job;
    await stopped;
    assert.equal(backend.live, 0);
  });
});
