import { writeFileSync } from 'node:fs';
import { OrtBackend, type OrtInstance } from '../../../src/backend/ort/index.js';
import { backendContract, SLOW_MS } from '../../contract/backend.contract.js';
import { addOneModel, writeModel } from './models.js';

// The slow model is the add-one file made slow by the worker's test hook (read at load time);
// the hooks also let the contract crash an instance.
process.env['INFERGATE_TEST_HOOKS'] = '1';
process.env['INFERGATE_TEST_SLEEP_MS'] = `slow-add-one=${SLOW_MS}`;

const modelFor = (_backend: unknown, kind?: string) => {
  if (kind !== 'bad-file') return writeModel(addOneModel(4));
  const path = writeModel(new Uint8Array(0), 'bad.onnx');
  writeFileSync(path, 'this is not an ONNX model');
  return path;
};
const crash = (instance: unknown) => (instance as OrtInstance).crashForTest();

// Small models share the pool's threads (two, so that a version's two instances run in parallel).
backendContract(
  'onnxruntime (shared pool)',
  () => new OrtBackend({ restartDelaysMs: [0, 50], sharedWorkers: 2 }),
  modelFor,
  {
    crash,
    modelsAreFiles: true,
  },
);
backendContract(
  'onnxruntime (dedicated workers)',
  () => new OrtBackend({ restartDelaysMs: [0, 50], sharedWorkers: 0 }),
  modelFor,
  {
    crash,
    modelsAreFiles: true,
  },
);
