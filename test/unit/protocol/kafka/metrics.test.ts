// The Kafka families in the exposition, and the KEDA example (deploy/keda/) kept in step with them:
// its query must name the metric and labels the server exports, and the default group.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { KafkaStreamReading } from '../../../../src/observability/kafka-metrics.js';
import { Metrics } from '../../../../src/observability/metrics.js';
import { StatsRegistry } from '../../../../src/observability/stats-registry.js';
import { parseStream } from '../../../../src/protocol/kafka/config.js';

const reading: KafkaStreamReading = {
  topic: 'digits-requests',
  group: 'infergate-digits-requests',
  outputTopic: 'digits-results',
  deadLetterTopic: 'digits-requests.dlq',
  consumed: 12,
  produced: 9,
  deadLettered: { IG_ERR_INVALID_ARG: 2, IG_ERR_PAYLOAD_TOO_LARGE: 1 },
  retries: { IG_ERR_QUEUE_FULL: 4 },
  sendFailures: 1,
  commitFailures: 0,
  crashes: 0,
  pausedPartitions: 1,
  lag: [
    { partition: 0, lag: 7 },
    { partition: 1, lag: 0 },
  ],
};

test('the Kafka families: lag per partition, counters per stream and error code', async () => {
  const metrics = new Metrics({ stats: new StatsRegistry(), kafka: () => [reading] }, { gpu: false });
  const text = await metrics.exposition();
  metrics.close();
  const g = 'group="infergate-digits-requests"';
  for (const line of [
    `infergate_kafka_consumer_lag{topic="digits-requests",partition="0",${g}} 7`,
    `infergate_kafka_consumer_lag{topic="digits-requests",partition="1",${g}} 0`,
    `infergate_kafka_messages_consumed_total{topic="digits-requests",${g}} 12`,
    `infergate_kafka_messages_produced_total{topic="digits-requests",${g}} 9`,
    `infergate_kafka_messages_dead_lettered_total{topic="digits-requests",${g},code="IG_ERR_INVALID_ARG"} 2`,
    `infergate_kafka_messages_dead_lettered_total{topic="digits-requests",${g},code="IG_ERR_PAYLOAD_TOO_LARGE"} 1`,
    `infergate_kafka_retries_total{topic="digits-requests",${g},code="IG_ERR_QUEUE_FULL"} 4`,
    `infergate_kafka_send_failures_total{topic="digits-requests",${g}} 1`,
    `infergate_kafka_consumer_crashes_total{topic="digits-requests",${g}} 0`,
    `infergate_kafka_paused_partitions{topic="digits-requests",${g}} 1`,
  ])
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  assert.match(text, /# TYPE infergate_kafka_consumer_lag gauge/);
  assert.match(text, /# TYPE infergate_kafka_messages_dead_lettered_total counter/);
});

test('the KEDA example scales the Deployment on the exported lag of the default group', () => {
  const doc = parse(readFileSync('deploy/keda/scaledobject.yaml', 'utf8')) as {
    apiVersion: string;
    kind: string;
    spec: {
      minReplicaCount: number;
      maxReplicaCount: number;
      triggers: Array<{ type: string; metadata: Record<string, string> }>;
    };
  };
  assert.equal(doc.apiVersion, 'keda.sh/v1alpha1');
  assert.equal(doc.kind, 'ScaledObject');
  const trigger = doc.spec.triggers.find((t) => t.type === 'prometheus');
  const query = trigger?.metadata.query ?? '';
  const binding = parseStream('digits=digits-requests,digits-results');
  assert.ok(query.includes('infergate_kafka_consumer_lag{'), query);
  assert.ok(query.includes(`topic="${binding.inputTopic}"`), query);
  assert.ok(query.includes(`group="${binding.group}"`), 'the default group of --kafka-stream');
  assert.match(query, /max by \(topic, partition\)/, 'each partition counted once whatever the replicas');
  assert.ok(Number(trigger?.metadata.threshold) > 0);
  assert.ok(doc.spec.minReplicaCount >= 1, 'the metric needs a replica to exist');
});
