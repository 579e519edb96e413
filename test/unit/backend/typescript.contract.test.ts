// The Backend contract against the TypeScript backend: the contract's models written as model.ts
// files (bundled and run in worker threads like any TypeScript model).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TsInstance } from '../../../src/backend/typescript/instance.js';
import { TypeScriptBackend } from '../../../src/backend/typescript/backend.js';
import { backendContract, type ContractModelKind, SLOW_MS } from '../../contract/backend.contract.js';

const root = mkdtempSync(join(tmpdir(), 'infergate-ts-contract-'));

const ADD_ONE = `
import type { ExecuteContext, OutputTensors, Tensors } from 'infergate/model';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export async function execute(inputs: Tensors, ctx: ExecuteContext): Promise<OutputTensors> {
  const x = inputs['x'];
  if (x === undefined) throw new Error('input x is missing');
  if (ctx.parameters['slow_ms']) await sleep(Number(ctx.parameters['slow_ms']));
  return { y: { datatype: 'FP32', shape: x.shape, data: (x.data as Float32Array).map((v) => v + 1) } };
}
`;

const SOURCES: Record<ContractModelKind, string> = {
  'add-one': ADD_ONE,
  // The contract's spec carries no parameters: the slow model waits on its own.
  'slow-add-one': ADD_ONE.replace("ctx.parameters['slow_ms']", 'true').replace(
    "Number(ctx.parameters['slow_ms'])",
    String(SLOW_MS),
  ),
  'bad-file': 'this is not a TypeScript module {{{\n',
};

backendContract(
  'typescript',
  () => new TypeScriptBackend({ restartDelaysMs: [0, 50] }),
  (_backend, kind) => {
    const dir = join(root, kind, '1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.ts'), SOURCES[kind]);
    return join(dir, 'model.ts');
  },
  { crash: (instance) => (instance as TsInstance).crashForTest(), modelsAreFiles: true },
);
