// Secrets never leak (reliability.md S20, issue #14 item 8): a server with auth required, API keys
// and an HS256 JWT key whose secret is a canary, logging at debug level and tracing every call,
// receives canaries in Authorization (Basic, Bearer, a JWT signed with the wrong key and carrying
// canary claims), x-api-key (malformed, and well-formed with a canary secret), Cookie, a valid
// key's secret, and an infer body; then 1,000 calls to random model names. Every canary is found 0
// times in the logs, the spans, the /metrics exposition, the response bodies and headers, and the
// audit trail, and the number of metric series does not grow with the model names.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { ApiKeyStore } from '../../src/auth/api-keys.js';
import { GrpcClient } from '../../src/client/grpc-client.js';
import { Tracing } from '../../src/observability/tracing.js';
import { startTestServer, type TestServer } from './server.js';
import { tempRepo } from './models.js';

const canary = (what: string) => `CANARY${what}${randomBytes(12).toString('hex')}`;
const C = {
  basic: canary('basic'),
  bearer: canary('bearer'),
  jwtSecret: canary('jwtsecret'),
  jwtClaim: canary('jwtclaim'),
  jwtKid: canary('jwtkid'),
  badKey: canary('badkey'),
  keySecret: canary('keysecret'),
  cookie: canary('cookie'),
  body: canary('body'),
  grpc: canary('grpc'),
};
const logs: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    logs.push(String(chunk));
    done();
  },
});
const exporter = new InMemorySpanExporter();
const dir = tempRepo();
const auditFile = join(dir, 'audit.jsonl');
const seen: string[] = [];
/** Every model name a call used. */
const models: string[] = [];
let validKey = '';
let badJwt = '';
let s: TestServer | undefined;
let closed: Promise<void> | undefined;
const stop = () => {
  closed ??= s?.close();
  return closed;
};
const agent = new Agent({ connections: 16 });

before(async () => {
  const keysFile = join(dir, 'keys.json');
  validKey = new ApiKeyStore(keysFile).create({ name: 'ci', scopes: ['infer', 'read'] }).key;
  writeFileSync(join(dir, 'jwt.secret'), C.jwtSecret);
  writeFileSync(
    join(dir, 'auth.yaml'),
    `mode: required\napi_keys: keys.json\njwt:\n  audience: infergate\n  keys: [{ kid: k1, alg: HS256, file: jwt.secret }]\n`,
  );
  // Signed with another secret, claims and kid carrying canaries.
  badJwt = await new SignJWT({ scope: 'infer admin', note: C.jwtClaim })
    .setProtectedHeader({ alg: 'HS256', kid: C.jwtKid })
    .setSubject(C.jwtClaim)
    .setAudience('infergate')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(`not-the-key-${C.jwtClaim}`));
  s = await startTestServer(
    { repository: tempRepo(), authConfig: join(dir, 'auth.yaml'), auditLog: auditFile },
    {
      logger: pino({ level: 'debug' }, sink),
      tracing: new Tracing({ exporter, env: { OTEL_TRACES_EXPORTER: 'otlp' } }),
    },
  );
});
after(async () => {
  await agent.close();
  await stop();
});

/** The credential variants, in turn; every call also carries the cookie canary. */
function credentials(i: number): Record<string, string> {
  const variants: Array<Record<string, string>> = [
    { authorization: `Basic ${Buffer.from(`admin:${C.basic}`).toString('base64')}` },
    { authorization: `Basic ${C.basic}` },
    { authorization: `Bearer ${C.bearer}` },
    { authorization: `Bearer ${badJwt}` },
    { 'x-api-key': C.badKey },
    { 'x-api-key': `igk_aaaaaaaa_${C.keySecret.padEnd(40, 'x').slice(0, 40)}` },
    { 'x-api-key': validKey },
    { authorization: `Bearer ${validKey}` },
  ];
  return { ...variants[i % variants.length], cookie: `session=${C.cookie}; theme=dark` };
}

