// reliability.md S8(c): mutated serialisations of valid ModelInferRequests fed through the gRPC
// request path in-process: the transport's deserializer (the count guard, infer-guard.ts, then
// protobuf: service-definition.ts guardedDecode), the wire-level
// decode (infer-decode.ts) and the router's validation against a model. Every iteration either
// passes or fails with a typed refusal; nothing else may be thrown, no iteration may hang, and
// Object.prototype is never touched. CI runs 50,000 iterations; the nightly size (1,000,000) is
// INFERGATE_FUZZ_ITERATIONS=1000000. The slowest iteration and how many took over 100 ms are
// printed as diagnostics (timing is a benchmark's to judge on a shared runner, not an assert's,
// except a hang: over a second).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { create, toBinary } from '@bufbuild/protobuf';
import { encodeBytesElements, InferError, type ModelVersionSpec } from '../../src/core/index.js';
import { DEFAULT_EXECUTION } from '../../src/config/execution.js';
import { ModelInferRequestSchema } from '../../src/gen/grpc_service_pb.js';
import { decodeInferRequest } from '../../src/protocol/grpc/infer-decode.js';
import { inferRequestOverLimits } from '../../src/protocol/grpc/infer-guard.js';
import { MalformedMessage } from '../../src/protocol/grpc/errors.js';
import { guardedDecode } from '../../src/protocol/grpc/service-definition.js';
import { validateInputs, validateOutputs } from '../../src/router/validate.js';
import { FUZZ_SEED, iterations, mutate, rng } from './mutate.js';

const int64 = (v: bigint) => ({ parameterChoice: { case: 'int64Param' as const, value: v } });
const f32le = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const lenPrefixed = (...items: string[]) => encodeBytesElements(items.map((i) => new TextEncoder().encode(i)));

/** Valid requests of the shapes clients send: raw contents, typed contents, BYTES, parameters. */
const SEEDS = [
  create(ModelInferRequestSchema, {
    modelName: 'm',
    modelVersion: '1',
    id: 'req-1',
    parameters: { priority: int64(1n), timeout: int64(100000n) },
    inputs: [{ name: 'a', datatype: 'FP32', shape: [1n, 4n] }],
    outputs: [{ name: 'y', parameters: { classification: int64(2n) } }],
    rawInputContents: [f32le(1, 2, 3, 4)],
  }),
  create(ModelInferRequestSchema, {
    modelName: 'm',
    inputs: [
      { name: 'a', datatype: 'FP32', shape: [2n, 4n], contents: { fp32Contents: [1, 2, 3, 4, 5, 6, 7, 8] } },
      {
        name: 't',
        datatype: 'BYTES',
        shape: [2n, 2n],
        contents: { bytesContents: [1, 2, 3, 4].map((i) => Uint8Array.of(97 + i)) },
      },
    ],
  }),
  create(ModelInferRequestSchema, {
    modelName: 'm',
    inputs: [
      { name: 'a', datatype: 'FP32', shape: [1n, 4n] },
      { name: 't', datatype: 'BYTES', shape: [1n, 2n] },
    ],
    rawInputContents: [f32le(0, 0, 0, 0), lenPrefixed('héllo', '')],
  }),
].map((m) => toBinary(ModelInferRequestSchema, m));

const spec: ModelVersionSpec = {
  model: 'm',
  version: 1,
  path: '/x',
  maxBatchSize: 8,
  inputs: [
    { name: 'a', datatype: 'FP32', dims: [4] },
    { name: 't', datatype: 'BYTES', dims: [2], optional: true },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', dims: [4] }],
  instances: 1,
  execution: DEFAULT_EXECUTION,
  warmup: [],
  bytesAsText: true,
};

/** The refusals the gRPC path answers with a status: anything else thrown is a finding. */
const TYPED = new Set(['IG_ERR_INVALID_ARG', 'IG_ERR_SHM_NOT_FOUND', 'IG_ERR_UNSUPPORTED', 'IG_ERR_NOT_FOUND']);

type Outcome = 'malformed' | 'refused' | 'accepted';
const guard = (b: Uint8Array) => inferRequestOverLimits(b, 65_536);

/** What the server does with the bytes of one ModelInfer call, up to the scheduler. */
function oneRequest(buf: Uint8Array): Outcome {
  // The transport's deserializer: the count guard, then protobuf (INVALID_ARGUMENT when malformed).
  const msg = guardedDecode(ModelInferRequestSchema, Buffer.from(buf), guard);
  if (msg instanceof MalformedMessage) return 'malformed';
  try {
    const req = decodeInferRequest(msg as Parameters<typeof decodeInferRequest>[0]);
    validateOutputs(spec, req);
    validateInputs(spec, req);
    return 'accepted';
  } catch (err) {
    if (err instanceof InferError && TYPED.has(err.code)) return 'refused';
    throw err;
  }
}

test('mutated ModelInferRequests: typed refusals only, no hang, prototype untouched (S8(c))', (t) => {
  const n = iterations(50_000);
  const r = rng(FUZZ_SEED);
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
  const outcomes: Record<Outcome, number> = { malformed: 0, refused: 0, accepted: 0 };
  let slowest = 0;
  let over100 = 0;
  for (const seed of SEEDS) assert.equal(oneRequest(seed), 'accepted', 'every seed is a valid request');
  for (let i = 0; i < n; i++) {
    const input = mutate(SEEDS[i % SEEDS.length] as Uint8Array, r);
    const t0 = performance.now();
    try {
      outcomes[oneRequest(input)]++;
    } catch (err) {
      assert.fail(`iteration ${i} (seed ${FUZZ_SEED}) threw ${String(err)}: ${Buffer.from(input).toString('base64')}`);
    }
    const ms = performance.now() - t0;
    slowest = Math.max(slowest, ms);
    if (ms > 100) over100++;
    assert.ok(ms < 1000, `iteration ${i} took ${ms.toFixed(0)} ms: ${Buffer.from(input).toString('base64')}`);
  }
  assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), protoBefore, 'Object.prototype unchanged');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  t.diagnostic(
    `${n} iterations: ${JSON.stringify(outcomes)}; slowest ${slowest.toFixed(2)} ms, ${over100} over 100 ms`,
  );
  // The mutations reach every stage: some pass, some are refused by each layer.
  for (const k of Object.keys(outcomes) as Outcome[]) assert.ok(outcomes[k] > 0, k);
});
