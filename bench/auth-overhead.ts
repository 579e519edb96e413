// What authentication adds per request (#14: API key ≤ 20 µs, cached JWT ≤ 50 µs), two ways:
//   micro: ns per `await gatekeeper.authenticate(…)` (the HTTP front door awaits it) for
//     (a) no credentials with auth off — what every request pays today,
//     (b) a valid API key (x-api-key),
//     (c) a valid RS256 JWT that the verifier has cached (the first call verifies, the rest hit the cache),
//     (d) an RS256 JWT verified from scratch each call (a fresh verifier per round, every token new: the worst case);
//   end to end (1): served latency at concurrency 1 (HTTP binary, the digits MLP) of three servers started
//     once each — auth off, auth required + API key, auth required + JWT (cached after the first call) —
//     in rounds; within a round the requests alternate between the servers (A B C A B C…, the order
//     rotating per round; --blocks: one block per server instead) so the box's drift hits each alike;
//     medians of the per-round p50 and p99. --control adds a second auth-off process: two identical
//     processes differ by tens of µs on their own, which bounds what this design can resolve;
//   end to end (2): one server, auth off with the same API keys and JWT key configured (presented
//     credentials are checked in either mode), requests without credentials / with the key / with the
//     JWT interleaved on three connections: the credential is the only difference (--no-one-process: skip).
// The added cost is the median over rounds of (variant − baseline) in the same round. The micro
// figure is a floor: in the server the same code runs between requests with cold caches and costs
// several times more (a CPU profile of the server, sampling overhead included, put
// ApiKeyStore.verify at ≈ 20 µs a request, its sha256 most of it, against ≈ 4 µs in the loop), so
// (2) is the figure to hold the budgets to.
//   npm run bench:auth [-- --rounds 15 --calls 50000 --jwt-calls 400 --e2e-rounds 15 --per-round 300
//                          --blocks --control --no-one-process --skip-micro --skip-e2e]
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { SignJWT } from 'jose';
import { ApiKeyStore } from '../src/auth/api-keys.js';
import { DefaultGatekeeper } from '../src/auth/gatekeeper.js';
import { JwtVerifier } from '../src/auth/jwt.js';
import type { AuthRequest } from '../src/auth/types.js';
import { HttpClient } from '../src/client/http-client.js';
import type { Principal, Tensor } from '../src/core/index.js';
import { median, quantile, startServerProcess, stopProcess } from './lib.js';

const argv = process.argv.slice(2);
const value = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const ROUNDS = Number(value('rounds', '15'));
const CALLS = Number(value('calls', '50000'));
const JWT_CALLS = Number(value('jwt-calls', '400'));
const E2E_ROUNDS = Number(value('e2e-rounds', '15'));
const PER_ROUND = Number(value('per-round', '300'));
const SKIP_E2E = argv.includes('--skip-e2e');
const SKIP_MICRO = argv.includes('--skip-micro');
const BLOCKS = argv.includes('--blocks');
const CONTROL = argv.includes('--control');
const ONE_PROCESS = !argv.includes('--no-one-process');
const BUDGET_US = { 'API key': 20, 'JWT (cached)': 50 } as Record<string, number>;
const ISSUER = 'https://login.bench.invalid/';
const AUDIENCE = 'infergate';
const MODEL_FILE = 'examples/models/digits/1/model.onnx';
const PORT_BASE = 18930;

const dir = mkdtempSync(join(tmpdir(), 'ig-bench-auth-'));

/** An API key file with one infer/read key, an RS256 key pair (public half as SPKI PEM) and a token signer. */
async function credentials() {
  const keys = new ApiKeyStore(join(dir, 'keys.json'));
  const { key } = keys.create({ name: 'bench', scopes: ['infer', 'read'] });
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'jwt.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  const sign = (jti: string) =>
    new SignJWT({ scope: 'infer read' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench-1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('bench-client')
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime('2h')
      .sign(privateKey);
  writeFileSync(join(dir, 'auth-key.yaml'), 'mode: required\napi_keys: keys.json\n');
  const jwt = (mode: string) =>
    [
      `mode: ${mode}`,
      'jwt:',
      `  issuer: ${ISSUER}`,
      `  audience: ${AUDIENCE}`,
      '  keys:',
      '    - { kid: bench-1, alg: RS256, file: jwt.pub.pem }',
      '',
    ].join('\n');
  writeFileSync(join(dir, 'auth-jwt.yaml'), jwt('required'));
  writeFileSync(join(dir, 'auth-both.yaml'), `${jwt('off')}api_keys: keys.json\n`);
  return { keys, apiKey: key, sign };
}

type Creds = Awaited<ReturnType<typeof credentials>>;

const jwtVerifier = () =>
  new JwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: [{ kid: 'bench-1', alg: 'RS256', file: join(dir, 'jwt.pub.pem') }],
    clockSkewSeconds: 60,
  });

