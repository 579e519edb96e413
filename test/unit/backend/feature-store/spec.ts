// A feature store version's spec as the repository builds it from a config, and assertions on the
// coded errors it answers with, for the feature store's unit and integration tests.
import assert from 'node:assert/strict';
import { type DataType, InferError, type ModelVersionSpec } from '../../../../src/core/index.js';
import { MISSING_REDIS, type RedisServer, redisInstalled, startServer } from '../../../services/redis.js';

export interface SpecInit {
  parameters?: Record<string, string>;
  maxBatchSize?: number;
  idType?: DataType;
  idDims?: number[];
  outType?: DataType;
  outDims?: number[];
  inputs?: ModelVersionSpec['inputs'];
  outputs?: ModelVersionSpec['outputs'];
}

/** `user_features`: ids `entity` BYTES [1], output `features` FP32 [3] (age, score, visits), batched by 8. */
export function versionSpec(o: SpecInit = {}): ModelVersionSpec {
  return {
    model: 'user_features',
    version: 1,
    path: '/repo/user_features/1',
    maxBatchSize: o.maxBatchSize ?? 8,
    inputs: o.inputs ?? [{ name: 'entity', datatype: o.idType ?? 'BYTES', dims: o.idDims ?? [1] }],
    outputs: o.outputs ?? [{ name: 'features', datatype: o.outType ?? 'FP32', dims: o.outDims ?? [3] }],
    instances: 1,
    execution: {
      niceness: 10,
      parameters: o.parameters ?? { key_template: 'user:{id}', features: 'age,score,visits' },
      graphLevel: 0,
      cpuAccelerators: [],
    },
    warmup: [],
  };
}

/** Asserts `err` is an InferError with this code and a message matching `pattern`. */
export function isCoded(err: unknown, code: string, pattern: RegExp): true {
  assert.ok(err instanceof InferError, String(err));
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
  return true;
}

/** Asserts `fn` throws an InferError with this code and a message matching `pattern`. */
export function throwsCoded(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isCoded(err, code, pattern));
}

/** Asserts `p` rejects with an InferError with this code and a message matching `pattern`. */
export async function rejectsCoded(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => isCoded(err, code, pattern));
}

/**
 * A redis-server of the caller's own (one it may pause or kill); undefined when none is installed
 * (the caller skips), and a failure under CI=true, where a missing server must not pass as a skip.
 */
export async function privateRedis(): Promise<RedisServer | undefined> {
  if (redisInstalled()) return startServer();
  if (process.env.CI === 'true') throw new Error(MISSING_REDIS);
  return undefined;
}
