// Which backend and model file a config means when it names no file: model.onnx stays
// onnxruntime's; a version holding only a backend's own file (model.ts…) is that backend's.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { ModelConfigSchema } from '../../../src/gen/model_config_pb.js';
import { withModelFile } from '../../../src/repository/model-files.js';

const BACKENDS = [
  { name: 'onnxruntime', platforms: ['onnxruntime_onnx'] },
  { name: 'typescript', platforms: [], modelFiles: ['model.ts', 'model.js', 'model.mjs'] },
];

/** A model folder whose versions hold the given files. */
function modelDir(versions: Record<number, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-model-files-'));
  for (const [v, files] of Object.entries(versions)) {
    mkdirSync(join(dir, v), { recursive: true });
    for (const f of files) writeFileSync(join(dir, v, f), '');
  }
  return dir;
}

const pick = async (
  config: Parameters<typeof create<typeof ModelConfigSchema>>[1],
  versions: Record<number, string[]>,
) => {
  const cfg = await withModelFile(
    create(ModelConfigSchema, config),
    modelDir(versions),
    Object.keys(versions).map(Number),
    BACKENDS,
  );
  return { backend: cfg.backend, file: cfg.defaultModelFilename };
};

test('a config naming nothing is the TypeScript backend when the newest version holds model.ts and no model.onnx', async () => {
  assert.deepEqual(await pick({}, { 1: ['model.onnx'], 2: ['model.ts'] }), { backend: 'typescript', file: 'model.ts' });
  assert.deepEqual(await pick({}, { 1: ['model.mjs'] }), { backend: 'typescript', file: 'model.mjs' });
});

test('model.onnx keeps a config naming nothing as it was (onnxruntime, filled later)', async () => {
  assert.deepEqual(await pick({}, { 1: ['model.onnx', 'model.ts'] }), { backend: '', file: '' });
  assert.deepEqual(await pick({}, { 1: ['model.ts'], 3: ['model.onnx'] }), { backend: '', file: '' });
  assert.deepEqual(await pick({}, { 1: ['weights.bin'] }), { backend: '', file: '' });
});

test('a config naming the backend gets the first of its files the version holds', async () => {
  assert.deepEqual(await pick({ backend: 'typescript' }, { 1: ['model.js', 'model.mjs'] }), {
    backend: 'typescript',
    file: 'model.js',
  });
  assert.deepEqual(await pick({ backend: 'typescript' }, { 1: ['model.onnx', 'model.ts'] }), {
    backend: 'typescript',
    file: 'model.ts',
  });
});

test('an explicit file name, a platform or another backend is left alone', async () => {
  const files = { 1: ['model.ts', 'main.ts'] };
  assert.deepEqual(await pick({ backend: 'typescript', defaultModelFilename: 'main.ts' }, files), {
    backend: 'typescript',
    file: 'main.ts',
  });
  assert.deepEqual(await pick({ platform: 'onnxruntime_onnx' }, files), { backend: '', file: '' });
  assert.deepEqual(await pick({ backend: 'onnxruntime' }, files), { backend: 'onnxruntime', file: '' });
});
