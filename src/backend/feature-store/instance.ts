/**
 * One feature store version's instance: any number of calls at once (the model is `concurrent`),
 * each one Redis pipeline of one HMGET per entity, whatever the number of rows, waited on for at
 * most the latency budget (less when the call's deadline is nearer). The event loop only sends and
 * receives; the replies are read into the tensor by lookup.ts. Errors (docs/feature-store.md):
 *   - Redis not connected, a connection lost mid-call, a refusal (NOAUTH, LOADING…): IG_ERR_UNAVAILABLE (503);
 *   - no answer within the latency budget: IG_ERR_UNAVAILABLE (503), naming the budget;
 *   - the call's own deadline first: IG_ERR_DEADLINE_EXCEEDED (504);
 *   - an entity's key holding something other than a hash: IG_ERR_MODEL_EXECUTION (500).
 * Nothing here waits on a dead Redis: the client fails commands at once while disconnected.
 */
import { deadlineExceeded, InferError, invalidArg, type Tensor } from '../../core/index.js';
import type { BackendInstance, ExecOptions, ExecResult } from '../types.js';
import type { FeatureStoreSpec } from './config.js';
import { assembleFeatures, entityKeys, entityName } from './lookup.js';

/** The part of an ioredis client a lookup uses (tests wrap a real one to count pipelines). */
export interface FeatureRedis {
  /** 'ready' once connected (ioredis's status). */
  readonly status: string;
  pipeline(): FeaturePipeline;
}

/** An ioredis pipeline: commands queued locally, sent together by `exec`. */
export interface FeaturePipeline {
  hmget(key: string | Buffer, ...fields: string[]): unknown;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

type Outcome = { replies: Array<[Error | null, unknown]> | null } | { failed: unknown } | 'late' | 'aborted';

export class FeatureStoreInstance implements BackendInstance {
  readonly id: string;
  #inflight = 0;
  #disposed = false;
  #idle: Array<() => void> = [];

  constructor(
    private readonly spec: FeatureStoreSpec,
    private readonly redis: FeatureRedis,
    id: string,
  ) {
    this.id = id;
  }

  get alive(): boolean {
    return !this.#disposed;
  }

  get inflight(): number {
    return this.#inflight;
  }

  async execute(inputs: Tensor[], _outputs?: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#disposed) throw this.#unavailable('the model is being unloaded');
    this.#inflight++;
    try {
      return await this.#lookup(inputs, options);
    } finally {
      if (--this.#inflight === 0) for (const done of this.#idle.splice(0)) done();
    }
  }

  /** Resolves once the calls in flight are answered (each is bounded by the latency budget). */
  dispose(): Promise<void> {
    this.#disposed = true;
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #lookup(inputs: Tensor[], options: ExecOptions): Promise<ExecResult> {
    const t0 = process.hrtime.bigint();
    const ids = inputs.find((t) => t.name === this.spec.input.name);
    if (ids === undefined)
      throw invalidArg(`feature store '${this.spec.model}': input '${this.spec.input.name}' is missing`);
    const keys = entityKeys(this.spec, ids);
    const t1 = process.hrtime.bigint();
    const replies = keys.length === 0 ? [] : await this.#fetch(ids, keys, options);
    const t2 = process.hrtime.bigint();
    const output = assembleFeatures(this.spec, ids, replies);
    const t3 = process.hrtime.bigint();
    return {
      outputs: [output],
      timing: { inputNs: Number(t1 - t0), inferNs: Number(t2 - t1), outputNs: Number(t3 - t2) },
    };
  }

  /** One pipeline of one HMGET per key; each entity's reply (the values of the features, in order). */
  async #fetch(ids: Tensor, keys: Array<string | Buffer>, options: ExecOptions): Promise<Array<Array<string | null>>> {
    const deadline = Math.min(
      options.deadline ?? Number.POSITIVE_INFINITY,
      options.call?.deadline ?? Number.POSITIVE_INFINITY,
    );
    const left = deadline - Date.now();
    if (!(left > 0)) throw deadlineExceeded();
    const signal = options.call?.signal;
    if (signal?.aborted) throw cancelled();
    if (this.redis.status !== 'ready') throw this.#unavailable('Redis is not connected');
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hmget(key, ...this.spec.features);
    const budget = this.spec.latencyBudgetMs;
    const outcome = await within(pipeline.exec(), Math.min(budget, left), signal);
    if (outcome === 'aborted') throw cancelled();
    if (outcome === 'late')
      throw budget < left
        ? this.#unavailable(`Redis did not answer within the latency budget (${budget} ms)`)
        : new InferError(
            'IG_ERR_DEADLINE_EXCEEDED',
            `feature store '${this.spec.model}': the request deadline passed while waiting for Redis`,
          );
    if ('failed' in outcome) throw this.#unavailable(`Redis failed (${redisReason(outcome.failed)})`, outcome.failed);
    const replies = outcome.replies;
    if (replies === null || replies.length !== keys.length) throw this.#unavailable('Redis answered incompletely');
    return replies.map(([err, values], row) => {
      if (err === null && Array.isArray(values)) return values as Array<string | null>;
      if (err?.message.startsWith('WRONGTYPE'))
        throw new InferError(
          'IG_ERR_MODEL_EXECUTION',
          `feature store '${this.spec.model}': the key of entity ${entityName(ids, row)} does not hold a hash`,
          { cause: err },
        );
      throw this.#unavailable(`Redis failed (${redisReason(err)})`, err);
    });
  }

  #unavailable(why: string, cause?: unknown): InferError {
    return new InferError('IG_ERR_UNAVAILABLE', `feature store '${this.spec.model}': ${why}`, { cause });
  }
}

function cancelled(): InferError {
  return new InferError('IG_ERR_CANCELLED', 'request cancelled by the client');
}

/**
 * What went wrong, in a few words fit for a client: a Redis error code (NOAUTH, LOADING…) or
 * 'connection lost'. Never the error's text, which may carry command arguments.
 */
function redisReason(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const code = /^([A-Z][A-Z_]+) /.exec(message)?.[1];
  return code ?? 'connection lost';
}

/** The pipeline's answer, or 'late' after `ms`, or 'aborted' when the client goes away; never rejects. */
function within(
  exec: Promise<Array<[Error | null, unknown]> | null>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const finish = (o: Outcome) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const onAbort = () => finish('aborted');
    const timer = setTimeout(() => finish('late'), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    exec.then(
      (replies) => finish({ replies }),
      (failed: unknown) => finish({ failed }),
    );
  });
}
