import { writeFileSync } from 'node:fs';
import { OrtBackend, type OrtInstance } from '../../../src/backend/ort/index.js';
import { backendContract, SLOW_MS } from '../../contract/backend.contract.js';
import { addOneModel, writeModel } from './models.js';

// The slow model is the add-one file made slow by the worker's test hook (read at load time);
// the hooks also let the contract crash an instance.
process.env['INFERGATE_TEST_HOOKS'] = '1';
process.env['INFERGATE_TEST_SLEEP_MS'] = `slow-add-one=${SLOW_MS}`;

backendContract(
  'onnxruntime',
  () => new OrtBackend({ restartDelaysMs: [0, 50] }),
  (_backend, kind) => {
    if (kind !== 'bad-file') return writeModel(addOneModel(4));
    const path = writeModel(new Uint8Array(0), 'bad.onnx');
    writeFileSync(path, 'this is not an ONNX model');
    return path;
  },
  { crash: (instance) => (instance as OrtInstance).crashForTest(), modelsAreFiles: true },
);
