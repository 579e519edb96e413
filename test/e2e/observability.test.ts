// Observability through the real server: /metrics agrees with /stats after HTTP and gRPC traffic,
// series follow load/unload, unknown models count only in an unlabelled counter, promtool accepts
// the exposition, traced requests continue the caller's trace over HTTP and gRPC, and every
// request leaves a structured log line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import type { Tensor } from '../../src/core/index.js';
import { Tracing } from '../../src/observability/tracing.js';
import { requireTool } from '../integration/tools.js';
import { startTestServer, type TestServer } from './server.js';

const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
    done();
  },
});
const exporter = new InMemorySpanExporter();
let s: TestServer;

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const input = (): Tensor => ({
  name: 'input',
  datatype: 'FP32',
  shape: [1, 784],
  data: new Float32Array(784).fill(0.2),
});

before(async () => {
  s = await startTestServer(
    { controlMode: 'explicit', loadModels: ['digits'] },
    { logger: pino({ level: 'debug' }, sink), tracing: new Tracing({ exporter, env: {} }) },
  );
});
after(() => s.close());

async function scrape(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${s.server.metricsPort}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return r.text();
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('/metrics and /stats report the same counters after HTTP and gRPC traffic', async () => {
  await Promise.all(Array.from({ length: 12 }, () => s.http.infer('digits', [input()])));
  for (let i = 0; i < 5; i++) await s.grpc.infer('digits', [input()]);
  await assert.rejects(s.http.infer('digits', [{ ...input(), shape: [1, 3], data: new Float32Array(3) }]));
  const stats = (await s.http.json('GET', '/v2/models/digits/versions/1/stats')) as {
    model_stats: Array<{
      inference_count: number;
      execution_count: number;
      inference_stats: Record<string, { count: number; ns: number }>;
    }>;
  };
  const text = await scrape();
  const st = stats.model_stats[0]!;
  const at = '{model="digits",version="1"}';
  assert.equal(value(text, `nv_inference_request_success${at}`), st.inference_stats.success!.count);
  assert.equal(st.inference_stats.success!.count, 17);
  assert.equal(value(text, `nv_inference_count${at}`), st.inference_count);
  assert.equal(value(text, `nv_inference_exec_count${at}`), st.execution_count);
  for (const [metric, key] of [
    ['request', 'success'],
    ['queue', 'queue'],
    ['compute_infer', 'compute_infer'],
  ] as const)
    assert.equal(
      value(text, `nv_inference_${metric}_duration_us${at}`),
      Math.floor(st.inference_stats[key]!.ns / 1000),
    );
  assert.equal(
    value(text, 'nv_inference_request_failure{model="digits",version="1",reason="OTHER"}'),
    st.inference_stats.fail!.count,
  );
  const grpc = 'infergate_request_duration_seconds_count{model="digits",version="1",protocol="grpc",outcome="success"}';
  assert.equal(value(text, grpc), 5);
});

test('an unknown model counts only in the unlabelled counter; never as a label value', async () => {
  const before = value(await scrape(), 'infergate_unrouted_requests_total{reason="model_not_found"}') ?? 0;
  await assert.rejects(s.http.infer('no_such_model"x', [input()]));
  const text = await scrape();
  assert.equal(value(text, 'infergate_unrouted_requests_total{reason="model_not_found"}'), before + 1);
  assert.doesNotMatch(text, /no_such_model/);
});

test('a version has series from load and loses them at unload', async () => {
  await s.http.json('POST', '/v2/repository/models/simple/load');
  let text = await scrape();
  assert.equal(value(text, 'nv_inference_request_success{model="simple",version="1"}'), 0);
  assert.ok((value(text, 'nv_model_load_duration_secs{model="simple",version="1"}') ?? 0) > 0);
  await s.http.json('POST', '/v2/repository/models/simple/unload');
  text = await scrape();
  assert.doesNotMatch(text, /\{model="simple",version="1"/);
});

test('promtool check metrics: no problems except in the names Triton and prom-client fix', async () => {
  const promtool = requireTool('promtool');
  const r = spawnSync(promtool, ['check', 'metrics'], { input: await scrape(), encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 3, `promtool failed to parse: ${r.stderr}${r.stdout}`);
  const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const ours = problems.filter((l) => !/^(nv_|infergate_nodejs_active_)/.test(l));
  assert.deepEqual(ours, []);
});

function spansOf(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((sp) => sp.spanContext().traceId === traceId);
}

function checkTrace(traceId: string, callerSpan: string): void {
  const spans = spansOf(traceId);
  const req = spans.find((sp) => sp.kind === 1);
  assert.ok(req, `a SERVER span in ${spans.map((x) => x.name).join(', ')}`);
  assert.equal(req.parentSpanContext?.spanId, callerSpan, "the request span continues the caller's span");
  assert.equal(req.attributes['infergate.model.name'], 'digits');
  assert.equal(req.attributes['infergate.model.version'], '1');
  const reqId = req.spanContext().spanId;
  for (const name of ['queue wait', 'response encoding', 'batch execution']) {
    const child = spans.find((sp) => sp.name === name);
    assert.ok(child, `${name} span`);
    assert.equal(child.parentSpanContext?.spanId, reqId, `${name} is a child of the request span`);
  }
  const batch = spans.find((sp) => sp.name === 'batch execution')!;
  assert.ok(
    batch.links.some((l) => l.context.spanId === reqId),
    'the batch span links the request',
  );
}

test('tracing: the trace setting endpoint turns it on; HTTP and gRPC continue the caller trace', async () => {
  const set = (await s.http.json('POST', '/v2/trace/setting', {
    trace_level: ['TIMESTAMPS'],
    trace_rate: '1',
  })) as Record<string, unknown>;
  assert.deepEqual(set.trace_level, ['TIMESTAMPS']);
  assert.equal(set.trace_mode, 'opentelemetry');
  const res = await fetch(`http://${s.httpAddress}/v2/models/digits/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    body: JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Array(784).fill(0.1) }],
    }),
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  checkTrace(TRACE_ID, '00f067aa0ba902b7');
  const grpcTrace = 'aaf92f3577b34da6a3ce929d0e0e47bb';
  await s.grpc.infer('digits', [input()], { metadata: { traceparent: `00-${grpcTrace}-b7ad6b7169203331-01` } });
  checkTrace(grpcTrace, 'b7ad6b7169203331');
  const grpcReq = spansOf(grpcTrace).find((sp) => sp.kind === 1)!;
  assert.equal(grpcReq.attributes['rpc.system'], 'grpc');
  const streamTrace = 'bbf92f3577b34da6a3ce929d0e0e47cc';
  const answers = await s.grpc.streamInfer('digits', [[input()]], {
    metadata: { traceparent: `00-${streamTrace}-c7ad6b7169203332-01` },
  });
  assert.equal(typeof answers[0], 'object', 'the stream request succeeded');
  checkTrace(streamTrace, 'c7ad6b7169203332');
});

test('tracing: a malformed traceparent starts a new trace and the request succeeds', async () => {
  const before = exporter.getFinishedSpans().length;
  const res = await fetch(`http://${s.httpAddress}/v2/models/digits/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: '00-zzzz-not-a-trace-01' },
    body: JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Array(784).fill(0.1) }],
    }),
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const fresh = exporter
    .getFinishedSpans()
    .slice(before)
    .find((sp) => sp.kind === 1);
  assert.ok(fresh, 'traced as a new root');
  assert.equal(fresh.parentSpanContext, undefined);
  // Turning tracing off again: no further spans.
  await s.http.json('POST', '/v2/trace/setting', { trace_level: ['OFF'] });
  const count = exporter.getFinishedSpans().length;
  await s.http.infer('digits', [input()]);
  assert.equal(exporter.getFinishedSpans().length, count);
});

