// What TLS costs in throughput (#14): requests/s of a plaintext server and of the same server with
// --tls-cert/--tls-key (a throwaway CA from test/services/pki.ts, RSA-2048 server key), on the
// digits MLP (examples/models, as it ships) and on ResNet-50 (bench/models.ts, random weights, two
// instances; without dynamic batching unless --batching: on 2 cores the batches that form at
// concurrency 4 swing the rate ±40% from window to window, which drowns what TLS costs), over HTTP
// binary and gRPC. Both servers start once and stay up; clients (to `localhost`, the certificate's
// name) keep their connections (handshakes happen in the warm-up: this is steady-state record
// encryption, not connection setup). Closed loop, `--concurrency` requests in flight (HTTP: one
// keep-alive connection each; gRPC: one channel, multiplexed over one HTTP/2 connection), for a
// fixed time per window; each round runs plaintext and TLS back to back, in alternating order, and
// the ratio TLS ÷ plaintext is taken per round — its median is the figure. Default run ≈ 2.5 min.
//   npm run bench:tls [-- --models digits,resnet50 --rounds 8 --seconds 1.5 --resnet-rounds 4
//                        --resnet-seconds 4 --concurrency 4 --warmup 4 --resnet-warmup 2 --batching]
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { credentials } from '@grpc/grpc-js';
import Table from 'cli-table3';
import { GrpcClient } from '../src/client/grpc-client.js';
import { HttpClient } from '../src/client/http-client.js';
import type { Tensor } from '../src/core/index.js';
import { makePki } from '../test/services/pki.js';
import { median, stopProcess } from './lib.js';
import { MODELS, REPO, writeServed } from './models.js';

const argv = process.argv.slice(2);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const NAMES = value('models', 'digits,resnet50').split(',');
const ROUNDS = Number(value('rounds', '8'));
const RESNET_ROUNDS = Number(value('resnet-rounds', '4'));
const SECONDS = Number(value('seconds', '1.5'));
const RESNET_SECONDS = Number(value('resnet-seconds', '4'));
const CONCURRENCY = Number(value('concurrency', '4'));
const WARMUP = Number(value('warmup', '4'));
const RESNET_WARMUP = Number(value('resnet-warmup', '2'));
const BATCHING = argv.includes('--batching');
const PORTS = { plain: { http: 18960, grpc: 18961 }, tls: { http: 18962, grpc: 18963 } };
const DIGITS = 'examples/models/digits';

type Mode = 'plaintext' | 'TLS';
type Protocol = 'HTTP binary' | 'gRPC';

interface BenchTarget {
  name: string;
  served: string;
  input: () => Tensor[];
  rounds: number;
  seconds: number;
  /** Warm-up per protocol and mode, s (the digits server's rate climbs for ~10 s after start). */
  warmup: number;
}

function targets(): BenchTarget[] {
  const r50 = MODELS.resnet50;
  const images = new Float32Array(3 * 224 * 224).map((_, i) => ((i * 7919) % 255) / 255);
  const pixels = new Float32Array(784).map((_, i) => (i % 13) / 13);
  const all: Record<string, BenchTarget> = {
    digits: {
      name: 'digits MLP',
      served: 'digits',
      input: () => [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: pixels }],
      rounds: ROUNDS,
      seconds: SECONDS,
      warmup: WARMUP,
    },
    resnet50: {
      name: 'ResNet-50',
      served: `${r50.name}_tls`,
      input: () => [{ name: r50.input.name, datatype: 'FP32', shape: [1, ...r50.input.dims], data: images }],
      rounds: RESNET_ROUNDS,
      seconds: RESNET_SECONDS,
      warmup: RESNET_WARMUP,
    },
  };
  return NAMES.map((n) => {
    const t = all[n];
    if (!t) throw new Error(`unknown model '${n}' (${Object.keys(all).join(', ')})`);
    return t;
  });
}

