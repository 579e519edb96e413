// Shared helpers for the benchmarks: percentiles, starting a server as a child process, waiting.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DEFAULT_EXECUTION } from '../src/config/execution.js';
import type { ModelVersionSpec, Tensor } from '../src/core/index.js';
import type { ModelRepositoryApi, VersionHandle } from '../src/repository/types.js';
import type { JobResult, Scheduler } from '../src/scheduler/types.js';
import { REPO } from './models.js';

/** The value after `--name` on this process's command line, else `def`. */
export function argValue(name: string, def: string): string {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : def;
}

/** A scheduler that answers every job at once with `output`: a figure is then the pipeline's, not a model's. */
export function instantScheduler(output: Tensor): Scheduler {
  const result: JobResult = {
    outputs: [output],
    timing: { inputNs: 0, inferNs: 0, outputNs: 0 },
    queueNs: 0,
    executedBatchSize: 1,
  };
  return {
    pending: 0,
    inflight: 0,
    submit: () => Promise.resolve(result),
    drain: async () => {},
    abandon: () => {},
  };
}

/** Version 1 of `model`, shaped like the digits MLP (1 × 784 FP32 in, 10 out), answered by `scheduler`. */
export function mlpHandle(
  model: string,
  scheduler: Scheduler,
  output: string,
  extra: Partial<ModelVersionSpec> = {},
): VersionHandle {
  const spec: ModelVersionSpec = {
    model,
    version: 1,
    path: '/nowhere',
    maxBatchSize: 64,
    inputs: [{ name: 'input', datatype: 'FP32', dims: [784] }],
    outputs: [{ name: output, datatype: 'FP32', dims: [10] }],
    instances: 1,
    execution: DEFAULT_EXECUTION,
    warmup: [],
    ...extra,
  };
  return { model, version: 1, spec, config: {}, scheduler };
}

/** The repository a bench's in-process Router reads: `handles`, all READY. */
export function handlesRepo(handles: readonly VersionHandle[]): ModelRepositoryApi {
  return {
    readyVersions: (m: string) => handles.filter((h) => h.model === m),
    modelVersions: () => [],
    allReady: () => true,
    subscribe: () => () => {},
  } as unknown as ModelRepositoryApi;
}

/** The q-quantile (0..1) of already sorted numbers (nearest rank). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of already sorted numbers (the mean of the middle two for an even count). */
export function median(sorted: number[]): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Latency summary in milliseconds. */
export function summarize(samplesMs: number[]): { n: number; p50: number; p90: number; p99: number; mean: number } {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: quantile(s, 0.5),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}

/** Starts `infergate serve` in its own process and resolves once it answers ready. */
export async function startServerProcess(args: string[], httpPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [resolve('bin/infergate.js'), 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/v2/health/ready`);
      if (r.status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become ready in 120 s');
}

/** Starts `infergate serve` on the bench repository with `models` loaded (explicit control, warn logs). */
export function serveBench(
  models: string[],
  ports: { http: number; grpc: number; metrics?: number },
): Promise<ChildProcess> {
  const args = [`${REPO}/repo`, '--http-port', String(ports.http), '--grpc-port', String(ports.grpc)];
  // 0 = any free port: several benches may run a server each without fighting over 8002.
  args.push('--metrics-port', String(ports.metrics ?? 0), '--model-control-mode', 'explicit', '--log-level', 'warn');
  for (const m of models) args.push('--load-model', m);
  return startServerProcess(args, ports.http);
}

/** Sends SIGINT (a stop without the SIGTERM drain period: nothing balances load here) and waits for the exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await done;
}
