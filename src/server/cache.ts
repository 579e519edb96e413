/**
 * The response cache's part of the composition root: the in-process tier (`--cache-memory-bytes`),
 * the Redis tier shared by replicas (`--cache-redis` or INFERGATE_CACHE_REDIS[_FILE]), the TTL.
 * The Redis URL is parsed here and never logged: the tier gets host, port and password as options,
 * and its errors arrive redacted (cache/redis-tier.ts).
 */
import { parseRedisUrl } from '../redis/connection.js';
import { ResponseCache } from '../cache/cache.js';
import { MemoryTier } from '../cache/memory-tier.js';
import { RedisTier } from '../cache/redis-tier.js';
import type { Logger } from '../observability/logger.js';
import { secretFromEnv } from './auth.js';
import type { ServerOptions } from './options.js';

export interface ServerCache {
  cache: ResponseCache;
  /** One line for the start-up log (no secrets). */
  summary: string;
}

/** The server's response cache, or undefined when both tiers are off. */
export function openServerCache(o: ServerOptions, logger: Logger): ServerCache | undefined {
  const url = o.cacheRedis ?? secretFromEnv('INFERGATE_CACHE_REDIS');
  const memory = o.cacheMemoryBytes > 0 ? new MemoryTier({ maxBytes: o.cacheMemoryBytes }) : undefined;
  let shared: RedisTier | undefined;
  let where = '';
  if (url) {
    const connection = parseRedisUrl(url);
    where = `${connection.host}:${connection.port}`;
    shared = new RedisTier({
      connection,
      timeoutMs: o.cacheRedisTimeoutMs,
      onError: (err) => logger.debug({ err: err.message }, 'response cache: Redis error'),
      onBreaker: (state) => {
        if (state === 'open')
          logger.warn('response cache: Redis unreachable or slow, serving without it until it answers');
        else if (state === 'closed') logger.info('response cache: Redis answers again');
      },
    });
  }
  if (!memory && !shared) return undefined;
  const tiers = [
    memory && `in-process ${Math.round(o.cacheMemoryBytes / 1024 / 1024)} MiB`,
    shared && `Redis ${where}`,
  ].filter(Boolean);
  return {
    cache: new ResponseCache({ memory, shared, ttlMs: o.cacheTtlSeconds * 1000 }),
    summary: `response cache for models with response_cache: ${tiers.join(' + ')}, TTL ${o.cacheTtlSeconds} s`,
  };
}