/** The served copies in the bench repository: the digits MLP as it ships, ResNet-50 as bench:ratio serves it. */
async function prepareRepo(list: BenchTarget[]): Promise<void> {
  for (const t of list) {
    if (t.served === 'digits') {
      if (!existsSync(join(DIGITS, '1', 'model.onnx')))
        throw new Error(`${DIGITS}/1/model.onnx is missing: run \`npm run examples\` first`);
      rmSync(join(REPO, 'repo', 'digits'), { recursive: true, force: true });
      cpSync(DIGITS, join(REPO, 'repo', 'digits'), { recursive: true });
    } else {
      await writeServed(MODELS.resnet50, { suffix: '_tls', batching: BATCHING });
    }
  }
}

/** `infergate serve` in its own process, ready once `client` answers /v2/health/ready (over TLS where it must). */
async function serve(args: string[], client: HttpClient): Promise<ChildProcess> {
  const child = spawn(process.execPath, [resolve('bin/infergate.js'), 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if ((await client.status('/v2/health/ready').catch(() => 0)) === 200) return child;
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become ready in 180 s');
}

/** The protocol version and cipher suite a client negotiates with the TLS server (for the record). */
function negotiated(port: number, ca: Buffer): Promise<string> {
  return new Promise((ok, fail) => {
    const sock = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      ok(`${sock.getProtocol()} ${sock.getCipher().standardName}`);
      sock.end();
    });
    sock.once('error', fail);
  });
}

/** One window: completed requests per second, and the slowest request (ms: a stall shows here). */
interface Window {
  perSec: number;
  maxMs: number;
}

