/**
 * Token buckets shared by every replica through Redis (reliability.md S18): one atomic Lua script
 * per take reads, refills and debits the bucket with Redis's own TIME, so replicas whose clocks
 * disagree still share one refill timeline.
 *
 * Fail-open-to-local: when Redis is down, refuses the password, or does not answer within
 * `timeoutMs`, a take is answered by the local fallback (a TokenBuckets), so each replica then
 * enforces the limit on its own — N replicas admit up to N × rate while degraded. `degraded()` and
 * `onDegraded` say so (a metric exports it), the client reconnects in the background, and once a
 * probe succeeds takes go back to Redis. A take never throws and never waits longer than its
 * timeout; serving is never blocked by the limiter.
 *
 * Secrets: the URL is parsed by redis/connection.ts and ioredis only ever sees host, port and password as options;
 * nothing is logged, and errors handed to `onError` are rebuilt from a redacted message because
 * ioredis attaches the failed command (HELLO … AUTH default <password>) to its reply errors.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { failFastOptions, parseRedisUrl } from '../redis/connection.js';
import { normalizeLimit } from './token-bucket.js';
import type { Admission, RateLimiter } from './types.js';

/**
 * KEYS[1] the bucket hash {t: µs of the last update, v: tokens}; ARGV rate (tokens/s), burst, cost.
 * Returns {1, 0} when admitted, {0, retry-after ms} when refused. Times are integer µs stored with
 * %.0f (exact below 2^53) and tokens with %.17g, because Lua's tostring keeps only 14 digits. The
 * key expires when it would have refilled completely: an absent key is a full bucket.
 */
export const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 't', 'v')
local ts = tonumber(b[1])
local tokens = tonumber(b[2])
if ts == nil or tokens == nil then
  ts = now
  tokens = burst
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000000)
  ts = now
else
  tokens = math.min(burst, tokens)
end
if tokens + 1e-9 >= cost then
  tokens = tokens - cost
  redis.call('HSET', KEYS[1], 't', string.format('%.0f', ts), 'v', string.format('%.17g', tokens))
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) * 1000 / rate)))
  return {1, 0}
