// The TypeScript backend without a server: what ctx.client calls carry (the call's own context,
// or the batch's deadline), call failures, the module shapes, warm-up, the initialize bound and
// finalize on dispose.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { TypeScriptBackend } from '../../../src/backend/typescript/backend.js';
import type { LoadedModel } from '../../../src/backend/types.js';
import { DEFAULT_EXECUTION } from '../../../src/config/execution.js';
import {
  type CallContext,
  callContext,
  InferError,
  type InferRequest,
  type ModelVersionSpec,
  type Tensor,
} from '../../../src/core/index.js';
import { contractSpec } from '../../contract/backend.contract.js';

const root = mkdtempSync(join(tmpdir(), 'infergate-ts-backend-'));
let counter = 0;

/** Writes a model.ts and returns its spec (x FP32 [4] → y FP32 [4], batching up to 8). */
function model(source: string, change: Partial<ModelVersionSpec> = {}, parameters: Record<string, string> = {}) {
  const dir = join(root, `m${++counter}`, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.ts'), source);
  const spec = contractSpec('add-one', join(dir, 'model.ts'));
  return { ...spec, model: 'm', execution: { ...DEFAULT_EXECUTION, parameters }, ...change };
}

const x = (rows = 1): Tensor[] => [
  { name: 'x', datatype: 'FP32', shape: [rows, 4], data: new Float32Array(rows * 4).fill(1) },
];

/** Every call the stub caller received, with the context it ran in. */
const calls: Array<{ request: InferRequest; parent: CallContext }> = [];
const backend = new TypeScriptBackend({
  restartDelaysMs: [0],
  caller: {
    infer: async (request, parent) => {
      calls.push({ request, parent });
      if (request.model === 'missing')
        throw new InferError('IG_ERR_MODEL_NOT_FOUND', "Request for unknown model: 'missing' is not found");
      const x = request.inputs[0]!;
      return { model: request.model, version: '1', outputs: [{ ...x, name: 'y' }] };
    },
  },
});
after(() => backend.close());

const CALLER = `import type { ExecuteContext, OutputTensors, Tensors } from 'infergate/model';
export async function execute(inputs: Tensors, ctx: ExecuteContext): Promise<OutputTensors> {
  try {
    const r = await ctx.client.infer(ctx.parameters['target'] ?? 'echo', { x: inputs['x']! }, { version: 3, outputs: ['y'] });
    return { y: r['y']! };
  } catch (err) {
    const e = err as { name: string; code: string; model: string };
    throw new Error(e.name + ' ' + e.code + ' ' + e.model);
  }
}
`;

test("a call made while executing one request runs in that request's context", async () => {
  const m = await backend.load(model(CALLER));
  try {
    const call = callContext({ protocol: 'grpc', id: 'req-7', deadline: Date.now() + 60_000 });
    calls.length = 0;
    const r = await m.instances[0]!.execute(x(), undefined, { call, deadline: call.deadline });
    assert.deepEqual(Array.from(r.outputs[0]!.data as Float32Array), [1, 1, 1, 1]);
    assert.equal(calls.length, 1);
    const parent = calls[0]!.parent;
    assert.equal(parent.requestId, 'req-7');
    assert.equal(parent.protocol, 'grpc');
    assert.equal(parent.deadline, call.deadline);
    assert.equal(parent.signal?.aborted, true, 'what the call left running is cancelled once the run ended');
    assert.equal(calls[0]!.request.model, 'echo');
    assert.equal(calls[0]!.request.version, '3');
    assert.deepEqual(calls[0]!.request.outputs, [{ name: 'y' }]);
  } finally {
    await m.dispose();
  }
});

test("a call made while executing a batch of several requests gets the batch's deadline", async () => {
  const m = await backend.load(model(CALLER));
  try {
    const deadline = Date.now() + 60_000;
    calls.length = 0;
    const inst = m.instances[0]!;
    await inst.executeBatch!([x(), x(2)], undefined, { deadline });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.parent.deadline, deadline);
    assert.notEqual(calls[0]!.parent.requestId, '');
    assert.deepEqual(calls[0]!.request.inputs[0]!.shape, [3, 4], 'the joined batch was sent');
  } finally {
    await m.dispose();
  }
});

test('a failed call rejects with a ModelCallError carrying the code and the model', async () => {
  const m = await backend.load(model(CALLER, {}, { target: 'missing' }));
  try {
    await assert.rejects(m.instances[0]!.execute(x()), (err: unknown) => {
      assert.ok(err instanceof InferError);
      assert.equal(err.code, 'IG_ERR_MODEL_EXECUTION');
      assert.match(err.message, /ModelCallError IG_ERR_MODEL_NOT_FOUND missing/);
      return true;
    });
  } finally {
    await m.dispose();
  }
});

test('a default export with execute is a model too', async () => {
  const m = await backend.load(
    model(`export default {
  factor: 3,
  execute(inputs: any) {
    const x = inputs.x;
    return { y: { datatype: 'FP32', shape: x.shape, data: x.data.map((v: number) => v * this.factor) } };
  },
};
`),
  );
  try {
    const r = await m.instances[0]!.execute(x());
    assert.deepEqual(Array.from(r.outputs[0]!.data as Float32Array), [3, 3, 3, 3]);
  } finally {
    await m.dispose();
  }
});

test('a configured warm-up sample runs at load; one the model fails on fails the load, naming the sample', async () => {
  const warmup = [
    {
      name: 'ones',
      batchSize: 2,
      count: 1,
      inputs: [{ name: 'x', datatype: 'FP32' as const, dims: [4], kind: 'zero' as const }],
    },
  ];
  const refusing = `export function execute(inputs: any): never { throw new Error('rows: ' + inputs.x.shape[0]); }\n`;
  await assert.rejects(backend.load(model(refusing, { warmup })), (err: unknown) => {
    assert.ok(err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD');
    assert.match(err.message, /failed to load model 'm' version 1: warm-up sample 'ones' failed: rows: 2/);
    return true;
  });
  // A generated sample (no model_warmup in the config) is never run: made-up data.
  const generated = [{ ...warmup[0]!, generated: true }];
  const m = await backend.load(model(refusing, { warmup: generated }));
  await m.dispose();
});

test('an initialize that never ends fails the load at initialize_timeout_ms', async () => {
  const stuck = `export function initialize(): void { for (;;) {} }
export function execute(): never { throw new Error('unreachable'); }
`;
  await assert.rejects(backend.load(model(stuck, {}, { initialize_timeout_ms: '300' })), (err: unknown) => {
    assert.ok(err instanceof InferError && err.code === 'IG_ERR_MODEL_LOAD');
    assert.match(err.message, /did not finish within 300 ms \(initialize_timeout_ms\)/);
    return true;
  });
  await assert.rejects(
    backend.load(model(stuck, {}, { execute_timeout_ms: 'soon' })),
    /parameter 'execute_timeout_ms' must be a positive whole number of milliseconds, got 'soon'/,
  );
});

test('finalize runs when the version is disposed', async () => {
  const marker = join(root, 'finalized');
  const m: LoadedModel = await backend.load(
    model(`import { writeFileSync } from 'node:fs';
export function execute(inputs: any) { return { y: inputs.x }; }
export function finalize(): void { writeFileSync(${JSON.stringify(marker)}, 'done'); }
`),
  );
  assert.equal(existsSync(marker), false);
  await m.dispose();
  assert.equal(existsSync(marker), true);
});
