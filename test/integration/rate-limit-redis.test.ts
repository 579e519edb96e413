// The shared rate limiter (reliability.md S18) against a real redis-server: two limiters stand for
// two replicas. The shared server (started once per run by scripts/run-tests.mjs) carries the
// sharing and Retry-After checks; the outage test starts a private, password-protected server so
// that stopping, freezing and restarting it disturbs no other test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../../src/auth/redis-limiter.js';
import { RedisUrlError } from '../../src/redis/connection.js';
import { TokenBuckets } from '../../src/auth/token-bucket.js';
import type { Admission, RateLimiter } from '../../src/auth/types.js';
import { freshPrefix, MISSING_REDIS, redisInstalled, startServer, testRedisUrl } from '../services/redis.js';

interface Sample {
  t0: number;
  t1: number;
  a: Admission;
}
type Limit = { rate: number; burst: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(lim: RateLimiter, key: string, limit: Limit): Promise<Sample> {
  const t0 = performance.now();
  const a = await lim.take(key, limit);
  return { t0, t1: performance.now(), a };
}

/** Offers `perSec` takes a second for `durationMs`, paced against the start time (catching up after a stall). */
async function drive(lim: RateLimiter, key: string, limit: Limit, perSec: number, durationMs: number) {
  const pending: Promise<Sample>[] = [];
  const start = performance.now();
  let sent = 0;
  for (let el = 0; el < durationMs; el = performance.now() - start) {
    const due = Math.floor((el * perSec) / 1000) + 1;
    for (; sent < due; sent++) pending.push(timed(lim, key, limit));
    await sleep(5);
  }
  return Promise.all(pending);
}

/** Polls until `cond` holds; answers the ms it took, or throws after `maxMs`. */
async function until(cond: () => boolean, maxMs: number, what: string): Promise<number> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > maxMs) throw new Error(`not within ${maxMs} ms: ${what}`);
    await sleep(10);
  }
  return performance.now() - start;
}