/** The headers Node hands the front door for a binary infer request, plus the credential. */
function request(extra: Record<string, string>): AuthRequest {
  return {
    headers: {
      host: '127.0.0.1:8000',
      'content-type': 'application/octet-stream',
      'inference-header-content-length': '150',
      'content-length': '3286',
      ...extra,
    },
    remoteAddress: '127.0.0.1',
  };
}

interface MicroCase {
  name: string;
  calls: number;
  /** Called before each round's timing (a fresh verifier for the uncached case). */
  prepare?: () => Promise<void>;
  call: (i: number) => Principal | Promise<Principal>;
  expect: Principal['kind'];
}

async function micro(c: Creds): Promise<Record<string, unknown>> {
  const off = new DefaultGatekeeper({ mode: 'off' });
  const keyGate = new DefaultGatekeeper({ mode: 'required', apiKeys: c.keys });
  const cachedGate = new DefaultGatekeeper({ mode: 'required', jwt: jwtVerifier() });
  const none = request({});
  const withKey = request({ 'x-api-key': c.apiKey });
  const withJwt = request({ authorization: `Bearer ${await c.sign('cached')}` });
  process.stderr.write(`signing ${JWT_CALLS + 1} tokens for the uncached case…\n`);
  const fresh: AuthRequest[] = [];
  for (let i = 0; i <= JWT_CALLS; i++) fresh.push(request({ authorization: `Bearer ${await c.sign(`t${i}`)}` }));
  let freshGate = new DefaultGatekeeper({ mode: 'required', jwt: jwtVerifier() });
  const cases: MicroCase[] = [
    { name: 'auth off, no credentials', calls: CALLS, call: () => off.authenticate(none), expect: 'anonymous' },
    { name: 'API key', calls: CALLS, call: () => keyGate.authenticate(withKey), expect: 'api-key' },
    { name: 'JWT (cached)', calls: CALLS, call: () => cachedGate.authenticate(withJwt), expect: 'jwt' },
    {
      name: 'JWT (uncached, RS256 verify)',
      calls: JWT_CALLS,
      // A new verifier (empty cache) per round; its key import is awaited by verifying token 0, untimed.
      prepare: async () => {
        freshGate = new DefaultGatekeeper({ mode: 'required', jwt: jwtVerifier() });
        await freshGate.authenticate(fresh[0]!);
      },
      call: (i) => freshGate.authenticate(fresh[i + 1]!),
      expect: 'jwt',
    },
  ];
  for (const k of cases) {
    await k.prepare?.();
    const p = await k.call(0);
    if (p.kind !== k.expect) throw new Error(`${k.name}: got a ${p.kind} principal, expected ${k.expect}`);
  }
  const perRound: Record<string, number[]> = Object.fromEntries(cases.map((k) => [k.name, []]));
  // Warm-up (JIT, the LRU's first hits), then timed rounds in a rotating order.
  for (const k of cases.slice(0, 3)) for (let i = 0; i < 20_000; i++) await k.call(i);
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < cases.length; j++) {
      const k = cases[(r + j) % cases.length]!;
      await k.prepare?.();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < k.calls; i++) await k.call(i);
      perRound[k.name]!.push(Number(process.hrtime.bigint() - t0) / k.calls);
    }
    process.stderr.write(`micro round ${r + 1}/${ROUNDS}\n`);
  }
  const base = perRound[cases[0]!.name]!;
  const rows = cases.map((k) => {
    const ns = perRound[k.name]!;
    const sorted = [...ns].sort((a, b) => a - b);
    const added = ns.map((v, i) => v - base[i]!).sort((a, b) => a - b);
    return {
      case: k.name,
      calls: k.calls,
      usPerCall: median(sorted) / 1000,
      usMin: sorted[0]! / 1000,
      usMax: sorted[sorted.length - 1]! / 1000,
      addedUs: median(added) / 1000,
      budgetUs: BUDGET_US[k.name],
    };
  });
  const t = new Table({
    style: { head: [], border: [] },
    head: ['gatekeeper.authenticate', 'calls/round', 'µs/call median', 'min', 'max', 'added µs vs (a)', 'budget'],
  });
  for (const r of rows)
    t.push([
      r.case,
      String(r.calls),
      r.usPerCall.toFixed(3),
      r.usMin.toFixed(3),
      r.usMax.toFixed(3),
      r === rows[0] ? '—' : r.addedUs.toFixed(3),
      r.budgetUs === undefined ? '' : `≤ ${r.budgetUs} ${r.addedUs <= r.budgetUs ? 'ok' : 'OVER'}`,
    ]);
  console.log(
    `Micro (a hot loop: caches warm, so a lower bound on what a request pays): ${ROUNDS} rounds, rotating order; medians of per-round means`,
  );
  console.log(t.toString());
  return { rounds: ROUNDS, rows, perRoundNs: perRound };
}

