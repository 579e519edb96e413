import { addOneModel, FakeBackend, type FakeInstance } from '../../../src/backend/fake/index.js';
import type { Backend } from '../../../src/backend/types.js';
import { backendContract, SLOW_MS } from '../../contract/backend.contract.js';

backendContract(
  'fake',
  () => new FakeBackend(),
  (backend: Backend, kind) => {
    const fake = backend as FakeBackend;
    const path = `fake://${kind}`;
    if (kind === 'bad-file') fake.register(path, { ...addOneModel(), failLoad: 'Protobuf parsing failed' });
    else fake.register(path, { ...addOneModel('FP32', [4]), delayMs: kind === 'slow-add-one' ? SLOW_MS : 0 });
    return path;
  },
  { crash: (instance) => (instance as FakeInstance).crash(), modelsAreFiles: false },
);
