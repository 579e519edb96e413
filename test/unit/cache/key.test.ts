// The response cache's key (cache/key.ts): stable, and different exactly when the answer may differ.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprint, requestDigest, responseKey } from '../../../src/cache/key.js';
import { DEFAULT_EXECUTION } from '../../../src/config/execution.js';
import type { InferRequest, ModelVersionSpec, Tensor } from '../../../src/core/index.js';

const spec = (over: Partial<ModelVersionSpec> = {}): ModelVersionSpec => ({
  model: 'm',
  version: 1,
  path: '/nowhere',
  maxBatchSize: 4,
  inputs: [
    { name: 'a', datatype: 'FP32', dims: [2] },
    { name: 'b', datatype: 'BYTES', dims: [1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', dims: [2] }],
  instances: 1,
  execution: DEFAULT_EXECUTION,
  warmup: [],
  responseCache: true,
  ...over,
});

const a = (v = 1, shape = [1, 2]): Tensor => ({
  name: 'a',
  datatype: 'FP32',
  shape,
  data: new Float32Array(2).fill(v),
});
const b = (...s: string[]): Tensor => ({
  name: 'b',
  datatype: 'BYTES',
  shape: [1, s.length],
  data: s.map((x) => new TextEncoder().encode(x)),
});
const req = (over: Partial<InferRequest> = {}): InferRequest => ({
  model: 'm',
  inputs: [a(), b('hello')],
  parameters: {},
  ...over,
});
const S = spec();
const key = (r: InferRequest, tenant?: string, s = S) => responseKey(tenant, s, requestDigest(r));

test('stable: the same request gives the same key (scope and digest, hex), call after call and with inputs in another order', () => {
  const k = key(req());
  assert.match(k, /^[0-9a-f]{32}:[0-9a-f]{64}$/);
  assert.equal(key(req()), k);
  assert.equal(key(req({ inputs: [b('hello'), a()] })), k, 'inputs are a set');
});

test('changes with every field that decides the answer', () => {
  const base = key(req());
  const variants: Array<[string, string]> = [
    ['input bytes', key(req({ inputs: [a(2), b('hello')] }))],
    ['BYTES element', key(req({ inputs: [a(), b('hellp')] }))],
    ['BYTES element split', key(req({ inputs: [a(), b('hel', 'lo')] }))],
    ['shape', key(req({ inputs: [{ ...a(), shape: [2, 1] }, b('hello')] }))],
    [
      'datatype, same bytes',
      key(
        req({
          inputs: [{ ...a(), datatype: 'INT32', data: new Int32Array(new Float32Array(2).fill(1).buffer) }, b('hello')],
        }),
      ),
    ],
    ['input name', key(req({ inputs: [{ ...a(), name: 'c' }, b('hello')] }))],
    ['requested outputs', key(req({ outputs: [{ name: 'y' }] }))],
    ['classification', key(req({ outputs: [{ name: 'y', classification: 2 }] }))],
    ['output parameter', key(req({ outputs: [{ name: 'y', parameters: { custom: 1 } }] }))],
    ['request parameter', key(req({ parameters: { temperature: 0.5 } }))],
    ['parameter type', key(req({ parameters: { temperature: '0.5' } }))],
    ['tenant', key(req(), 'acme')],
    ['version', key(req(), undefined, spec({ version: 2 }))],
    ['model', key(req(), undefined, spec({ model: 'n' }))],
    ['model file', key(req(), undefined, spec({ source: { bytes: new Uint8Array(0), sha256: 'f'.repeat(64) } }))],
    [
      'output config',
      key(req(), undefined, spec({ outputs: [{ name: 'y', datatype: 'FP32', dims: [2], labels: ['x', 'z'] }] })),
    ],
  ];
  const seen = new Set([base]);
  for (const [what, k] of variants) {
    assert.notEqual(k, base, `${what} must change the key`);
    assert.ok(!seen.has(k), `${what} collides with another variant`);
    seen.add(k);
  }
});

test('does not change with what only schedules, frames, correlates or traces a call', () => {
  const base = key(req());
  const same: InferRequest[] = [
    req({ id: 'abc' }),
    req({ priority: 1, timeoutUs: 5000 }),
    req({ parameters: { sequence_id: 7, sequence_start: true, sequence_end: false } }),
    req({ parameters: { triton_enable_empty_final_response: true, traceparent: '00-abc-def-01' } }),
  ];
  for (const r of same) assert.equal(key(r), base, JSON.stringify({ ...r, inputs: undefined }));
  assert.equal(
    key(req({ outputs: [{ name: 'y', binary: true, parameters: { binary_data: true } }] })),
    key(req({ outputs: [{ name: 'y' }] })),
    'binary_data only chooses the encoding',
  );
});

test('two tenants sending identical bytes never share a key, and neither shares with no tenant (S17)', () => {
  const keys = [key(req(), 'a'), key(req(), 'b'), key(req(), undefined), key(req(), '')];
  assert.equal(new Set(keys).size, keys.length);
});

test('the fingerprint is computed once per loaded spec and equal for equal specs (replicas agree)', () => {
  const s = spec();
  assert.equal(fingerprint(s), fingerprint(s));
  assert.equal(fingerprint(spec()), fingerprint(s));
  assert.notEqual(fingerprint(spec({ maxBatchSize: 8 })), fingerprint(s));
  assert.equal(fingerprint(spec({ path: '/elsewhere' })), fingerprint(s), 'the path differs between replicas');
});