/** Closed loop: `concurrency` callers back to back until `seconds` pass; completed requests / elapsed. */
async function closedLoop(call: () => Promise<unknown>, seconds: number): Promise<Window> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let done = 0;
  let maxMs = 0;
  const worker = async () => {
    for (let t = performance.now(); t < end; ) {
      await call();
      const now = performance.now();
      maxMs = Math.max(maxMs, now - t);
      t = now;
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { perSec: done / ((performance.now() - t0) / 1000), maxMs };
}

async function main(): Promise<void> {
  const list = targets();
  await prepareRepo(list);
  const pki = makePki();
  const ca = pki.pem('ca.crt');
  const base = (p: { http: number; grpc: number }) => {
    const a = [`${REPO}/repo`, '--http-port', String(p.http), '--grpc-port', String(p.grpc), '--metrics-port', '0'];
    a.push('--model-control-mode', 'explicit', '--log-level', 'warn');
    for (const t of list) a.push('--load-model', t.served);
    return a;
  };
  const http: Record<Mode, HttpClient> = {
    plaintext: new HttpClient(`http://localhost:${PORTS.plain.http}`, { connections: CONCURRENCY }),
    TLS: new HttpClient(`https://localhost:${PORTS.tls.http}`, { connections: CONCURRENCY, tls: { ca } }),
  };
  const grpc: Record<Mode, GrpcClient> = {
    plaintext: new GrpcClient(`localhost:${PORTS.plain.grpc}`),
    TLS: new GrpcClient(`localhost:${PORTS.tls.grpc}`, { credentials: credentials.createSsl(ca) }),
  };
  const servers: ChildProcess[] = [];
  let suite = '';
  /** The slowest request of each window, ms. */
  const slowest: typeof rates = {};
  const rates: Record<string, Record<Protocol, Record<Mode, number[]>>> = {};
  try {
    process.stderr.write('starting the plaintext and the TLS server…\n');
    servers.push(await serve(base(PORTS.plain), http.plaintext));
    servers.push(
      await serve(
        [...base(PORTS.tls), '--tls-cert', pki.p('server1.crt'), '--tls-key', pki.p('server1.key')],
        http.TLS,
      ),
    );
    // The TLS server must not answer plaintext (else the comparison compares nothing).
    const bare = new HttpClient(`http://127.0.0.1:${PORTS.tls.http}`, { connections: 1 });
    const plainAnswered = (await bare.status('/v2/health/live').catch(() => 0)) !== 0;
    await bare.close();
    if (plainAnswered) throw new Error('the TLS server answered a plaintext request');
    suite = await negotiated(PORTS.tls.http, ca);
    for (const t of list) {
      const calls: Record<Protocol, Record<Mode, () => Promise<unknown>>> = {
        'HTTP binary': {
          plaintext: () => http.plaintext.infer(t.served, t.input()),
          TLS: () => http.TLS.infer(t.served, t.input()),
        },
        gRPC: {
          plaintext: () => grpc.plaintext.infer(t.served, t.input()),
          TLS: () => grpc.TLS.infer(t.served, t.input()),
        },
      };
      // Warm-up: opens every connection (TLS handshakes), warms the JIT and the model's instances.
      for (const p of Object.values(calls)) for (const f of Object.values(p)) await closedLoop(f, t.warmup);
      const r: Record<Protocol, Record<Mode, number[]>> = {
        'HTTP binary': { plaintext: [], TLS: [] },
        gRPC: { plaintext: [], TLS: [] },
      };
      rates[t.name] = r;
      const w: Record<Protocol, Record<Mode, number[]>> = {
        'HTTP binary': { plaintext: [], TLS: [] },
        gRPC: { plaintext: [], TLS: [] },
      };
      slowest[t.name] = w;
      for (let round = 0; round < t.rounds; round++) {
        for (const proto of Object.keys(calls) as Protocol[]) {
          const order: Mode[] = round % 2 === 0 ? ['plaintext', 'TLS'] : ['TLS', 'plaintext'];
          for (const mode of order) {
            const x = await closedLoop(calls[proto][mode], t.seconds);
            r[proto][mode].push(x.perSec);
            w[proto][mode].push(x.maxMs);
          }
          const last = (m: Mode) => r[proto][m][r[proto][m].length - 1]!;
          const max = (m: Mode) => w[proto][m][w[proto][m].length - 1]!.toFixed(0);
          process.stderr.write(
            `  ${t.name} ${proto} round ${round + 1}/${t.rounds}: plaintext ${last('plaintext').toFixed(1)}/s (slowest ${max('plaintext')} ms), TLS ${last('TLS').toFixed(1)}/s (slowest ${max('TLS')} ms), ratio ${(last('TLS') / last('plaintext')).toFixed(3)}\n`,
          );
        }
      }
    }
  } finally {
    await http.plaintext.close();
    await http.TLS.close();
    grpc.plaintext.close();
    grpc.TLS.close();
    for (const s of servers) await stopProcess(s);
    rmSync(pki.dir, { recursive: true, force: true });
  }
  const med = (xs: number[]) => median([...xs].sort((a, b) => a - b));
  const t = new Table({
    style: { head: [], border: [] },
    head: [
      'model',
      'protocol',
      'rounds',
      'plaintext req/s',
      'TLS req/s',
      'TLS ÷ plaintext',
      'ratio min',
      'ratio max',
      'slowest ms plain / TLS',
    ],
  });
  const rows: Record<string, unknown>[] = [];
  for (const [model, byProto] of Object.entries(rates))
    for (const [proto, m] of Object.entries(byProto)) {
      const ratios = m.TLS.map((x, i) => x / m.plaintext[i]!).sort((a, b) => a - b);
      const row = {
        model,
        protocol: proto,
        rounds: ratios.length,
        plaintextPerSec: med(m.plaintext),
        tlsPerSec: med(m.TLS),
        ratio: median(ratios),
        ratioMin: ratios[0]!,
        ratioMax: ratios[ratios.length - 1]!,
        perRound: m,
        slowestMs: slowest[model]![proto as Protocol],
      };
      const worst = (xs: number[]) => Math.max(...xs).toFixed(0);
      rows.push(row);
      t.push([
        model,
        proto,
        String(row.rounds),
        row.plaintextPerSec.toFixed(1),
        row.tlsPerSec.toFixed(1),
        row.ratio.toFixed(3),
        row.ratioMin.toFixed(3),
        row.ratioMax.toFixed(3),
        `${worst(row.slowestMs.plaintext)} / ${worst(row.slowestMs.TLS)}`,
      ]);
    }
  console.log(
    `Throughput, closed loop with ${CONCURRENCY} in flight; plaintext and TLS (${suite}) windows back to back, order alternating; medians over rounds`,
  );
  console.log(t.toString());
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/tls-ratio-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(
    file,
    JSON.stringify(
      {
        node: process.version,
        tls: suite,
        concurrency: CONCURRENCY,
        seconds: { digits: SECONDS, resnet50: RESNET_SECONDS },
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`written ${file}`);
}

await main();
