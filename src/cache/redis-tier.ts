/**
 * The tier shared by replicas: a Redis (ioredis) holding each entry under `<prefix><key>` with a
 * PX TTL. Redis is optional and never a single point of failure (reliability.md R8):
 *   - every operation waits at most `timeoutMs` (50 ms by default), less when the call's deadline
 *     is nearer, and then answers `unavailable`: serving never waits longer than that on Redis and
 *     never fails because of it;
 *   - its own circuit breaker (resilience/breaker.ts, the fixed REDIS_BREAKER) opens after 5
 *     failures in a row (or half the operations of 2 s failing): operations are then skipped
 *     (bypassed, counted) without touching the network; after 1 s one probe at a time goes through,
 *     and its success closes the breaker, so a Redis that is back is used again within about a
 *     second of answering;
 *   - commands never queue while disconnected (no offline queue, no resend), so a dead or
 *     blackholed Redis cannot grow memory; a connection that stops answering is dropped after
 *     `socketTimeout` and ioredis reconnects in the background (at most 1 s between tries).
 * Secrets: the tier gets host, port and password as plain options (server/ parses the URL) and
 * never logs; errors handed to `onError` are rebuilt from a redacted message, because ioredis
 * attaches the failed command (AUTH … <password>) to its reply errors.
 */
import { Redis } from 'ioredis';
import { failFastOptions } from '../redis/connection.js';
import type { BreakerSpec } from '../core/model.js';
import { type BreakerState, CircuitBreaker } from '../resilience/breaker.js';
import type { CacheFailure } from '../observability/metrics.js';
import type { CacheTier, Lookup, TierCounters } from './types.js';

/** How to reach Redis, already parsed from the URL (which this module never sees). */
export interface RedisConnection {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
}

/** The tier's breaker: fast to open on a dead Redis, one probe a second while open (R8). */
export const REDIS_BREAKER: BreakerSpec = {
  failureRate: 0.5,
  consecutiveFailures: 5,
  // A slow answer already fails by timing out; an answer within the timeout is a success.
  slowCallMs: 0,
  windowMs: 2000,
  minimumCalls: 20,
  openMs: 1000,
  // Every half-open call may probe; RedisTier lets one probe run at a time.
  halfOpenShare: 1,
  halfOpenSuccesses: 1,
};

export interface RedisTierOptions {
  connection: RedisConnection;
  /** Key prefix (default `infergate:cache:`). */
  prefix?: string;
  /** Longest wait for one operation, in ms (default 50). */
  timeoutMs?: number;
  /** Largest value stored, in bytes (default 16 MiB); larger ones are refused and counted. */
  maxEntryBytes?: number;
  /** Monotonic ms for the breaker (default performance.now). */
  now?: () => number;
  /** Redacted errors (no password, no command arguments), for a debug log. */
  onError?(err: Error): void;
  /** Every change of the breaker's state (a log line). */
  onBreaker?(state: BreakerState): void;
}

const TIMEOUT = Symbol('timeout');
const UNANSWERED = Symbol('unanswered');
type Op = 'get' | 'set';
const zero = (): Record<CacheFailure, number> => ({ timeout: 0, error: 0, unavailable: 0 });

export class RedisTier implements CacheTier {
  readonly name = 'redis' as const;
  private readonly client: Redis;
  private readonly breaker: CircuitBreaker;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly maxEntryBytes: number;
  private readonly now: () => number;
  private readonly secrets: string[];
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly bypassed = { get: 0, set: 0 };
  private readonly failures = { get: zero(), set: zero() };
  private stores = 0;
  private tooLarge = 0;
  private probing = false;
  private everReady = false;
  private closed = false;

  constructor(o: RedisTierOptions) {
    this.prefix = o.prefix ?? 'infergate:cache:';
    this.timeoutMs = Math.max(1, o.timeoutMs ?? 50);
    this.maxEntryBytes = o.maxEntryBytes ?? 16 * 1024 * 1024;
    this.now = o.now ?? (() => performance.now());
    this.onError = o.onError;
    const pw = o.connection.password;
    this.secrets = pw ? [pw, encodeURIComponent(pw)] : [];
    this.breaker = new CircuitBreaker(REDIS_BREAKER, (to) => {
      try {
        o.onBreaker?.(to);
      } catch {
        // A log callback must not break the request path.
      }
    });
    this.client = new Redis(failFastOptions(o.connection, this.timeoutMs, 'infergate-cache'));
    // Without a listener ioredis prints errors (with their commands) to stderr.
    this.client.on('error', (err: unknown) => this.report(err));
    this.client.on('ready', () => {
      this.everReady = true;
    });
  }

