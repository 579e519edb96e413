// The response cache's figures (issue #16 acceptance):
//   ResNet-50 hit vs miss, end to end: one server process serving the bench's ResNet-50 (built
//     offline with random weights by bench/models.ts) with response_cache on; HTTP binary at
//     concurrency 1; misses are fresh random images, hits repeat one image. Target: a hit ≥ 20x
//     faster than a miss (p50). With redis-server installed, the same through a Redis-only cache
//     (--cache-memory-bytes 0) on a throwaway local Redis.
//   hashing on a miss, on the digits-MLP shape (1 × 784 FP32): ns per key (requestDigest +
//     responseKey), and what a miss costs in the Router (instant scheduler; key, lookup, encode and
//     store) against a model without response_cache. Target: hashing ≤ 10 µs.
//   npm run bench:cache [-- --misses 20 --hits 100 --rounds 15 --calls 20000 --skip-e2e]
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { ResponseCache } from '../src/cache/cache.js';
import { requestDigest, responseKey } from '../src/cache/key.js';
import { MemoryTier } from '../src/cache/memory-tier.js';
import { HttpClient } from '../src/client/http-client.js';
import { callContext, type InferRequest, type Tensor } from '../src/core/index.js';
import { createLogger } from '../src/observability/logger.js';
import { StatsRegistry } from '../src/observability/stats-registry.js';
import { Router } from '../src/router/router.js';
// @ts-expect-error a plain .mjs helper shared with the test runner
import { redisBin, startRedis } from '../scripts/services/redis.mjs';
import {
  argValue,
  handlesRepo,
  instantScheduler,
  median,
  mlpHandle,
  quantile,
  startServerProcess,
  stopProcess,
} from './lib.js';
import { configText, ensureModelFile, MODELS } from './models.js';

const MISSES = Number(argValue('misses', '20'));
const HITS = Number(argValue('hits', '100'));
const ROUNDS = Number(argValue('rounds', '15'));
const CALLS = Number(argValue('calls', '20000'));
const SKIP_E2E = process.argv.includes('--skip-e2e');
const HASH_BUDGET_NS = 10_000;
const RATIO_TARGET = 20;

// --- hashing and the miss path on the MLP shape ------------------------------------------------

const instant = instantScheduler({ name: 'probs', datatype: 'FP32', shape: [1, 10], data: new Float32Array(10) });

const handles = [mlpHandle('plain', instant, 'probs'), mlpHandle('cached', instant, 'probs', { responseCache: true })];
const router = new Router({
  repository: handlesRepo(handles),
  stats: new StatsRegistry(),
  logger: createLogger({ level: 'silent', format: 'json' }),
  serverName: 'bench',
  serverVersion: '0',
  extensions: [],
  serving: () => true,
  cache: new ResponseCache({ memory: new MemoryTier({ maxBytes: 64 << 20 }), ttlMs: 300_000 }),
});
const image = new Float32Array(784).map((_, i) => (i % 17) / 17);
const request = (model: string): InferRequest => ({
  model,
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: image }],
  parameters: {},
});

function nsPerKey(calls: number): number {
  const req = request('cached');
  const spec = handles[1]!.spec;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    image[0] = i; // every key new, as on a miss
    responseKey(undefined, spec, requestDigest(req));
  }
  return Number(process.hrtime.bigint() - t0) / calls;
}

/** ns per call through the Router; every call of `cached` has a new input, so each is a miss and a store. */
async function nsPerCall(model: string, calls: number, from: number): Promise<number> {
  const req = request(model);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    image[0] = from + i;
    await router.infer(req, callContext({ protocol: 'http' }));
  }
  return Number(process.hrtime.bigint() - t0) / calls;
}

async function micro(): Promise<number> {
  nsPerKey(5000);
  for (const m of ['plain', 'cached']) await nsPerCall(m, 5000, 1e6);
  const keyNs: number[] = [];
  const per: Record<string, number[]> = { plain: [], cached: [] };
  for (let r = 0; r < ROUNDS; r++) {
    keyNs.push(nsPerKey(CALLS));
    for (const m of r % 2 === 0 ? ['plain', 'cached'] : ['cached', 'plain'])
      per[m]!.push(await nsPerCall(m, CALLS, 2e6 + r * CALLS));
  }
  const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
  const added = median(sorted(per['cached']!.map((v, i) => v - per['plain']![i]!)));
  const t = new Table({ head: ['MLP shape (1 × 784 FP32), medians of rounds', 'ns', 'target'] });
  t.push(['hashing: requestDigest + responseKey', median(sorted(keyNs)).toFixed(0), `≤ ${HASH_BUDGET_NS}`]);
  t.push(['router call, model without response_cache', median(sorted(per['plain']!)).toFixed(0), '']);
  t.push(['router call, cache miss (key, lookup, encode, store)', median(sorted(per['cached']!)).toFixed(0), '']);
  t.push(['added by the cache on a miss', added.toFixed(0), '']);
  console.log(t.toString());
  return median(sorted(keyNs));
}