end
return {0, math.max(1, math.ceil((cost - tokens) * 1000 / rate))}
`;

const TAKE_SHA = createHash('sha1').update(TAKE_SCRIPT).digest('hex');

export interface RedisRateLimiterOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// (TLS). Never logged or put in errors. */
  url: string;
  /** Key prefix (default `infergate:rl:`); the bucket of key K is `<prefix>K`. */
  prefix?: string;
  /** Longest a take waits for Redis before the fallback answers it (default 50 ms). */
  timeoutMs?: number;
  /** Answers while Redis is unavailable (per-replica limits). */
  fallback: RateLimiter;
  /** Called on every change of `degraded()`. */
  onDegraded?(degraded: boolean): void;
  /** Redacted connection errors (no URL, no password, no failed-command arguments), for a debug log. */
  onError?(err: Error): void;
  /** How often a degraded limiter checks whether Redis answers again (default 250 ms). */
  probeIntervalMs?: number;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly fallback: RateLimiter;
  private readonly onDegraded: ((degraded: boolean) => void) | undefined;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly secrets: string[];
  private isDegraded = false;
  private everReady = false;
  private readonly firstReady: Promise<void>;
  private resolveFirstReady!: () => void;
  private probing = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: RedisRateLimiterOptions) {
    this.prefix = opts.prefix ?? 'infergate:rl:';
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? 50);
    this.probeIntervalMs = Math.max(10, opts.probeIntervalMs ?? 250);
    this.fallback = opts.fallback;
    this.onDegraded = opts.onDegraded;
    this.onError = opts.onError;
    const conn = parseRedisUrl(opts.url);
    this.secrets = [opts.url, conn.password, encodeURIComponent(conn.password ?? '')].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    this.firstReady = new Promise((resolve) => {
      this.resolveFirstReady = resolve;
    });
    // Commands while disconnected fail at once: the fallback answers them (redis/connection.ts).
    this.client = new Redis(failFastOptions(conn, this.timeoutMs, 'infergate-ratelimit'));
    // Without an 'error' listener ioredis prints the error (with its command) to stderr; every
    // error here is answered by the fallback instead, so it only updates the state.
    this.client.on('error', (err: unknown) => {
      this.report(err);
      if (this.client.status !== 'ready') this.setDegraded(true);
    });
    this.client.on('close', () => {
      if (!this.closed) this.setDegraded(true);
    });
    this.client.on('ready', () => {
      if (!this.everReady) {
        this.everReady = true;
        this.resolveFirstReady();
      }
      void this.probe();
    });
  }

  degraded(): boolean {
    return this.isDegraded;
  }

  async take(key: string, limit: { rate: number; burst: number }, cost = 1): Promise<Admission> {
    const n = normalizeLimit(limit, cost);
    // A bucket that cannot refill has no arithmetic to share (the script divides by rate).
    if (this.closed || this.isDegraded || n.rate === 0) return this.local(key, limit, cost);
    if (this.everReady && this.client.status !== 'ready') {
      this.setDegraded(true);
      return this.local(key, limit, cost);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
    });
    // At start-up the first takes may wait (within their timeout) for the first connection.
    // Errors become values so the losing side of the race never rejects unhandled.
    const shared = (this.everReady ? this.evalTake(key, n) : this.firstReady.then(() => this.evalTake(key, n))).catch(
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    const result = await Promise.race([shared, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout' || result instanceof Error) {
      if (result !== 'timeout') this.report(result);
      this.setDegraded(true);
      return this.local(key, limit, cost);
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopProbing();
    try {
      // QUIT waits for Redis; a dead one would hold close() up, so give it the take budget only.
      await Promise.race([this.client.quit(), new Promise((r) => setTimeout(r, 10 * this.timeoutMs).unref())]);
    } catch {
      // Already disconnected: nothing to say goodbye to.
    }
    this.client.disconnect();
    await this.fallback.close();
  }

  /** EVALSHA, and on NOSCRIPT (a restarted or flushed Redis) EVAL, which caches it again. */
  private async evalTake(key: string, n: { rate: number; burst: number; cost: number }): Promise<Admission> {
    const args = [this.prefix + key, String(n.rate), String(n.burst), String(n.cost)];
    let reply: unknown;
    try {
      reply = await this.client.evalsha(TAKE_SHA, 1, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      reply = await this.client.eval(TAKE_SCRIPT, 1, ...args);
    }
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected rate-limit script reply');
    const [ok, retry] = reply.map(Number);
    if (ok === 1) return { ok: true };
    return { ok: false, retryAfterMs: Math.max(1, Number.isFinite(retry) ? (retry as number) : 1) };
  }

  private async local(key: string, limit: { rate: number; burst: number }, cost: number): Promise<Admission> {
    try {
      return await this.fallback.take(key, limit, cost);
    } catch {
      // A fallback that throws breaks its contract; admitting keeps serving (fail open), as the
      // module promises that rate limiting never takes the server down.
      return { ok: true };
    }
  }

  private setDegraded(degraded: boolean): void {
    if (degraded === this.isDegraded || (this.closed && degraded)) return;
    this.isDegraded = degraded;
    if (degraded) this.startProbing();
    else this.stopProbing();
    try {
      this.onDegraded?.(degraded);
    } catch {
      // A metric callback must not break the request path.
    }
  }

  private startProbing(): void {
    if (this.probeTimer || this.closed) return;
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  /**
   * Leaves degraded mode once Redis answers within the take budget. SCRIPT LOAD doubles as the
   * liveness check and re-caches the script after a Redis restart, so the next take is an EVALSHA.
   */
  private async probe(): Promise<void> {
    if (this.probing || this.closed || !this.isDegraded || this.client.status !== 'ready') return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const answered = await Promise.race([
        this.client.script('LOAD', TAKE_SCRIPT).then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.timeoutMs);
        }),
      ]);
      if (answered && this.client.status === 'ready') this.setDegraded(false);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  private report(err: unknown): void {
    if (!this.onError) return;
    try {
      this.onError(redactError(err, this.secrets));
    } catch {
      // The caller's logger failing is not the limiter's problem to surface.
    }
  }
}

/**
 * A fresh Error with only the redacted message and code: the original may carry `command.args`
 * (the AUTH password), `options`, or a stack that repeats the message.
 */
export function redactError(err: unknown, secrets: readonly string[]): Error {
  let message = err instanceof Error ? err.message : String(err);
  for (const s of secrets) message = message.split(s).join('***');
  const out = new Error(`redis rate limiter: ${message}`);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') (out as Error & { code: string }).code = code;
  return out;
}
