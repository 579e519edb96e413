// Metric families read from the statistics counters: same numbers as /stats, series per version
// from registration to drop, Triton's failure reasons pre-created, cumulative histogram buckets.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Metrics } from '../../../src/observability/metrics.js';
import { StatsRegistry } from '../../../src/observability/stats-registry.js';

const stats = new StatsRegistry();
const metrics = new Metrics({ stats, versions: () => [{ model: 'm', version: '1', ready: true }] }, { gpu: false });
after(() => metrics.close());

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a registered version has every series at zero, failure reasons included', async () => {
  stats.get('m', 1);
  const text = await metrics.exposition();
  assert.equal(value(text, 'nv_inference_request_success{model="m",version="1"}'), 0);
  for (const r of ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'])
    assert.equal(value(text, `nv_inference_request_failure{model="m",version="1",reason="${r}"}`), 0);
  assert.equal(value(text, 'infergate_model_ready{model="m",version="1"}'), 1);
  assert.match(text, /# HELP nv_inference_count \S/);
});

test('counters and histograms follow the statistics counters exactly', async () => {
  const s = stats.get('m', 1);
  const t = { inputNs: 1_000, inferNs: 2_000_000, outputNs: 3_000 };
  s.execution(4, t);
  s.success(Date.now(), 3_500_000, 250_000, 4, t, 'grpc');
  s.failure(Date.now(), 1_000_000, 'REJECTED', 'http');
  s.dropped('queue_full');
  const text = await metrics.exposition();
  const snap = s.snapshot();
  assert.equal(value(text, 'nv_inference_request_success{model="m",version="1"}'), snap.inference_stats.success.count);
  assert.equal(value(text, 'nv_inference_count{model="m",version="1"}'), snap.inference_count);
  assert.equal(value(text, 'nv_inference_request_duration_us{model="m",version="1"}'), 3500);
  assert.equal(value(text, 'nv_inference_queue_duration_us{model="m",version="1"}'), 250);
  assert.equal(value(text, 'nv_inference_request_failure{model="m",version="1",reason="REJECTED"}'), 1);
  assert.equal(value(text, 'infergate_requests_dropped_total{model="m",version="1",reason="queue_full"}'), 1);
  const h = 'infergate_request_duration_seconds_bucket{model="m",version="1",protocol="grpc",outcome="success"';
  assert.equal(value(text, `${h},le="0.0025"}`), 0);
  assert.equal(value(text, `${h},le="0.005"}`), 1);
  assert.equal(value(text, `${h},le="+Inf"}`), 1);
  assert.equal(value(text, 'infergate_batch_size_bucket{model="m",version="1",le="4"}'), 1);
  assert.equal(value(text, 'infergate_batch_size_bucket{model="m",version="1",le="2"}'), 0);
});

test('unrouted requests are counted by reason only; dropped versions lose their series', async () => {
  metrics.countUnrouted('model_not_found');
  stats.drop('m', 1);
  const text = await metrics.exposition();
  assert.equal(value(text, 'infergate_unrouted_requests_total{reason="model_not_found"}'), 1);
  assert.doesNotMatch(text, /nv_inference_request_success\{/);
  assert.doesNotMatch(text, /infergate_request_duration_seconds_bucket\{/);
});