interface E2eVariant {
  name: string;
  /** Index into the servers' flag lists. */
  server: number;
  headers: Record<string, string>;
  /** Its server runs with auth required (a caller without credentials must get 401). */
  locked?: boolean;
  /** #14's budget for the added p50, µs. */
  budgetUs?: number;
}

/**
 * Latency at concurrency 1 of each variant, one keep-alive connection each, in rounds; within a
 * round the requests alternate between the variants (A B C A B C…, order rotating per round) unless
 * --blocks. Returns the rows (medians of the per-round p50/p99, differences to variant 0).
 */
async function latencyRounds(title: string, servers: string[][], variants: E2eVariant[]) {
  const pixels = new Float32Array(784).map((_, i) => (i % 13) / 13);
  const input = (): Tensor[] => [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: pixels }];
  const port = (server: number) => PORT_BASE + 2 * server;
  const children: Awaited<ReturnType<typeof startServerProcess>>[] = [];
  const clients: HttpClient[] = [];
  const samples = variants.map(() => ({ p50: [] as number[], p99: [] as number[] }));
  const refusedWith = (server: number, headers: Record<string, string>) => {
    const cl = new HttpClient(`http://127.0.0.1:${port(server)}`, { connections: 1, headers });
    return cl
      .infer('digits', input())
      .then(
        () => 200,
        (e: { status?: number }) => e.status ?? 0,
      )
      .finally(() => cl.close());
  };
  try {
    for (const [i, flags] of servers.entries()) {
      const args = ['examples/models', '--http-port', String(port(i)), '--grpc-port', String(port(i) + 1)];
      args.push('--metrics-port', '0', '--model-control-mode', 'explicit', '--load-model', 'digits');
      children.push(await startServerProcess([...args, '--log-level', 'warn', ...flags], port(i)));
    }
    for (const v of variants)
      clients.push(new HttpClient(`http://127.0.0.1:${port(v.server)}`, { connections: 1, headers: v.headers }));
    // The credential must really be checked (else the bench measures nothing): a corrupted one is refused,
    // and a locked server refuses a caller without credentials.
    for (const v of variants) {
      if (Object.keys(v.headers).length === 0) continue;
      const bad = Object.fromEntries(Object.entries(v.headers).map(([k, x]) => [k, `${x.slice(0, -4)}AAAA`]));
      if ((await refusedWith(v.server, bad)) !== 401)
        throw new Error(`${v.name}: a corrupted credential was not refused`);
      if (v.locked && (await refusedWith(v.server, {})) !== 401)
        throw new Error(`${v.name}: a request without credentials was not refused with 401`);
    }
    for (const cl of clients) for (let i = 0; i < 500; i++) await cl.infer('digits', input());
    for (let r = 0; r < E2E_ROUNDS; r++) {
      const lat: number[][] = variants.map(() => []);
      const order = variants.map((_, j) => (r + j) % variants.length);
      const one = async (k: number) => {
        const t0 = performance.now();
        await clients[k]!.infer('digits', input());
        lat[k]!.push((performance.now() - t0) * 1000);
      };
      if (BLOCKS) for (const k of order) for (let i = 0; i < PER_ROUND; i++) await one(k);
      else for (let i = 0; i < PER_ROUND; i++) for (const k of order) await one(k);
      for (const k of variants.keys()) {
        const sorted = lat[k]!.sort((a, b) => a - b);
        samples[k]!.p50.push(quantile(sorted, 0.5));
        samples[k]!.p99.push(quantile(sorted, 0.99));
      }
      process.stderr.write(`${title}: round ${r + 1}/${E2E_ROUNDS}\n`);
    }
  } finally {
    for (const cl of clients) await cl.close();
    for (const s of children) await stopProcess(s);
  }
  const base = samples[0]!;
  const med = (xs: number[]) => median([...xs].sort((a, b) => a - b));
  // The spread of the per-round differences: what this box can resolve end to end.
  const iqr = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return [quantile(s, 0.25), quantile(s, 0.75)] as const;
  };
  const rows = variants.map((v, k) => {
    const s = samples[k]!;
    return {
      variant: v.name,
      p50Us: med(s.p50),
      p99Us: med(s.p99),
      addedP50Us: med(s.p50.map((x, i) => x - base.p50[i]!)),
      addedP50IqrUs: iqr(s.p50.map((x, i) => x - base.p50[i]!)),
      addedP99Us: med(s.p99.map((x, i) => x - base.p99[i]!)),
      budgetUs: v.budgetUs,
    };
  });
  const t = new Table({
    style: { head: [], border: [] },
    head: [title, 'p50 µs', 'p99 µs', 'added p50 µs', 'per-round added p50, 25–75 %', 'added p99 µs', 'budget'],
  });
  for (const r of rows)
    t.push([
      r.variant,
      r.p50Us.toFixed(1),
      r.p99Us.toFixed(1),
      r === rows[0] ? '—' : r.addedP50Us.toFixed(1),
      r === rows[0] ? '—' : `${r.addedP50IqrUs[0].toFixed(1)} … ${r.addedP50IqrUs[1].toFixed(1)}`,
      r === rows[0] ? '—' : r.addedP99Us.toFixed(1),
      r.budgetUs === undefined ? '' : `p50 ≤ ${r.budgetUs} ${r.addedP50Us <= r.budgetUs ? 'ok' : 'OVER'}`,
    ]);
  console.log(t.toString());
  return { rows, perRoundUs: Object.fromEntries(variants.map((v, k) => [v.name, samples[k]])) };
}