describe('RedisRateLimiter on a real redis-server', () => {
  test('two replicas share one bucket: together ≤ burst + rate × elapsed, a quiet key is never refused', async (t) => {
    const url = await testRedisUrl();
    if (!url) return t.skip(MISSING_REDIS);
    const prefix = freshPrefix();
    const flips: boolean[] = [];
    // A generous timeout here: on a busy 2-core machine a 50 ms stall would hand this check to the
    // fallback (a fresh local burst) and measure the fallback instead of the sharing.
    const mk = () =>
      new RedisRateLimiter({
        url,
        prefix,
        timeoutMs: 500,
        fallback: new TokenBuckets(),
        onDegraded: (d) => flips.push(d),
      });
    const replicas = [mk(), mk()];
    try {
      const p1 = { rate: 100, burst: 200 };
      const start = performance.now();
      const runs = await Promise.all([
        ...replicas.map((r) => drive(r, 'P1', p1, 300, 3000)),
        ...replicas.map((r) => drive(r, 'P2', p1, 25, 3000)),
      ]);
      const hot = [...runs[0]!, ...runs[1]!];
      const quiet = [...runs[2]!, ...runs[3]!];
      const elapsedS = (Math.max(...hot.map((s) => s.t1)) - start) / 1000;
      const admitted = hot.filter((s) => s.a.ok).length;
      const bound = p1.burst + p1.rate * elapsedS * 1.1;
      // After the burst is spent (by ~0.4 s at 600 offered/s against 100 refilled), the pair admits the rate.
      const steady = hot.filter((s) => s.a.ok && s.t1 - start >= 1000).length / (elapsedS - 1);
      const latencies = hot.map((s) => s.t1 - s.t0).sort((x, y) => x - y);
      const refusedRetry = hot.flatMap((s) => (s.a.ok ? [] : [s.a.retryAfterMs]));
      t.diagnostic(
        `pair offered ${hot.length} in ${elapsedS.toFixed(2)} s, admitted ${admitted} (bound ${bound.toFixed(0)}), ` +
          `steady ${steady.toFixed(1)}/s; take p50 ${latencies[latencies.length >> 1]?.toFixed(2)} ms, ` +
          `p99 ${latencies[Math.floor(latencies.length * 0.99)]?.toFixed(2)} ms; ` +
          `Retry-After ${Math.min(...refusedRetry)}–${Math.max(...refusedRetry)} ms`,
      );
      assert.deepEqual(flips, [], 'Redis answered every take: no fallback');
      assert.ok(admitted <= bound, `admitted ${admitted} > ${bound}`);
      assert.ok(admitted >= 0.85 * (p1.burst + p1.rate * (elapsedS - 0.1)), `admitted only ${admitted}`);
      assert.ok(steady >= 90 && steady <= 110, `steady ${steady}/s`);
      // cost 1 at 100/s: a token is at most 10 ms away
      for (const r of refusedRetry) assert.ok(r >= 1 && r <= 10, `Retry-After ${r}`);
      assert.equal(quiet.filter((s) => !s.a.ok).length, 0, 'P2 at 50/s is never refused');
      assert.ok(quiet.length >= 140);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  test('Retry-After is never shorter than the real wait, seen from either replica', async (t) => {
    const url = await testRedisUrl();
    if (!url) return t.skip(MISSING_REDIS);
    const prefix = freshPrefix();
    const [a, b] = [0, 1].map(
      () => new RedisRateLimiter({ url, prefix, timeoutMs: 500, fallback: new TokenBuckets() }),
    );
    try {
      const limit = { rate: 5, burst: 3 }; // one token per 200 ms: waits long enough to time
      for (let round = 0; round < 3; round++) {
        while ((await a!.take('R', limit)).ok);
        const refused = await b!.take('R', limit);
        assert.equal(refused.ok, false);
        const wait = (refused as { retryAfterMs: number }).retryAfterMs;
        assert.ok(wait > 100 && wait <= 200, `Retry-After ${wait}`);
        await sleep(wait - 60);
        assert.equal((await a!.take('R', limit)).ok, false, 'too early: the token does not exist yet');
        await sleep(60);
        assert.deepEqual(await a!.take('R', limit), { ok: true }, 'after Retry-After the caller is admitted');
      }
      assert.equal(a!.degraded() || b!.degraded(), false);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('Redis frozen, killed and restarted: fallback within the timeout, degraded and back, no password leaks', async (t) => {
    if (!redisInstalled()) {
      if (process.env.CI === 'true') throw new Error(MISSING_REDIS);
      return t.skip(MISSING_REDIS);
    }
    const password = `canary-${Math.random().toString(36).slice(2)}-pw`;
    let server = await startServer({ password });
    // Everything the limiters could say: stdout/stderr writes, onError, unhandled rejections.
    const said: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const writes = [process.stdout, process.stderr].map((stream) => {
      const orig = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: never[]) => {
        said.push(String(chunk));
        return orig(chunk as string, ...rest);
      }) as typeof stream.write;
      return () => {
        stream.write = orig;
      };
    });
    const flips: boolean[][] = [[], [], []];
    const errors: Error[] = [];
    const prefix = freshPrefix();
    const mk = (i: number, u = server.url) =>
      new RedisRateLimiter({
        url: u,
        prefix,
        fallback: new TokenBuckets(),
        onDegraded: (d) => flips[i]?.push(d),
        onError: (e) => errors.push(e),
      });
    const [a, b] = [mk(0), mk(1)];
    const limit = { rate: 1, burst: 5 };
    try {
      // Shared while Redis is healthy: what a drains, b cannot take.
      for (let i = 0; i < 5; i++) assert.deepEqual(await a!.take('S', limit), { ok: true });
      assert.equal((await b!.take('S', limit)).ok, false);
      assert.equal(a!.degraded() || b!.degraded(), false);

      // A script cache flushed under us (a Redis restart does the same): NOSCRIPT → EVAL, no degradation.
      const admin = new Redis({ port: server.port, password, lazyConnect: true });
      admin.on('error', () => undefined);
      await admin.script('FLUSH');
      await admin.quit();
      assert.equal((await b!.take('S', limit)).ok, false);
      assert.deepEqual(flips, [[], [], []]);

      // Frozen (SIGSTOP): the socket stays open and Redis just stops answering.
      process.kill(server.pid, 'SIGSTOP');
      const frozen = await Promise.all([timed(a!, 'F', limit), timed(b!, 'F', limit)]);
      const frozenMs = Math.max(...frozen.map((s) => s.t1 - s.t0));
      assert.ok(frozenMs < 50 + 150, `a take waited ${frozenMs} ms on a frozen Redis`);
      assert.ok(frozen.every((s) => s.a.ok));
      assert.equal(a!.degraded() && b!.degraded(), true);
      assert.deepEqual(flips, [[true], [true], []]);
      // Per-replica limits while degraded: each fallback has its own burst for the same key.
      for (const lim of [a!, b!]) {
        let n = 0;
        while ((await lim.take('L', limit)).ok) n++;
        assert.equal(n, 5);
      }
      process.kill(server.pid, 'SIGCONT');
      const thawMs = await until(() => !a!.degraded() && !b!.degraded(), 8000, 'recovery after SIGCONT');
      assert.deepEqual(flips, [[true, false], [true, false], []]);

      // Killed: takes keep answering at once from the fallback while the clients reconnect.
      const port = server.port;
      await server.stop();
      const down = await drive(a!, 'D', { rate: 100, burst: 200 }, 200, 1000);
      const downMs = down.map((s) => s.t1 - s.t0).sort((x, y) => x - y);
      const downMax = downMs.at(-1) ?? 0;
      assert.ok(downMax < 50 + 150, `a take waited ${downMax} ms with Redis down`);
      assert.ok(a!.degraded() && (await until(() => b!.degraded(), 3000, 'b degraded')) >= 0);
      assert.deepEqual(flips[0], [true, false, true]);
      // A replica that starts while Redis is down: its first take waits at most the timeout.
      const late = mk(2);
      const first = await timed(late, 'D', limit);
      assert.ok(first.a.ok && first.t1 - first.t0 < 50 + 150, `first take ${first.t1 - first.t0} ms`);
      await until(() => late.degraded(), 3000, 'a limiter started without Redis is degraded');

      // Restarted on the same port: both replicas find it again and share buckets again.
      const restarted = performance.now();
      server = await startServer({ port, password });
      const recoverMs = await until(
        () => !a!.degraded() && !b!.degraded() && !late.degraded(),
        5000,
        'recovery after restart',
      );
      await late.close();
      const shared = { rate: 1, burst: 3 };
      for (let i = 0; i < 3; i++) assert.deepEqual(await a!.take('S2', shared), { ok: true });
      assert.equal((await b!.take('S2', shared)).ok, false, 'shared limiting resumed');
      t.diagnostic(
        `frozen: slowest take ${frozenMs.toFixed(1)} ms, recovered ${thawMs.toFixed(0)} ms after SIGCONT; ` +
          `down: ${down.length} takes, p50 ${downMs[downMs.length >> 1]?.toFixed(3)} ms, max ${downMax.toFixed(2)} ms; ` +
          `restart: not degraded ${(performance.now() - restarted).toFixed(0)} ms after start (${recoverMs.toFixed(0)} ms after ready)`,
      );

      // A wrong password: answered by the fallback, and the error says WRONGPASS without the password.
      const wrong = `wrong-${password}`;
      const c = mk(0, `redis://:${wrong}@127.0.0.1:${port}`);
      assert.deepEqual(await c.take('W', limit), { ok: true });
      await until(() => c.degraded(), 3000, 'wrong password degrades');
      await c.close();
      assert.ok(
        errors.some((e) => /WRONGPASS|NOAUTH|invalid username-password/i.test(e.message)),
        errors.map((e) => e.message).join('\n'),
      );
      // A URL that does not parse: the constructor's error does not echo it.
      const bad = `redis://:${password}@[not-a-host`;
      const thrown = (() => {
        try {
          mk(0, bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(thrown instanceof RedisUrlError);
      const everything = [
        ...said,
        ...errors.map((e) => `${inspect(e, { depth: 5, showHidden: true })} ${e.stack} ${JSON.stringify(e)}`),
        inspect(thrown, { depth: 5, showHidden: true }),
        ...unhandled.map((e) => inspect(e)),
      ].join('\n');
      assert.ok(errors.length > 0);
      assert.deepEqual(flips[2], [true, false]);
      assert.equal(everything.includes(password), false, 'the password appears in what the limiter said');
      assert.equal(everything.includes(encodeURIComponent(password)), false);
      assert.deepEqual(unhandled, []);
    } finally {
      for (const restore of writes) restore();
      process.off('unhandledRejection', onUnhandled);
      await Promise.all([a!.close(), b!.close()]);
      await server.stop();
    }
  });
});