  async get(key: string, budgetMs = Number.POSITIVE_INFINITY): Promise<Lookup> {
    const v = await this.op('get', budgetMs, () => this.client.getBuffer(this.prefix + key));
    if (v === UNANSWERED) return 'unavailable';
    // A copy: the reply may be a view into the parser's larger buffer, which the caller may keep.
    return v === null ? 'absent' : new Uint8Array(v);
  }

  async set(key: string, value: Uint8Array, ttlMs: number): Promise<boolean> {
    if (!(ttlMs > 0)) return false;
    if (value.byteLength > this.maxEntryBytes) {
      this.tooLarge++;
      return false;
    }
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const v = await this.op('set', Number.POSITIVE_INFINITY, () =>
      this.client.set(this.prefix + key, buf, 'PX', Math.ceil(ttlMs)),
    );
    if (v === UNANSWERED) return false;
    this.stores++;
    return true;
  }

  /** Resolves true once connected (false after `timeoutMs`): tests and start-up logs wait on it. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.client.on('ready', onReady);
    });
  }

  counters(): TierCounters {
    return {
      stores: this.stores,
      tooLarge: this.tooLarge,
      redis: {
        connected: !this.closed && this.client.status === 'ready',
        breaker: this.breaker.state,
        bypassed: { ...this.bypassed },
        failures: { get: { ...this.failures.get }, set: { ...this.failures.set } },
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // QUIT waits for Redis; a dead one must not hold the server's stop up.
      await Promise.race([this.client.quit(), new Promise((r) => setTimeout(r, 10 * this.timeoutMs).unref())]);
    } catch {
      // Already disconnected.
    }
    this.client.disconnect();
  }

  /** One operation within the breaker and the time limit; UNANSWERED when skipped, failed or late. */
  private async op<T>(op: Op, budgetMs: number, run: () => Promise<T>): Promise<T | typeof UNANSWERED> {
    const limit = Math.min(this.timeoutMs, budgetMs);
    // No time left is the call's affair, not Redis's: nothing is tried and nothing recorded.
    if (this.closed || !(limit > 0)) return UNANSWERED;
    const start = this.now();
    const ticket = this.breaker.admit(start);
    if ('refused' in ticket || (ticket.probe && this.probing)) {
      this.bypassed[op]++;
      return UNANSWERED;
    }
    if (this.client.status !== 'ready') {
      // Disconnected: the command would fail at once (no offline queue). Counting it lets the
      // breaker open and show the outage; before the first connection nothing is judged.
      this.failures[op].unavailable++;
      this.breaker.record(ticket, this.everReady ? false : undefined, start);
      return UNANSWERED;
    }
    if (ticket.probe) this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMEOUT), limit);
    });
    // Errors become values: the side of the race that loses must never reject unhandled.
    const result = await Promise.race([
      run().then(
        (v) => ({ v }),
        (err: unknown) => ({ err }),
      ),
      late,
    ]);
    clearTimeout(timer);
    if (ticket.probe) this.probing = false;
    const end = this.now();
    if (result === TIMEOUT) {
      // A wait cut short by the call's deadline says nothing about Redis.
      const judged = limit >= this.timeoutMs;
      if (judged) this.failures[op].timeout++;
      this.breaker.record(ticket, judged ? false : undefined, end);
      return UNANSWERED;
    }
    if ('err' in result) {
      this.failures[op].error++;
      this.report(result.err);
      this.breaker.record(ticket, false, end);
      return UNANSWERED;
    }
    this.breaker.record(ticket, true, end);
    return result.v;
  }

  /** A fresh Error with only the redacted message and code (the original may carry AUTH arguments). */
  private report(err: unknown): void {
    if (!this.onError) return;
    let message = err instanceof Error ? err.message : String(err);
    for (const s of this.secrets) message = message.split(s).join('***');
    const out = new Error(`redis cache: ${message}`);
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string') (out as Error & { code: string }).code = code;
    try {
      this.onError(out);
    } catch {
      // The caller's logger failing is not the cache's to surface.
    }
  }
}
