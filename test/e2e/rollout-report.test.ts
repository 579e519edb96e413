// The shadow diff report (#13 item 3) end to end on a registry-mode server with real onnxruntime:
// a manual split sends every call to v1 (y = x + 1) and shadows it on v2 (y = x + 2: the same top-1
// class, every score 1 apart, so it agrees) and on v3 (y = −x: another top-1 class, so it
// disagrees); the replica publishes its comparisons and the report is read back over REST (JSON and
// the self-contained HTML page) and with `infergate rollout report` (text, --json, --html FILE).
// Bad input: an unknown format 400 naming it, a model without observations 404 naming it, and one
// line from the CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { openSqliteStore } from '../../src/registry/sqlite.js';
import type { RegistryStore } from '../../src/registry/types.js';
import type { RolloutReport } from '../../src/rollout/reporting.js';
import { api, cliService, modelDir, pushConstVersions, startRegistryServer, until } from './registry-helpers.js';
import type { TestServer } from './server.js';

const run = promisify(execFile);
let s: TestServer;
let store: RegistryStore;
let base: string;
let registryDir: string;
const CALLS = 40;
/** Scores 4, 3, 2, 1 from v1 (class 0); −3, −2, −1, 0 from v3 (class 3), 7 apart at most. */
const X = [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array([3, 2, 1, 0]) }];

/** A version of 'm' answering y = −x. */
function negModelDir(): string {
  const g = new GraphBuilder('neg')
    .input('x', 'FP32', ['batch', 4])
    .node('Neg', ['x'], ['y'])
    .output('y', 'FP32', ['batch', 4]);
  return modelDir('m', buildModel(g));
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, INFERGATE_REGISTRY: registryDir };
  try {
    const r = await run(process.execPath, [resolve('bin/infergate.js'), ...args], { timeout: 60_000, env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

before(async () => {
  registryDir = mkdtempSync(join(tmpdir(), 'ig-rollout-report-'));
  store = await openSqliteStore(join(registryDir, 'registry.db'), { now: () => performance.now(), wallMs: Date.now });
  const service = cliService(store, join(registryDir, 'artifacts'));
  await pushConstVersions(service, 'm', 2); // version n answers x + n
  await service.push(negModelDir(), { model: 'm' }, 'test'); // v3
  await store.setAlias({ model: 'm', alias: 'production', version: 1 }, 'test');
  s = await startRegistryServer(registryDir);
  base = `http://${s.httpAddress}`;
  const set = await api(base, 'PUT', '/v2/models/m/traffic', {
    arms: [{ version: 1, weight: 100 }],
    shadows: [
      { version: 2, percent: 100 },
      { version: 3, percent: 100 },
    ],
    reason: 'shadow test of v2 and v3',
  });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  // The split is applied when the replica has loaded v2 and reports the shadow in its table.
  await until(
    async () => ((await api(base, 'GET', '/v2/registry')).body?.serving?.traffic?.m?.shadows?.length ?? 0) === 2,
    30_000,
    'the shadow split applied',
  );
});
after(async () => {
  await s?.close();
  await store?.close();
});

test('every call shadowed on v2 and v3 is compared and reported, summed from the published observations', async () => {
  for (let i = 0; i < CALLS; i++) {
    const r = await s.http.infer('m', X);
    assert.equal(r.version, '1', 'the client is answered by v1 only');
  }
  let report: RolloutReport | undefined;
  // Every shadow call is compared, or dropped (the shadow was busy), or failed: all counted.
  const counted = (r: RolloutReport | undefined, shadow: number) => {
    const p = r?.pairs.find((x) => x.shadow === shadow);
    return p ? p.compared + p.dropped + p.failed : 0;
  };
  await until(
    async () => {
      const r = await api(base, 'GET', '/v2/rollouts/m/report');
      report = r.status === 200 ? r.body : undefined;
      return counted(report, 2) >= CALLS && counted(report, 3) >= CALLS;
    },
    30_000,
    async () => `all ${CALLS} calls counted per shadow (last report: ${JSON.stringify(report?.pairs)})`,
  );
  const r = report as RolloutReport;
  assert.match(r.rollout, /^manual-/);
  assert.equal(r.replicas.length, 1);
  assert.equal(r.summary.failed, 0);
  const [same, other] = [r.pairs.find((p) => p.shadow === 2)!, r.pairs.find((p) => p.shadow === 3)!];
  assert.ok(same.compared > 0 && other.compared > 0, 'shadows are dropped only while busy: some were compared');
  assert.equal(same.disagreed, 0, 'v2: the same top-1 class on every call');
  assert.equal(same.outputs[0]?.maxAbs, 1, "v2's scores are 1 above v1's");
  assert.ok(Math.abs((same.outputs[0]?.meanAbs ?? 0) - 1) < 1e-9);
  assert.equal(other.disagreed, other.compared, 'v3: another top-1 class on every call');
  assert.equal(other.outputs[0]?.maxAbs, 7);
  assert.ok(other.shadowLatency.count >= other.compared);
  assert.equal(r.summary.disagreed, other.compared);
  assert.ok(r.worst.length > 0 && r.worst.every((w) => w.shadow === 3 && w.diff === 7 && w.requestId.length > 0));
  const v1 = r.arms.find((a) => a.version === '1');
  assert.ok((v1?.requests ?? 0) >= CALLS, JSON.stringify(r.arms));
  assert.equal(v1?.errors, 0);
});

test('the HTML report is one self-contained page with a CSP; an unknown format is 400 naming it', async () => {
  const res = await request(`${base}/v2/rollouts/m/report?format=html`);
  const html = await res.body.text();
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  assert.match(html, /^<!doctype html>/i);
  assert.match(html, /Version 1 \(primary\) vs 3 \(shadow\)/);
  assert.doesNotMatch(html, /<script|src=|href="http/i, 'nothing is fetched or run');
  const bad = await api(base, 'GET', '/v2/rollouts/m/report?format=xml');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /'format' must be 'json' or 'html'/);
  const none = await api(base, 'GET', '/v2/rollouts/nothing/report');
  assert.equal(none.status, 404);
  assert.match(none.body.error, /'nothing' has no observations yet/);
});

test('infergate rollout report: text, --json and --html FILE; a model without observations is one line, exit 1', async () => {
  const text = await cli('rollout', 'report', 'm');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /agreement [\d.]+%: \d+ of \d+ compared calls disagree/);
  assert.match(text.stdout, /v1 → v2/);
  assert.match(text.stdout, /v1 → v3/);
  assert.match(text.stdout, /worst calls/);
  const json = await cli('rollout', 'report', 'm', '--json');
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(
    (JSON.parse(json.stdout) as RolloutReport).pairs.map((p) => p.shadow),
    [2, 3],
  );
  const file = join(mkdtempSync(join(tmpdir(), 'ig-report-')), 'report.html');
  const html = await cli('rollout', 'report', 'm', '--html', file);
  assert.equal(html.code, 0, html.stderr);
  assert.match(readFileSync(file, 'utf8'), /^<!doctype html>/i);
  const none = await cli('rollout', 'report', 'nothing');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^infergate rollout report: .*'nothing' has no observations yet/);
  assert.equal(none.stderr.trim().split('\n').length, 1);
});
