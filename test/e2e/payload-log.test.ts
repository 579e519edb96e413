// Payload logging and erasure through the real server (issue #14 item 8): a model that opts in at
// sample 1 with a redacted input and parameter gets one JSON line per call, with the subject id of
// the call (HTTP header or gRPC metadata) and without headers; a model at sample 0 logs nothing and
// its inputs are never copied; a tensor past the inline bound is written as its sha256; erasure
// removes exactly one subject's lines (concurrent writes are neither lost nor resurrected) and
// leaves a hashed audit row; the retention sweep deletes old day files; a full queue drops and
// counts instead of blocking.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { subjectHash } from '../../src/privacy/payload-log.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

const param = (key: string, value: string) => `parameters { key: "${key}" value { string_value: "${value}" } }\n`;

/** y = x + z, FP32 [batch, 4]; logs every call, `z` and the `token` parameter redacted. */
const PL_CONFIG = `max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "z" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
${param('payload_log_sample', '1')}${param('payload_log_redact', 'z, token')}${param('payload_log_retention_days', '7')}`;

const QUIET_CONFIG = `max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
${param('payload_log_sample', '0')}`;

/** y = -x over [batch, n]: big enough inputs pass the 64 KiB inline bound. */
const WIDE_CONFIG = `max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ -1 ] } ]
${param('payload_log_sample', '1')}`;

function addModel2(): Uint8Array {
  const g = new GraphBuilder('add2')
    .input('x', 'FP32', ['batch', 4])
    .input('z', 'FP32', ['batch', 4])
    .node('Add', ['x', 'z'], ['y'])
    .output('y', 'FP32', ['batch', 4]);
  return buildModel(g);
}

function negModel(): Uint8Array {
  const g = new GraphBuilder('neg')
    .input('x', 'FP32', ['batch', 'n'])
    .node('Neg', ['x'], ['y'])
    .output('y', 'FP32', ['batch', 'n']);
  return buildModel(g);
}

const repo = tempRepo();
const work = tempRepo();
const logDir = join(work, 'payloads');
const auditFile = join(work, 'audit.jsonl');
const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ancient = join(logDir, 'pl', '2000-01-01.jsonl');
const recent = join(logDir, 'pl', `${day(Date.now() - 3 * DAY_MS)}.jsonl`);
let s: TestServer;
/** Per answered call: whether the router copied its inputs (a plain hook sees the tap's result). */
const copied: Array<{ model: string; copied: boolean }> = [];

before(async () => {
  addModel(repo, 'pl', 1, addModel2(), PL_CONFIG);
  addModel(repo, 'quiet', 1, addConstModel(1), QUIET_CONFIG);
  addModel(repo, 'wide', 1, negModel(), WIDE_CONFIG);
  // Day files from before this start: one past the 7-day retention, one within it.
  mkdirSync(join(logDir, 'pl'), { recursive: true });
  writeFileSync(ancient, '{"time":"2000-01-01T00:00:00.000Z"}\n');
  writeFileSync(recent, '{"time":"recent"}\n');
  s = await startTestServer({ repository: repo, payloadLogDir: logDir, auditLog: auditFile });
  s.server.router.hooks.add('answered', (x) => copied.push({ model: x.request.model, copied: !!x.inputsCopy }));
});
after(() => s.close());

const row = (i: number): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, 4], data: Float32Array.of(i, i, i, i) });
const body = (i: number, parameters: Record<string, unknown> = {}) =>
  JSON.stringify({
    parameters,
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [1, 4], data: [i, i + 1, i + 2, i + 3] },
      { name: 'z', datatype: 'FP32', shape: [1, 4], data: [100, 100, 100, 100] },
    ],
  });

