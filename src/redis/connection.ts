/**
 * How infergate connects to Redis, decided once for every user (the shared rate limiter, the
 * response cache's Redis tier): URLs parsed here so ioredis only ever sees host, port and password
 * as options (errors never echo the URL or its password), and a fail-fast client that never lets a
 * caller wait on a dead or silent Redis — each user answers from its own fallback instead.
 */
import type { RedisOptions } from 'ioredis';

/** Thrown for a URL that cannot be used; carries neither the URL nor its password. */
export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

/** redis:// and rediss:// URLs as ioredis connection options. Errors never echo the URL. */
export function parseRedisUrl(
  url: string,
): Pick<RedisOptions, 'host' | 'port' | 'username' | 'password' | 'db' | 'tls'> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Node's ERR_INVALID_URL keeps the input (with any password) in `input`: not rethrown.
    throw new RedisUrlError('the Redis URL is not a valid URL (expected redis://[user:password@]host:port[/db])');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new RedisUrlError(`the Redis URL must use redis:// or rediss://, not ${u.protocol}//`);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new RedisUrlError('the Redis URL path must be a database number');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decode(u.username) } : {}),
    ...(u.password ? { password: decode(u.password) } : {}),
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * ioredis options for a client whose callers must never wait on Redis: commands while disconnected
 * fail at once instead of queueing behind a dead connection (the queue cannot grow without bound
 * during an outage); it reconnects forever but never waits more than a second between tries, so
 * recovery takes about a second; a Redis that accepts bytes and never answers (SIGSTOP, blackholed,
 * a stuck host) keeps the TCP connection open, so after `timeoutMs × 20` (at least 1 s) without a
 * byte for pending commands the socket is dropped and reconnected.
 */
export function failFastOptions(connection: RedisOptions, timeoutMs: number, connectionName: string): RedisOptions {
  return {
    ...connection,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    connectTimeout: 1000,
    socketTimeout: Math.max(1000, timeoutMs * 20),
    connectionName,
  };
}
