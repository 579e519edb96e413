// A real Prometheus scrapes a live infergate every second while it serves HTTP and gRPC traffic;
// its HTTP API must then hold our counters and histograms (polled, no timing asserts). The alert
// rules pass `promtool check rules` and their unit tests, and every PromQL expression of the
// Grafana dashboard parses. A missing prometheus/promtool fails these tests (never a skip).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { startTestServer, type TestServer } from '../e2e/server.js';
import { requireTool } from './tools.js';

const ALERTS = resolve('deploy/prometheus/alerts.yml');
const ALERT_TESTS = resolve('deploy/prometheus/alerts.test.yml');
const DASHBOARD = resolve('deploy/grafana/infergate.json');
const input = (): Tensor => ({
  name: 'input',
  datatype: 'FP32',
  shape: [1, 784],
  data: new Float32Array(784).fill(0.3),
});

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
    srv.once('error', rej);
  });
}

function promtool(args: string[], input?: string) {
  const r = spawnSync('promtool', args, { encoding: 'utf8', input });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('promtool: rules, rule unit tests, dashboard expressions', () => {
  test('check rules and test rules pass', () => {
    requireTool('promtool');
    const check = promtool(['check', 'rules', ALERTS]);
    assert.equal(check.status, 0, check.out);
    const unit = promtool(['test', 'rules', ALERT_TESTS]);
    assert.equal(unit.status, 0, unit.out);
  });

  test('every alert has a unit test and a runbook paragraph', () => {
    const alerts = [...readFileSync(ALERTS, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    const tests = readFileSync(ALERT_TESTS, 'utf8');
    const runbook = readFileSync('docs/runbook.md', 'utf8');
    assert.ok(alerts.length >= 7);
    for (const a of alerts) {
      assert.match(tests, new RegExp(`alertname: ${a}\\b`), `${a} has a unit test`);
      assert.match(runbook, new RegExp(`\`${a.replace(/(Fast|Slow)$/, '')}`), `${a} has a runbook paragraph`);
    }
  });

  test('every dashboard PromQL expression parses', () => {
    requireTool('promtool');
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = dash.panels.flatMap((p) => p.targets.map((x) => x.expr));
    assert.ok(exprs.length >= 10);
    // Grafana's variables are substituted as Grafana would before the query reaches Prometheus.
    const rules = exprs.map((e, i) => {
      const q = e.replaceAll('$__rate_interval', '1m').replaceAll('$model', '.*');
      return `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(q)}\n`;
    });
    const dir = mkdtempSync(join(tmpdir(), 'infergate-dash-'));
    try {
      const file = join(dir, 'dashboard.rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
      const r = promtool(['check', 'rules', file]);
      assert.equal(r.status, 0, r.out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a real Prometheus scraping a live server', () => {
  let s: TestServer | undefined;
  let prom: ChildProcess | undefined;
  let dir = '';
  let api = '';

  before(async () => {
    requireTool('prometheus');
    requireTool('promtool');
    s = await startTestServer({ controlMode: 'explicit', loadModels: ['digits'] });
    dir = mkdtempSync(join(tmpdir(), 'infergate-prom-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    const config = [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: [${JSON.stringify(ALERTS)}]`,
      'scrape_configs:',
      '  - job_name: infergate',
      `    static_configs: [{ targets: ["127.0.0.1:${s.server.metricsPort}"] }]`,
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
    prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr?.resume();
  });

  after(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom?.once('exit', r));
      prom.kill('SIGTERM');
      const timer = setTimeout(() => prom?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls an instant query until `accept` holds for its result (generous deadline). */
  async function until<T>(
    query: string,
    accept: (r: Array<{ metric: Record<string, string>; value: [number, string] }>) => T | undefined,
  ): Promise<T> {
    const deadline = Date.now() + 90_000;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${api}/query?query=${encodeURIComponent(query)}`);
        const body = (await res.json()) as {
          status: string;
          data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
        };
        last = JSON.stringify(body).slice(0, 300);
        const got = body.status === 'success' ? accept(body.data?.result ?? []) : undefined;
        if (got !== undefined) return got;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`Prometheus never answered ${query} as expected; last: ${last}`);
  }

  const num = (r: Array<{ value: [number, string] }>) => (r.length === 1 ? Number(r[0]!.value[1]) : undefined);

  test('Prometheus holds the counters and histograms the traffic produced', async () => {
    assert.ok(s, 'server started');
    await until('up{job="infergate"}', (r) => (num(r) === 1 ? true : undefined));
    for (let i = 0; i < 30; i++) await s.http.infer('digits', [input()]);
    for (let i = 0; i < 10; i++) await s.grpc.infer('digits', [input()]);
    await assert.rejects(s.http.infer('not_a_model', [input()]));
    const at = 'model="digits",version="1"';
    await until(`nv_inference_request_success{${at}}`, (r) => (num(r) === 40 ? true : undefined));
    await until(`nv_inference_count{${at}}`, (r) => (num(r) === 40 ? true : undefined));
    await until(`infergate_request_duration_seconds_bucket{${at},protocol="grpc",outcome="success",le="+Inf"}`, (r) =>
      num(r) === 10 ? true : undefined,
    );
    await until('infergate_unrouted_requests_total{reason="model_not_found"}', (r) =>
      num(r) === 1 ? true : undefined,
    );
    await until(`sum(nv_inference_request_failure{${at}})`, (r) => (num(r) === 0 ? true : undefined));
    const p50 = await until(
      `histogram_quantile(0.5, sum by (le) (infergate_request_duration_seconds_bucket{${at}}))`,
      (r) => {
        const v = num(r);
        return v !== undefined && Number.isFinite(v) ? v : undefined;
      },
    );
    assert.ok(p50 > 0);
    await until(`infergate_batch_size_count{${at}}`, (r) => ((num(r) ?? 0) >= 1 ? true : undefined));
    await until(`infergate_model_ready{${at}}`, (r) => (num(r) === 1 ? true : undefined));
    await until('infergate_process_resident_memory_bytes', (r) => ((num(r) ?? 0) > 0 ? true : undefined));
    await until('count(infergate_event_loop_delay_seconds)', (r) => (num(r) === 3 ? true : undefined));
  });

  test('Prometheus loaded the alert rules and evaluates them without errors', async () => {
    assert.ok(s, 'server started');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const body = (await (await fetch(`${api}/rules`)).json()) as {
        data: { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
      };
      const rules = body.data.groups.flatMap((g) => g.rules);
      const evaluated = rules.length >= 15 && rules.every((r) => r.health === 'ok');
      if (evaluated) return;
      const broken = rules.filter((r) => r.health === 'err');
      assert.deepEqual(
        broken.map((r) => `${r.name}: ${r.lastError}`),
        [],
      );
      if (Date.now() > deadline) assert.fail(`rules not evaluated: ${JSON.stringify(rules).slice(0, 400)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
});