async function endToEnd(c: Creds): Promise<Record<string, unknown>> {
  if (!existsSync(MODEL_FILE)) throw new Error(`${MODEL_FILE} is missing: run \`npm run examples\` first`);
  const key = { 'x-api-key': c.apiKey };
  const jwt = { authorization: `Bearer ${await c.sign('e2e')}` };
  console.log(
    `End to end (digits, HTTP binary, concurrency 1): ${E2E_ROUNDS} rounds × ${PER_ROUND} requests per variant, ${BLOCKS ? 'one block per variant' : 'interleaved request by request'}, rotating order; medians of per-round quantiles`,
  );
  // As deployed: one server per configuration. Two processes differ by themselves (memory layout,
  // scheduling): --control adds a second auth-off process to show by how much.
  const three: E2eVariant[] = [
    { name: 'auth off', server: 0, headers: {} },
    { name: 'auth required + API key', server: 1, headers: key, locked: true, budgetUs: 20 },
    { name: 'auth required + JWT', server: 2, headers: jwt, locked: true, budgetUs: 50 },
  ];
  if (CONTROL) three.push({ name: 'auth off (control, 2nd process)', server: 3, headers: {} });
  const processes = await latencyRounds(
    'three servers',
    [[], ['--auth-config', join(dir, 'auth-key.yaml')], ['--auth-config', join(dir, 'auth-jwt.yaml')], []].slice(
      0,
      three.length,
    ),
    three,
  );
  // One process with keys and JWT configured and auth off: presented credentials are checked all the
  // same (gatekeeper.ts), so the three variants differ by the credential alone, with no process bias.
  const same = ONE_PROCESS
    ? await latencyRounds(
        'one server, auth off, keys + JWT configured',
        [['--auth-config', join(dir, 'auth-both.yaml')]],
        [
          { name: 'no credentials', server: 0, headers: {} },
          { name: 'API key', server: 0, headers: key, budgetUs: 20 },
          { name: 'JWT (cached)', server: 0, headers: jwt, budgetUs: 50 },
        ],
      )
    : undefined;
  return { rounds: E2E_ROUNDS, perRound: PER_ROUND, blocks: BLOCKS, threeServers: processes, oneServer: same };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { node: process.version };
  try {
    const c = await credentials();
    if (!SKIP_MICRO) results.micro = await micro(c);
    if (!SKIP_E2E) results.endToEnd = await endToEnd(c);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/auth-overhead-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`written ${file}`);
}

await main();
