// reliability.md S22 (raw fuzz part): mutated raw HTTP/1.1 requests for every kind of v2 route,
// replayed over loopback sockets against a real server with real onnxruntime models. Each request
// is written whole; the server must answer or close within a second, or within a second of the
// client's half-close when the request declared more body than it sent (no hang), never with a
// failure 5xx (503 and 501 are decisions: DELIBERATE_5XX), never with a stack trace or a source
// path in the body, and it must stay live and keep answering valid calls afterwards. CI runs 300 mutations
// per seed; the nightly size (50,000) is INFERGATE_FUZZ_ITERATIONS=50000.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../e2e/server.js';
import { FUZZ_SEED, iterations, mutate, rng } from './mutate.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({
    controlMode: 'explicit',
    loadModels: ['digits', 'identity_bytes'],
    maxBodyBytes: 1 << 20,
  });
});
after(() => s?.close());

function raw(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Uint8Array {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const head = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ...(body === undefined ? [] : [`Content-Length: ${b.length}`]),
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), b]);
}

const json = { 'Content-Type': 'application/json' };
const digits = JSON.stringify({
  id: 'r1',
  parameters: { priority: 1 },
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Array(784).fill(0.5) }],
  outputs: [{ name: 'probabilities', parameters: { classification: 2 } }],
});
const binHead = JSON.stringify({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], parameters: { binary_data_size: 784 * 4 } }],
});
const strings = JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], data: ['a', 'é'] }] });

/** One valid request per kind of route: health, metadata, statistics, repository, infer (JSON, binary, BYTES). */
const SEEDS: Array<[string, Uint8Array]> = [
  ['live', raw('GET', '/v2/health/live')],
  ['ready', raw('GET', '/v2/health/ready')],
  ['server metadata', raw('GET', '/v2')],
  ['model metadata', raw('GET', '/v2/models/digits')],
  ['model ready', raw('GET', '/v2/models/digits/versions/1/ready')],
  ['model config', raw('GET', '/v2/models/digits/config')],
  ['statistics', raw('GET', '/v2/models/digits/stats')],
  ['repository index', raw('POST', '/v2/repository/index', '{"ready":true}', json)],
  ['infer JSON', raw('POST', '/v2/models/digits/infer', digits, json)],
  [
    'infer binary',
    raw('POST', '/v2/models/digits/infer', Buffer.concat([Buffer.from(binHead), Buffer.alloc(784 * 4)]), {
      'Content-Type': 'application/octet-stream',
      'Inference-Header-Content-Length': String(Buffer.byteLength(binHead)),
    }),
  ],
  ['infer BYTES', raw('POST', '/v2/models/identity_bytes/infer', strings, json)],
];

/**
 * 5xx answers that are decisions, not failures: 503 (overload, draining) and 501 (a feature this
 * server declines by name, as Triton does: a named repository, a route that needs registry mode).
 */
const DELIBERATE_5XX = new Set([501, 503]);

interface Reply {
  status?: number;
  body: string;
  /** Neither an answer nor a close within the limit. */
  hung: boolean;
}

/** True once `text` holds a whole HTTP response (by Content-Length, or a chunked body's last chunk). */
function answered(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const head = text.slice(0, end).toLowerCase();
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) return text.length - end - 4 >= Number(length[1]);
  return /\r\ntransfer-encoding: *chunked/.test(head) && text.endsWith('0\r\n\r\n');
}

/**
 * Writes `bytes` and reads until the server closes (every seed says Connection: close). A request
 * that declares more body (or more headers) than it sent waits for it, as it should: after
 * `waitMs` the socket is half-closed, and the server must then answer or close within `limitMs`,
 * or it hung.
 */
function exchange(bytes: Uint8Array, limitMs = 1000, waitMs = 300): Promise<Reply> {
  return new Promise((resolve) => {
    const [host, port] = s.httpAddress.split(':') as [string, string];
    const sock = connect({ host, port: Number(port) });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, body: text.slice(text.indexOf('\r\n\r\n') + 4), hung });
    };
    let timer = setTimeout(() => {
      sock.end();
      timer = setTimeout(() => finish(true), limitMs);
    }, waitMs);
    sock.on('data', (d) => {
      chunks.push(d);
      // A whole answer is enough (a mutated 'Connection' header may keep the socket open).
      if (answered(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
    sock.write(bytes);
  });
}

test('every seed is a valid request the server answers 200', async () => {
  for (const [name, bytes] of SEEDS) {
    const reply = await exchange(bytes, 10_000, 10_000);
    assert.equal(reply.status, 200, `${name}: ${reply.body}`);
  }
});

test('mutated raw requests: no failure 5xx, no hang, no internals; the server stays live (S22)', async (t) => {
  const n = iterations(300);
  const r = rng(FUZZ_SEED);
  const statuses = new Map<string, number>();
  const findings: string[] = [];
  const CONCURRENCY = 16;
  for (const [name, seed] of SEEDS) {
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const input = mutate(seed, r);
        const reply = await exchange(input);
        const key = `${name}: ${reply.status === undefined ? (reply.hung ? 'hung' : 'closed') : String(reply.status)}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        const why = reply.hung
          ? 'no answer and no close within 1 s of the half-close'
          : reply.status !== undefined && reply.status >= 500 && !DELIBERATE_5XX.has(reply.status)
            ? `status ${reply.status}: ${reply.body.slice(0, 200)}`
            : /\bat .*\.(ts|js):\d+|node_modules|\/src\//.test(reply.body)
              ? `internals in the body: ${reply.body.slice(0, 200)}`
              : undefined;
        if (why && findings.length < 10)
          findings.push(`${name} #${i} (seed ${FUZZ_SEED}): ${why}; request ${Buffer.from(input).toString('base64')}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  t.diagnostic(`${n} mutations × ${SEEDS.length} seeds: ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.deepEqual(findings, []);
  assert.equal((await exchange(SEEDS[0]![1])).status, 200, 'still live');
  assert.equal((await exchange(SEEDS[8]![1], 10_000, 10_000)).status, 200, 'still serving');
});
