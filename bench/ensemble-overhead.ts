// What an ensemble adds per step (#17: ≤ 0.2 ms beyond the steps' own compute), on chains of 1, 2,
// 4 and 8 identity steps over a tiny FP32 [1, 16] tensor, served by one `infergate serve` process,
// called over HTTP binary at concurrency 1 (rounds alternate the chain lengths and a direct call
// to the identity model, so the machine's drift hits each alike).
//   per step  = the slope of the ensemble's p50 against its number of steps (least squares over
//               the four chains): everything one more step costs — the router pipeline of the step
//               call, its scheduler, the worker round trip, and the identity's compute;
//   compute   = the identity's compute_infer per execution from the server's statistics (the
//               step's own compute, what onnxruntime spends in the worker);
//   overhead  = per step − compute: what the ensemble machinery costs beyond the step's compute.
// The direct call's p50 is printed beside them (one HTTP round trip + one execution).
//   npm run bench:ensemble [-- --rounds 10 --per-round 300]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { HttpClient } from '../src/client/http-client.js';
import type { Tensor } from '../src/core/index.js';
import { buildModel, GraphBuilder } from '../src/onnx/index.js';
import { argValue, median, startServerProcess, stopProcess } from './lib.js';

const ROUNDS = Number(argValue('rounds', '10'));
const PER_ROUND = Number(argValue('per-round', '300'));
const CHAINS = [1, 2, 4, 8];
const BUDGET_MS = 0.2;

const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-ensemble-'));
const identity = buildModel(
  new GraphBuilder('identity')
    .input('x', 'FP32', ['batch', 16])
    .node('Identity', ['x'], ['y'])
    .output('y', 'FP32', ['batch', 16]),
);
mkdirSync(join(dir, 'identity', '1'), { recursive: true });
writeFileSync(join(dir, 'identity', '1', 'model.onnx'), identity);
writeFileSync(
  join(dir, 'identity', 'config.pbtxt'),
  'max_batch_size: 8\ninput [{ name: "x", data_type: TYPE_FP32, dims: [ 16 ] }]\noutput [{ name: "y", data_type: TYPE_FP32, dims: [ 16 ] }]\n',
);
for (const n of CHAINS) {
  const steps = Array.from({ length: n }, (_, i) => {
    const from = i === 0 ? 'IN' : `t${i}`;
    const to = i === n - 1 ? 'OUT' : `t${i + 1}`;
    return `{ model_name: "identity" model_version: -1 input_map { key: "x" value: "${from}" } output_map { key: "y" value: "${to}" } }`;
  });
  mkdirSync(join(dir, `chain${n}`, '1'), { recursive: true });
  writeFileSync(
    join(dir, `chain${n}`, 'config.pbtxt'),
    `platform: "ensemble"\nmax_batch_size: 8\ninput [{ name: "IN", data_type: TYPE_FP32, dims: [ 16 ] }]\noutput [{ name: "OUT", data_type: TYPE_FP32, dims: [ 16 ] }]\nensemble_scheduling { step [ ${steps.join(',\n')} ] }\n`,
  );
}

const HTTP = 18700 + Math.floor(Math.random() * 500);
const server = await startServerProcess(
  [dir, '--http-port', String(HTTP), '--grpc-port', '0', '--metrics-port', '0', '--log-level', 'warn'],
  HTTP,
);
const client = new HttpClient(`http://127.0.0.1:${HTTP}`);
const input = (): Tensor => ({ name: 'IN', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(1) });
const direct = (): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 16], data: new Float32Array(16).fill(1) });

async function p50(call: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < PER_ROUND; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms.sort((a, b) => a - b));
}

try {
  const targets: Array<[string, () => Promise<unknown>]> = [
    ['direct', () => client.infer('identity', [direct()], { binary: true })],
    ...CHAINS.map((n): [string, () => Promise<unknown>] => [
      `chain${n}`,
      () => client.infer(`chain${n}`, [input()], { binary: true }),
    ]),
  ];
  for (const [, call] of targets) await p50(call); // warm-up round
  const rounds = new Map<string, number[]>(targets.map(([k]) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? targets : [...targets].reverse();
    for (const [name, call] of order) rounds.get(name)!.push(await p50(call));
  }
  const med = (k: string) => median([...rounds.get(k)!].sort((a, b) => a - b));
  // Least-squares slope of p50 against the number of steps.
  const xs = CHAINS;
  const ys = CHAINS.map((n) => med(`chain${n}`));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const slope =
    xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) * (x - mx), 0);
  const stats = (await client.json('GET', '/v2/models/identity/stats')) as {
    model_stats: Array<{ execution_count: number; inference_stats: { compute_infer: { ns: number } } }>;
  };
  const s = stats.model_stats[0]!;
  const computeMs = s.inference_stats.compute_infer.ns / s.execution_count / 1e6;
  const t = new Table({ head: ['call', 'p50 ms (median of rounds)'] });
  t.push(['direct identity', med('direct').toFixed(3)]);
  for (const n of CHAINS) t.push([`ensemble, ${n} step${n > 1 ? 's' : ''}`, med(`chain${n}`).toFixed(3)]);
  console.log(t.toString());
  const overhead = slope - computeMs;
  console.log(
    `per step (slope): ${slope.toFixed(3)} ms; the step's own compute (compute_infer): ${computeMs.toFixed(3)} ms`,
  );
  console.log(
    `ensemble overhead per step beyond compute: ${overhead.toFixed(3)} ms (budget ${BUDGET_MS} ms): ${overhead <= BUDGET_MS ? 'PASS' : 'FAIL'}`,
  );
} finally {
  await client.close();
  await stopProcess(server);
  rmSync(dir, { recursive: true, force: true });
}
