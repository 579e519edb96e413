import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeBackend } from '../../../src/backend/fake/index.js';
import { BackendRegistry } from '../../../src/backend/registry.js';
import { InferError } from '../../../src/core/index.js';

const modelLoadError = (pattern: RegExp) => (err: unknown) =>
  err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD' && pattern.test(err.message);

describe('BackendRegistry', () => {
  const ort = new FakeBackend();
  const tf = new FakeBackend({ name: 'tensorflow', platforms: ['tensorflow_savedmodel', 'tensorflow_graphdef'] });
  const python = new FakeBackend({ name: 'python', platforms: [] });

  it('finds a backend by its Triton backend name and by any platform it serves', () => {
    const r = new BackendRegistry([ort, tf, python]);
    assert.equal(r.byName('onnxruntime'), ort);
    assert.equal(r.byName('tensorflow'), tf);
    assert.equal(r.byName('python'), python);
    assert.equal(r.byPlatform('onnxruntime_onnx'), ort);
    assert.equal(r.byPlatform('tensorflow_graphdef'), tf);
    assert.deepEqual(r.list(), [ort, tf, python]);
  });

  it('refuses an unknown name or platform, naming the backends it has', () => {
    const r = new BackendRegistry([ort, python]);
    assert.throws(
      () => r.byName('pytorch'),
      modelLoadError(
        /^backend 'pytorch' is not available in this server; available: onnxruntime \(onnxruntime_onnx\), python$/,
      ),
    );
    assert.throws(
      () => r.byPlatform('tensorflow_savedmodel'),
      modelLoadError(/^platform 'tensorflow_savedmodel' has no backend in this server; available: onnxruntime/),
    );
    assert.throws(() => new BackendRegistry().byName('onnxruntime'), modelLoadError(/available: none$/));
  });

  it('refuses a second backend with a taken name or platform', () => {
    const r = new BackendRegistry([ort]);
    assert.throws(() => r.register(new FakeBackend()), /a backend named 'onnxruntime' is already registered/);
    assert.throws(
      () => r.register(new FakeBackend({ name: 'ort2', platforms: ['onnxruntime_onnx'] })),
      /platform 'onnxruntime_onnx' is already served by backend 'onnxruntime'/,
    );
    assert.deepEqual(r.list(), [ort]);
  });

  it('close closes every backend, even after one fails', async () => {
    const closed: string[] = [];
    const tracked = (name: string, fail: boolean) => {
      const b = new FakeBackend({ name, platforms: [] });
      b.close = async () => {
        closed.push(name);
        if (fail) throw new Error(`${name} failed to close`);
      };
      return b;
    };
    const r = new BackendRegistry([tracked('a', true), tracked('b', false)]);
    await assert.rejects(r.close(), /a failed to close/);
    assert.deepEqual(closed, ['a', 'b']);
  });
});
