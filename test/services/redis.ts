// The Redis that scripts/run-tests.mjs started once for the whole run (INFERGATE_TEST_REDIS_URL),
// shared by every test file: each test takes a fresh key prefix so files never see each other's
// keys. Run alone (no such variable), a file starts its own server. Missing redis-server fails
// the test under CI=true and skips it otherwise, naming the package.
import { randomBytes } from 'node:crypto';
// @ts-expect-error a plain .mjs helper shared with the test runner
import { MISSING_REDIS as MISSING, redisBin, startRedis } from '../../scripts/services/redis.mjs';

export const MISSING_REDIS: string = MISSING;

/** A server started by a test (for the private, password-protected one a restart test needs). */
export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  /** Kills it (no persistence: nothing to flush); resolves once it has exited and freed its port. */
  stop(): Promise<void>;
}

let own: Promise<RedisServer> | undefined;

/**
 * The shared server's URL. Redis missing: throws under CI=true, else answers undefined (the
 * caller skips, saying why: {@link MISSING_REDIS}).
 */
export async function testRedisUrl(): Promise<string | undefined> {
  if (process.env.INFERGATE_TEST_REDIS_URL) return process.env.INFERGATE_TEST_REDIS_URL;
  if (!redisInstalled()) {
    if (process.env.CI === 'true') throw new Error(MISSING_REDIS);
    return undefined;
  }
  const started =
    own ??
    startServer().then((r) => {
      process.once('exit', () => void r.stop());
      return r;
    });
  own = started;
  return (await started).url;
}

/** Whether redis-server is on PATH (a test that starts a private server checks this first). */
export function redisInstalled(): boolean {
  return Boolean(redisBin());
}

/** Starts a private server (a test that stops and restarts Redis must not disturb the shared one). */
export function startServer(opts: { port?: number; password?: string } = {}): Promise<RedisServer> {
  return startRedis(opts) as Promise<RedisServer>;
}

/** A key prefix no other test uses: `infergate:rl:test:<random>:`. */
export function freshPrefix(): string {
  return `infergate:rl:test:${randomBytes(6).toString('hex')}:`;
}