// --- ResNet-50 end to end ----------------------------------------------------------------------

function randomImage(seed: number): Tensor {
  const data = new Float32Array(3 * 224 * 224);
  let s = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s / 2 ** 32;
  }
  return { name: 'images', datatype: 'FP32', shape: [1, 3, 224, 224], data };
}

async function hitVsMiss(label: string, extraArgs: string[], port: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ig-bench-cache-'));
  const m = MODELS.resnet50;
  mkdirSync(join(dir, 'resnet50', '1'), { recursive: true });
  copyFileSync(await ensureModelFile(m), join(dir, 'resnet50', '1', 'model.onnx'));
  writeFileSync(
    join(dir, 'resnet50', 'config.pbtxt'),
    `${configText(m, { suffix: '', batching: false })}response_cache { enable: true }\n`,
  );
  const child = await startServerProcess(
    [
      dir,
      '--http-port',
      String(port),
      '--grpc-port',
      String(port + 1),
      '--metrics-port',
      '0',
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    port,
  );
  const client = new HttpClient(`http://127.0.0.1:${port}`);
  try {
    const time = async (img: Tensor) => {
      const t0 = performance.now();
      await client.infer('resnet50', [img], { binary: true });
      return performance.now() - t0;
    };
    for (let i = 0; i < 3; i++) await time(randomImage(1e6 + i)); // warm the instances
    const same = randomImage(7);
    await time(same);
    await new Promise((r) => setTimeout(r, 100)); // a Redis store is sent without waiting
    const miss: number[] = [];
    const hit: number[] = [];
    // Interleaved, so the machine's drift hits both alike.
    for (let i = 0; i < Math.max(MISSES, HITS); i++) {
      if (i < MISSES) miss.push(await time(randomImage(i + 1)));
      for (let k = 0; k < Math.ceil(HITS / MISSES) && hit.length < HITS; k++) hit.push(await time(same));
    }
    const p = (a: number[], q: number) =>
      quantile(
        [...a].sort((x, y) => x - y),
        q,
      );
    const ratio = p(miss, 0.5) / p(hit, 0.5);
    const t = new Table({ head: [`ResNet-50, HTTP binary, c=1 (${label})`, 'p50 ms', 'p90 ms', 'n'] });
    t.push(['miss (fresh image: hash, run, store)', p(miss, 0.5).toFixed(2), p(miss, 0.9).toFixed(2), miss.length]);
    t.push(['hit (same image)', p(hit, 0.5).toFixed(2), p(hit, 0.9).toFixed(2), hit.length]);
    t.push(['miss / hit (p50)', `${ratio.toFixed(1)}x`, '', `target ≥ ${RATIO_TARGET}x`]);
    console.log(t.toString());
    return ratio;
  } finally {
    await client.close();
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const hashNs = await micro();
console.log(
  `hashing on a miss: ${(hashNs / 1000).toFixed(2)} µs (budget ${HASH_BUDGET_NS / 1000} µs): ${hashNs <= HASH_BUDGET_NS ? 'PASS' : 'FAIL'}`,
);
if (!SKIP_E2E) {
  const ratio = await hitVsMiss('in-process tier', [], 18970);
  console.log(
    `ResNet-50 hit vs miss: ${ratio.toFixed(1)}x (target ≥ ${RATIO_TARGET}x): ${ratio >= RATIO_TARGET ? 'PASS' : 'FAIL'}`,
  );
  if (redisBin()) {
    const redis = await startRedis();
    try {
      const r = await hitVsMiss('Redis tier only', ['--cache-memory-bytes', '0', '--cache-redis', redis.url], 18974);
      console.log(`ResNet-50 hit vs miss through Redis: ${r.toFixed(1)}x`);
    } finally {
      await redis.stop();
    }
  } else console.log('redis-server not installed: the Redis-tier figures are skipped');
}
