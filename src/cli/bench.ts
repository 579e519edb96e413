import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
// Types only: the generator (undici, grpc-js, protobuf) loads when `bench` runs, so other
// commands and --help start without it.
import type { LoadOptions, LoadResult, Progress, Protocol, TargetSpec } from '../loadgen/index.js';

interface BenchOpts {
  url: string;
  grpcUrl: string;
  protocol: Protocol;
  model: string;
  modelVersion?: string;
  inputShape: string[];
  batch: number;
  concurrency?: number;
  rate?: number;
  duration: number;
  requests?: number;
  warmup: number;
  connections?: number;
  threads: number;
  latencyBound?: number;
  priorities?: string;
  seed: number;
  json?: boolean;
}

const num =
  (flag: string, int = false) =>
  (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n)))
      throw new Error(`${flag}: expected a number, got '${v}'`);
    return n;
  };
const collect = (v: string, prev: string[]) => [...prev, v];

/** `infergate bench`: load-tests a served model and prints throughput, latency quantiles and errors. */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('load-test a model over KServe v2 (HTTP JSON, HTTP binary or gRPC), closed or open loop')
    .requiredOption('-m, --model <name>', 'model name')
    .option('-u, --url <url>', 'server HTTP address', 'http://127.0.0.1:8000')
    .option('--grpc-url <host:port>', 'server gRPC address', '127.0.0.1:8001')
    .option('-p, --protocol <p>', 'http-json | http-binary | grpc', 'http-binary')
    .option('--model-version <v>', 'model version (default: the version policy picks)')
    .option(
      '--input-shape <name:d0,d1>',
      'full input shape, batch included (repeatable; default from metadata)',
      collect,
      [],
    )
    .option('-b, --batch <n>', 'batch dim of each request', num('--batch', true), 1)
    .option('-c, --concurrency <n>', 'closed loop: requests in flight (default 8)', num('--concurrency', true))
    .option(
      '-r, --rate <req/s>',
      'open loop: Poisson arrivals per second (latency from the scheduled time)',
      num('--rate'),
    )
    .option('-d, --duration <s>', 'measured seconds', num('--duration'), 10)
    .option('-n, --requests <n>', 'stop after this many measured requests', num('--requests', true))
    .option('-w, --warmup <s>', 'warm-up seconds (sent, not measured)', num('--warmup'), 2)
    .option(
      '--connections <n>',
      'HTTP connections / gRPC channels (default: concurrency, or 64 open loop)',
      num('--connections', true),
    )
    .option('--threads <n>', 'generator worker threads (0 = this thread)', num('--threads', true), 0)
    .option('--latency-bound <ms>', 'report goodput: successes within this latency', num('--latency-bound'))
    .option('--priorities <list>', "send request 'priority' parameters round-robin, e.g. 1,2")
    .option('--seed <n>', 'seed of the random inputs and arrivals', num('--seed', true), 1)
    .option('--json', 'print the result as JSON')
    .action(async (opts: BenchOpts) => {
      try {
        const result = await bench(opts);
        const { formatResult } = await import('../loadgen/index.js');
        console.log(opts.json ? JSON.stringify(result, null, 2) : formatResult(result));
      } catch (err) {
        console.error(`infergate bench: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    });
}

async function bench(o: BenchOpts): Promise<LoadResult> {
  if (!['http-json', 'http-binary', 'grpc'].includes(o.protocol)) throw new Error(`unknown --protocol '${o.protocol}'`);
  if (o.concurrency !== undefined && o.rate !== undefined) throw new Error('give --concurrency or --rate, not both');
  const {
    constantRate,
    createTarget,
    fetchModelInputs,
    parseShapeOverrides,
    resolveInputs,
    runLoad,
    runLoadInThreads,
  } = await import('../loadgen/index.js');
  const url = o.protocol === 'grpc' ? o.grpcUrl : o.url;
  const meta = await fetchModelInputs(url, o.model, o.modelVersion);
  const inputs = resolveInputs(meta, o.batch, parseShapeOverrides(o.inputShape));
  const concurrency = o.concurrency ?? 8;
  const variants = o.priorities ? o.priorities.split(',').map((p) => ({ priority: Number(p) })) : undefined;
  const spec: TargetSpec = {
    protocol: o.protocol,
    url,
    model: o.model,
    version: o.modelVersion,
    inputs,
    variants,
    connections: o.connections ?? (o.rate !== undefined ? 64 : concurrency),
    seed: o.seed,
  };
  const load: LoadOptions = {
    mode:
      o.rate !== undefined
        ? { kind: 'open', profile: constantRate(o.rate), seed: o.seed }
        : { kind: 'closed', concurrency },
    durationMs: o.requests !== undefined && o.duration === 10 ? Number.POSITIVE_INFINITY : o.duration * 1000,
    requests: o.requests,
    warmupMs: o.warmup * 1000,
    batch: inputs[0]?.shape[0] ?? o.batch,
    variants: variants?.length,
    latencyBoundMs: o.latencyBound,
  };
  const progress = progressDisplay(!o.json || process.stderr.isTTY);
  try {
    if (o.threads > 0) return await runLoadInThreads(spec, { ...load, onProgress: progress.update }, o.threads);
    const target = createTarget(spec);
    try {
      return await runLoad(target, { ...load, onProgress: progress.update });
    } finally {
      await target.close();
    }
  } finally {
    progress.stop();
  }
}

/** A progress bar on a terminal, a plain line every two seconds otherwise (logs, CI). */
function progressDisplay(enabled: boolean): { update: (p: Progress) => void; stop: () => void } {
  if (!enabled) return { update: () => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        format: '{phase} [{bar}] {elapsed}/{total} s | ok {ok} | errors {errors} | in flight {inflight}',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
    let started = false;
    return {
      update: (p) => {
        const payload = {
          phase: p.phase.padEnd(7),
          elapsed: Math.round(p.elapsedMs / 1000),
          total: Math.round(p.totalMs / 1000),
          ok: p.ok,
          errors: p.errors,
          inflight: p.inFlight,
        };
        if (!started) bar.start(Math.max(1, p.totalMs), 0, payload);
        started = true;
        bar.update(Math.min(p.elapsedMs, p.totalMs), payload);
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = 0;
  return {
    update: (p) => {
      if (p.elapsedMs - last < 2000) return;
      last = p.elapsedMs;
      process.stderr.write(
        `${p.phase} ${(p.elapsedMs / 1000).toFixed(0)}/${(p.totalMs / 1000).toFixed(0)} s ok ${p.ok} errors ${p.errors} in flight ${p.inFlight}\n`,
      );
    },
    stop: () => {},
  };
}