async function call(i: number): Promise<void> {
  const model = `m-${randomBytes(8).toString('hex')}`;
  models.push(model);
  const res = await request(`http://${s!.httpAddress}/v2/models/${model}/infer`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...credentials(i) },
    body: JSON.stringify({ inputs: [{ name: 'in', datatype: 'BYTES', shape: [1], data: [C.body] }] }),
  });
  const text = await res.body.text();
  assert.ok(res.statusCode === 401 || res.statusCode === 404, `${res.statusCode} ${text}`);
  seen.push(text, JSON.stringify(res.headers));
}

async function scrape(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${s!.server.metricsPort}/metrics`);
  assert.equal(r.status, 200);
  return r.text();
}

/**
 * The series of the exposition (name and labels), except the Node.js runtime's own families, whose
 * series come and go with the runtime (a first major GC, a new handle type), never with requests.
 */
const seriesOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('infergate_nodejs_'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')))
    .sort();

function assertNoCanary(where: string, text: string): void {
  for (const [name, value] of Object.entries(C))
    assert.equal(text.split(value).length - 1, 0, `the ${name} canary appears in ${where}`);
  // A valid key's secret part: its prefix is its public id (logs and audit name it), the rest is not.
  const secret = validKey.slice('igk_aaaaaaaa_'.length);
  assert.ok(!text.includes(secret), `the API key secret appears in ${where}`);
}

test('canaries in credentials, cookies and bodies never reach logs, spans, metrics, errors or audit', async () => {
  // Every variant once (and the admin surface), so every series that traffic can create exists.
  for (let i = 0; i < 16; i++) await call(i);
  for (let i = 0; i < 8; i++) {
    const res = await request(`http://${s!.httpAddress}/v2/repository/index`, {
      method: 'POST',
      dispatcher: agent,
      headers: credentials(i),
    });
    seen.push(await res.body.text(), JSON.stringify(res.headers));
  }
  const grpc = new GrpcClient(s!.grpcAddress);
  try {
    const calls: Array<Record<string, string>> = [
      { authorization: `Bearer ${C.grpc}` },
      { 'x-api-key': C.grpc },
      { authorization: `Bearer ${badJwt}`, cookie: `s=${C.grpc}` },
      { 'x-api-key': validKey, cookie: `s=${C.cookie}` },
    ];
    for (const metadata of calls) {
      const err = await grpc
        .infer(
          `g-${randomBytes(6).toString('hex')}`,
          [{ name: 'in', datatype: 'FP32', shape: [1], data: new Float32Array(1) }],
          {
            metadata,
          },
        )
        .then(() => assert.fail('an unknown model answered'))
        .catch((e: Error & { details?: string; metadata?: unknown }) => e);
      seen.push(String(err.message), String(err.details), JSON.stringify(err.metadata ?? {}));
    }
  } finally {
    grpc.close();
  }
  const seriesBefore = seriesOf(await scrape());

  // 1,000 calls to random model names, 16 at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < 1000) await call(next++);
    }),
  );
  const metrics = await scrape();
  assert.deepEqual(seriesOf(metrics), seriesBefore, 'random model names add no metric series');
  assert.ok(!models.some((m) => metrics.includes(m)), 'no model name of a call is a label');
  assertNoCanary('the /metrics exposition', metrics);
  assertNoCanary('response bodies and headers', seen.join('\n'));

  const spans = exporter.getFinishedSpans();
  assert.ok(spans.length > 0, 'calls with a valid key were traced');
  assertNoCanary(
    'the spans',
    JSON.stringify(
      spans.map((sp) => ({ name: sp.name, attributes: sp.attributes, events: sp.events, status: sp.status })),
    ),
  );

  await stop();
  const logText = logs.join('');
  assert.ok(logText.includes('"level":20'), 'debug lines were logged');
  assert.ok(logText.includes('denied'), 'refusals were logged');
  assert.ok(
    models.some((m) => logText.includes(m)),
    'calls with a valid key were logged (the capture works)',
  );
  assertNoCanary('the logs', logText);
  const audit = readFileSync(auditFile, 'utf8');
  assert.ok(audit.includes('security.denied'), 'refusals were audited');
  assertNoCanary('the audit trail', audit);
});