test('logs: one debug line per request, warn per failure, with request id, trace id and outcome', async () => {
  lines.length = 0;
  await s.http.infer('digits', [input()], { id: 'req-42' });
  await assert.rejects(s.grpc.infer('digits', [{ ...input(), shape: [1, 5], data: new Float32Array(5) }]));
  const ok = lines.find((l) => l.msg === 'inference request' && l.request_id === 'req-42');
  assert.ok(ok, 'success line');
  assert.equal(ok.level, 20);
  assert.equal(ok.model, 'digits');
  assert.equal(ok.outcome, 'success');
  assert.equal(typeof ok.latency_ms, 'number');
  const bad = lines.find((l) => l.msg === 'inference request failed');
  assert.ok(bad, 'failure line');
  assert.equal(bad.level, 40);
  assert.equal(bad.protocol, 'grpc');
  assert.match(String(bad.request_id), /^[0-9a-f]{8}-\d+$/, 'generated id');
  assert.ok(!JSON.stringify(lines).includes('0.2,0.2'), 'no tensor data in logs');
  // Runtime level change through /v2/logging silences the debug lines.
  await s.http.json('POST', '/v2/logging', { log_verbose_level: 0 });
  lines.length = 0;
  await s.http.infer('digits', [input()]);
  assert.equal(lines.filter((l) => l.msg === 'inference request').length, 0);
});