async function infer(model: string, json: string, headers: Record<string, string> = {}): Promise<Response> {
  const r = await fetch(`http://${s.httpAddress}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: json,
  });
  assert.equal(r.status, 200, await r.clone().text());
  return r;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Rec = Record<string, unknown> & {
  subject?: string;
  inputs: Array<Record<string, unknown>>;
  outputs: Array<Record<string, unknown>>;
};

/** Every line of a model's day files written today (the fixtures are other days). */
function records(model: string): { lines: string[]; recs: Rec[] } {
  const file = join(logDir, model, `${day(Date.now())}.jsonl`);
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return { lines, recs: lines.map((l) => JSON.parse(l) as Rec) };
}

const written = () => s.server.payloadLog!.counters().written;

test('the start-up sweep removed the day file past retention and kept the recent one', async () => {
  await until('the start-up sweep', () => !existsSync(ancient));
  assert.ok(existsSync(recent));
});

test('records carry the subject, redact what the config names, and never headers', async () => {
  const base = written();
  await infer('pl', body(1, { token: 'tok-123', note: 'hello' }), { 'infergate-subject-id': 'alice' });
  await s.grpc.infer('pl', [row(5), { ...row(0), name: 'z' }], { metadata: { 'infergate-subject-id': 'bob' } });
  await infer('pl', body(9));
  await infer('pl', body(2), { 'infergate-subject-id': 'not a token', 'x-trace-note': 'header-value-77' });
  await until('4 records', () => written() >= base + 4);

  const { lines, recs } = records('pl');
  assert.equal(recs.length, 4);
  const alice = recs.find((r) => r.subject === 'alice')!;
  assert.ok(
    lines.some((l) => l.startsWith('{"subject":"alice",')),
    'the subject leads the line',
  );
  assert.equal(alice.model, 'pl');
  assert.equal(alice.version, '1');
  assert.equal(alice.principal, 'local');
  assert.match(String(alice.request_id), /.+/);
  assert.ok(!Number.isNaN(Date.parse(String(alice.time))));
  assert.deepEqual(alice.parameters, { token: '[redacted]', note: 'hello' });
  assert.deepEqual(alice.inputs, [
    { name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    { name: 'z', datatype: 'FP32', shape: [1, 4], data: '[redacted]' },
  ]);
  assert.deepEqual(alice.outputs, [{ name: 'y', datatype: 'FP32', shape: [1, 4], data: [101, 102, 103, 104] }]);
  const bob = recs.find((r) => r.subject === 'bob')!;
  assert.deepEqual(bob.inputs[0]!.data, [5, 5, 5, 5]);
  assert.equal(bob.inputs[1]!.data, '[redacted]');
  // No subject, and an invalid one: logged without a subject; the invalid value is nowhere.
  assert.equal(recs.filter((r) => r.subject === undefined).length, 2);
  const text = lines.join('\n');
  for (const absent of [
    'not a token',
    'tok-123',
    'header-value-77',
    'x-trace-note',
    'content-type',
    'infergate-subject-id',
  ])
    assert.ok(!text.includes(absent), `'${absent}' is not in the log`);
  assert.ok(copied.filter((c) => c.model === 'pl').every((c) => c.copied));
});

test('a model at sample 0 logs nothing, and its inputs are never copied', async () => {
  const base = written();
  for (let i = 0; i < 5; i++) await s.http.infer('quiet', [row(i)]);
  await infer('pl', body(3));
  await until('the pl record', () => written() >= base + 1);
  assert.equal(written(), base + 1);
  assert.ok(!existsSync(join(logDir, 'quiet')));
  const quiet = copied.filter((c) => c.model === 'quiet');
  assert.equal(quiet.length, 5);
  assert.ok(
    quiet.every((c) => !c.copied),
    'no copy for calls that are not logged',
  );
});

test('tensors past the inline bound are written as shape, size and sha256 only', async () => {
  const n = 20_000; // 80 kB of FP32: over the 64 KiB bound
  const x = Float32Array.from({ length: n }, (_, i) => i % 97);
  const base = written();
  await s.http.infer('wide', [{ name: 'x', datatype: 'FP32', shape: [1, n], data: x }], { binary: true });
  await until('the wide record', () => written() >= base + 1);
  const { lines, recs } = records('wide');
  assert.equal(recs.length, 1);
  const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex');
  assert.deepEqual(recs[0]!.inputs[0], { name: 'x', datatype: 'FP32', shape: [1, n], bytes: n * 4, sha256: sha(x) });
  assert.equal(recs[0]!.outputs[0]!.sha256, sha(x.map((v) => -v)));
  assert.ok(lines[0]!.length < 4096, `a small line (${lines[0]!.length} characters)`);
});

test('erasure removes exactly the subject’s records, loses none written meanwhile, and is audited', async () => {
  const base = written();
  for (let i = 0; i < 3; i++) await infer('pl', body(i), { 'infergate-subject-id': 'alice' });
  await until('3 more records', () => written() >= base + 3);
  const before = records('pl').recs;
  const aliceBefore = before.filter((r) => r.subject === 'alice').length;
  const othersBefore = before.length - aliceBefore;
  assert.equal(aliceBefore, 4);

  // Calls for carol go on while the erasure rewrites the file: none may be lost.
  const carol = Array.from({ length: 20 }, (_, i) => infer('pl', body(i), { 'infergate-subject-id': 'carol' }));
  const r = await fetch(`http://${s.httpAddress}/v2/privacy/erase`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'alice' }),
  });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { subject: 'alice', removed: 4 });
  await Promise.all(carol);
  await until('carol’s records', () => written() >= base + 3 + 20);

  const after = records('pl').recs;
  assert.equal(after.filter((x) => x.subject === 'alice').length, 0);
  assert.equal(after.filter((x) => x.subject === 'carol').length, 20);
  assert.equal(after.length, othersBefore + 20);

  // The audit trail names the erasure by the subject's hash, never the subject.
  await until('the audit row', () => existsSync(auditFile) && readFileSync(auditFile, 'utf8').includes('erased'));
  const rows = readFileSync(auditFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const erasure = rows.find((x) => String(x.reason).startsWith('erased'));
  assert.equal(erasure.action, 'security.admin');
  assert.equal(erasure.actor, 'local');
  assert.equal(erasure.reason, `erased 4 payload records for subject ${subjectHash('alice')}`);
  assert.ok(!readFileSync(auditFile, 'utf8').includes('alice'));

  // Erasing again finds nothing; a malformed subject is refused without being echoed.
  const again = await fetch(`http://${s.httpAddress}/v2/privacy/erase`, {
    method: 'POST',
    body: JSON.stringify({ subject: 'alice' }),
    headers: { 'content-type': 'application/json' },
  });
  assert.deepEqual(await again.json(), { subject: 'alice', removed: 0 });
  const bad = await fetch(`http://${s.httpAddress}/v2/privacy/erase`, {
    method: 'POST',
    body: JSON.stringify({ subject: 'x y <script>' }),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(bad.status, 400);
  assert.ok(!(await bad.text()).includes('script'));
});

test('the retention sweep deletes day files older than the model’s retention', async () => {
  const old = join(logDir, 'pl', day(Date.now() - 9 * DAY_MS) + '.jsonl');
  writeFileSync(old, '{"time":"old"}\n');
  // What a crash in the middle of an erasure leaves behind: a partial copy, swept too.
  const partial = join(logDir, 'pl', `${day(Date.now())}.jsonl.erasing-999999`);
  writeFileSync(partial, '{"time":"partial"}\n');
  const removed = await s.server.payloadLog!.sweep();
  assert.deepEqual(removed, [old]);
  assert.ok(!existsSync(partial));
  assert.ok(existsSync(recent));
  assert.ok(readdirSync(join(logDir, 'pl')).includes(`${day(Date.now())}.jsonl`));
});

test('a full queue drops and counts records instead of blocking calls', async () => {
  const dir = join(work, 'tiny');
  const t = await startTestServer({ repository: repo, payloadLogDir: dir, payloadLogMaxBacklog: 1 });
  try {
    const log = t.server.payloadLog!;
    let sent = 0;
    for (let burst = 0; burst < 20 && log.counters().dropped === 0; burst++) {
      const calls = Array.from({ length: 64 }, (_, i) =>
        fetch(`http://${t.httpAddress}/v2/models/pl/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body(i),
        }).then((r) => r.status),
      );
      const statuses = await Promise.all(calls);
      assert.ok(statuses.every((st) => st === 200));
      sent += calls.length;
    }
    await until('every sampled call accounted', () => {
      const c = log.counters();
      return c.written + c.dropped === sent && c.backlog === 0;
    });
    const c = log.counters();
    assert.ok(c.dropped > 0, 'some records were dropped');
    assert.equal(c.failed, 0);
    const lines = readFileSync(join(dir, 'pl', `${day(Date.now())}.jsonl`), 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.equal(lines.length, c.written);
  } finally {
    await t.close();
  }
});
