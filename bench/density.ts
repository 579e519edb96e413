/**
 * Dense hosting (issue #16 item 3): N copies of a small model in one server process.
 *
 *   npm run bench:density -- [--copies 100] [--model simple] [--args "--dedicated-worker-bytes 0"]
 *
 * Starts `infergate serve` as a child process twice, over an empty repository and over N copies
 * of `examples/models/<model>`, and reports for each: seconds until /v2/health/ready answers 200,
 * resident set size (VmRSS) and thread count of the process once ready and idle. The per-model
 * cost is (RSS(N) − RSS(empty)) / N, minus the model file's own size ("beyond its weights").
 * `--args` passes extra serve flags to both runs (e.g. to compare dedicated workers).
 * One request per copy checks that each one really serves.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnServer } from '../test/e2e/process.js';

const { values } = parseArgs({
  options: {
    copies: { type: 'string', default: '100' },
    model: { type: 'string', default: 'simple' },
    args: { type: 'string', default: '' },
    'timeout-s': { type: 'string', default: '300' },
  },
});
const copies = Number(values.copies);
const source = join('examples/models', values.model);
const extra = values.args.split(/\s+/).filter((a) => a !== '');
const timeoutMs = Number(values['timeout-s']) * 1000;

/** VmRSS and Threads of a process, from /proc. */
function procStatus(pid: number): { rssMb: number; threads: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? Number.NaN);
  return { rssMb: field('VmRSS') / 1024, threads: field('Threads') };
}

function makeRepo(n: number): string {
  const root = mkdtempSync(join(tmpdir(), 'ig-density-'));
  for (let i = 0; i < n; i++) {
    const dir = join(root, `${values.model}_${String(i).padStart(3, '0')}`);
    mkdirSync(dir);
    cpSync(join(source, '1'), join(dir, '1'), { recursive: true });
    const config = readFileSync(join(source, 'config.pbtxt'), 'utf8');
    writeFileSync(join(dir, 'config.pbtxt'), config.replace(/^name:.*$/m, `name: "${basename(dir)}"`));
  }
  return root;
}

async function until(ok: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const done = await ok().catch((err: Error) => (err.message.startsWith('the server exited') ? err : false));
    if (done instanceof Error) throw done;
    if (done) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

interface Run {
  readyS: number;
  rssMb: number;
  threads: number;
  served: number;
}

async function measure(n: number): Promise<Run> {
  const repo = makeRepo(n);
  const t0 = performance.now();
  const server = await spawnServer(repo, ['--no-grpc', ...extra]);
  try {
    const base = `http://127.0.0.1:${server.httpPort}`;
    let exited = false;
    void server.exited.then(() => {
      exited = true;
    });
    const ready = await until(async () => {
      if (exited) throw new Error(`the server exited:\n${server.log().slice(-2000)}`);
      return (await fetch(`${base}/v2/health/ready`)).status === 200;
    }, timeoutMs);
    const readyS = (performance.now() - t0) / 1000;
    if (!ready) throw new Error(`not ready after ${timeoutMs} ms:\n${server.log().slice(-2000)}`);
    let served = 0;
    for (let i = 0; i < n; i++) {
      const name = `${values.model}_${String(i).padStart(3, '0')}`;
      const r = await fetch(`${base}/v2/models/${name}/ready`);
      if (r.status === 200) served++;
    }
    // Idle: let warm-up garbage settle before reading the figures.
    await new Promise((r) => setTimeout(r, 2000));
    const { rssMb, threads } = procStatus(server.child.pid!);
    return { readyS, rssMb, threads, served };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(repo, { recursive: true, force: true });
  }
}

const weightsMb = statSync(join(source, '1', 'model.onnx')).size / 2 ** 20;
const empty = await measure(0);
const full = await measure(copies);
const perModel = (full.rssMb - empty.rssMb) / copies;
console.log(
  `model ${values.model} (${(weightsMb * 1024).toFixed(1)} KiB of weights), flags: ${extra.join(' ') || '-'}`,
);
console.log(
  `empty repository: ready ${empty.readyS.toFixed(2)} s, RSS ${empty.rssMb.toFixed(0)} MB, ${empty.threads} threads`,
);
console.log(
  `${copies} copies: ready ${full.readyS.toFixed(2)} s, RSS ${full.rssMb.toFixed(0)} MB, ${full.threads} threads, ${full.served}/${copies} ready`,
);
console.log(
  `per model: ${perModel.toFixed(2)} MB RSS (${(perModel - weightsMb).toFixed(2)} MB beyond weights), ${((full.threads - empty.threads) / copies).toFixed(2)} threads`,
);
