/**
 * The `feature_store` backend (docs/feature-store.md): a model with no file whose config says
 * which Redis hashes to read for an entity id and how to lay them out as the output tensor. It is
 * served like any model, so it can be called directly or be a step of an ensemble.
 *
 * Redis: the server's URL (`--feature-store-redis`, else INFERGATE_FEATURE_STORE_REDIS), or a
 * model's own `redis_url` parameter. One fail-fast client (redis/connection.ts) per distinct Redis,
 * shared by every version that reads it, closed with the last of them. URLs are parsed by
 * redis/connection.ts and never logged or put in an error.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { InferError, type ModelIO, type ModelVersionSpec } from '../../core/index.js';
import { failFastOptions, parseRedisUrl, RedisUrlError } from '../../redis/connection.js';
import { instanceLabel } from '../instance-ref.js';
import type { Backend, InstanceRef, LoadedModel, LoadOptions } from '../types.js';
import { type FeatureStoreSpec, featureStoreLoadError, parseFeatureStoreSpec } from './config.js';
import { type FeatureRedis, FeatureStoreInstance } from './instance.js';

/** The Triton backend name a config's `backend` names. */
export const FEATURE_STORE_BACKEND = 'feature_store';
/** What the client's fail-fast socket timeout is derived from (redis/connection.ts: 20 × this, ≥ 1 s). */
const SOCKET_TIMEOUT_BASE_MS = 50;

export interface FeatureStoreBackendOptions {
  /** The server's Redis for feature stores (redis://[user:password@]host:port[/db]); models may name their own. */
  redisUrl?: string;
  /** Makes a client from its options (default: a new ioredis client); tests wrap it to watch its commands. */
  connect?: (options: RedisOptions) => FeatureRedis & Closable;
  /** Longest a load waits for a first connection before it goes on without one (ms, default 1000). */
  readyWaitMs?: number;
}

/** What the backend needs besides lookups: waiting for the first connection and closing. */
export interface Closable {
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  disconnect(): void;
}

type Client = FeatureRedis & Closable;

interface Shared {
  client: Client;
  users: number;
  /** Where it connects, for log lines (no password). */
  where: string;
}

class FeatureStoreModel implements LoadedModel {
  readonly memoryBytes = 0;
  readonly concurrent = true;
  #disposing: Promise<void> | undefined;

  constructor(
    readonly instances: readonly FeatureStoreInstance[],
    private readonly release: () => void,
  ) {}

  dispose(): Promise<void> {
    this.#disposing ??= Promise.all(this.instances.map((i) => i.dispose())).then(() => this.release());
    return this.#disposing;
  }
}

export class FeatureStoreBackend implements Backend {
  readonly name = FEATURE_STORE_BACKEND;
  readonly platforms: readonly string[] = [];
  readonly signature = 'config' as const;
  readonly needsFile = false as const;
  readonly #server: RedisOptions | undefined;
  readonly #connect: (options: RedisOptions) => Client;
  readonly #readyWaitMs: number;
  readonly #clients = new Map<string, Shared>();
  #closed = false;

  /** Throws when the server's Redis URL cannot be used (the message never echoes it). */
  constructor(o: FeatureStoreBackendOptions = {}) {
    try {
      this.#server = o.redisUrl ? parseRedisUrl(o.redisUrl) : undefined;
    } catch (err) {
      throw new Error(`--feature-store-redis (or INFERGATE_FEATURE_STORE_REDIS): ${(err as Error).message}`);
    }
    this.#connect = o.connect ?? ((options) => new Redis(options));
    this.#readyWaitMs = o.readyWaitMs ?? 1000;
  }

  async inspect(): Promise<ModelIO> {
    throw new InferError('IG_ERR_MODEL_LOAD', 'a feature store has no model file: its config declares its signature');
  }

  async load(spec: ModelVersionSpec, options: LoadOptions = {}): Promise<LoadedModel> {
    if (this.#closed) throw new InferError('IG_ERR_UNAVAILABLE', 'the feature store backend is closed');
    const fs = parseFeatureStoreSpec(spec);
    const connection = this.#connection(fs);
    const key = JSON.stringify(connection);
    const shared = this.#acquire(key, connection);
    const ref: InstanceRef = { model: spec.model, version: spec.version, index: 0 };
    if (!(await whenReady(shared.client, this.#readyWaitMs)))
      options.onEvent?.({
        type: 'warning',
        instance: ref,
        message: `feature store: Redis at ${shared.where} does not answer yet; lookups answer 503 until it does`,
      });
    const instance = new FeatureStoreInstance(fs, shared.client, instanceLabel(ref));
    return new FeatureStoreModel([instance], () => this.#release(key));
  }

  /** Disconnects every client (the models' dispose has normally released them already). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#clients.values()) s.client.disconnect();
    this.#clients.clear();
  }

  /** The model's Redis (its `redis_url`), else the server's; a load error when neither is usable. */
  #connection(fs: FeatureStoreSpec): RedisOptions {
    if (fs.redisUrl !== undefined) {
      try {
        return parseRedisUrl(fs.redisUrl);
      } catch (err) {
        if (err instanceof RedisUrlError)
          throw featureStoreLoadError(fs.model, `parameter 'redis_url': ${err.message}`);
        throw err;
      }
    }
    if (this.#server === undefined)
      throw featureStoreLoadError(
        fs.model,
        "no Redis to read features from: set the parameter 'redis_url' or start the server with --feature-store-redis",
      );
    return this.#server;
  }

  #acquire(key: string, connection: RedisOptions): Shared {
    let shared = this.#clients.get(key);
    if (shared === undefined) {
      const client = this.#connect(failFastOptions(connection, SOCKET_TIMEOUT_BASE_MS, 'infergate-feature-store'));
      // Without a listener ioredis prints connection errors (and their commands) to stderr; each
      // lookup reports its own failure instead.
      client.on('error', () => {});
      shared = { client, users: 0, where: `${connection.host}:${connection.port}` };
      this.#clients.set(key, shared);
    }
    shared.users++;
    return shared;
  }

  #release(key: string): void {
    const shared = this.#clients.get(key);
    if (shared === undefined || --shared.users > 0) return;
    this.#clients.delete(key);
    shared.client.disconnect();
  }
}

/** True once the client is connected, false when it is not within `ms`. */
function whenReady(client: Client, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, ms);
    client.once('ready', onReady);
  });
}
