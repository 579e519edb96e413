/**
 * The Kafka streaming entry point's metrics (docs/kafka.md), declared beside metrics.ts (which
 * includes them) and read at scrape time from each stream's counters (protocol/kafka/stream.ts).
 * Label values come from the server's flags (topics, groups) and the error registry (codes).
 */
import type { MetricType, Sample } from './metric-view.js';

/** One stream (a model bound to an input topic in a consumer group) as its families read it. */
export interface KafkaStreamReading {
  topic: string;
  group: string;
  outputTopic: string;
  deadLetterTopic: string;
  /** Records taken from the input topic (a record delivered again after a rebalance counts again). */
  consumed: number;
  /** Result records produced to the output topic. */
  produced: number;
  /** Records produced to the dead-letter topic, by error code. */
  deadLettered: Readonly<Record<string, number>>;
  /** Calls tried again after a retryable refusal (queue full, not ready…), by error code. */
  retries: Readonly<Record<string, number>>;
  /** Sends to the cluster that failed (then retried). */
  sendFailures: number;
  /** Offset commits that failed (a later one covers them, or the records come again). */
  commitFailures: number;
  /** Times the consumer client failed and restarted (broker gone, group lost). */
  crashes: number;
  /** Partitions of the input topic this replica has paused now (backpressure). */
  pausedPartitions: number;
  /** The group's lag per partition of the input topic, as the broker last said. */
  lag: ReadonlyArray<{ partition: number; lag: number }>;
}

type Family = [name: string, help: string, type: MetricType, labels: readonly string[], read: (out: Sample[]) => void];

/** The Kafka families; empty without streams. */
export function kafkaFamilies(read: (() => readonly KafkaStreamReading[]) | undefined): Family[] {
  const TG = ['topic', 'group'] as const;
  const each =
    (push: (s: KafkaStreamReading, labels: { topic: string; group: string }, out: Sample[]) => void) =>
    (out: Sample[]) => {
      for (const s of read?.() ?? []) push(s, { topic: s.topic, group: s.group }, out);
    };
  /** One series per stream. */
  const perStream = (name: string, help: string, type: MetricType, pick: (s: KafkaStreamReading) => number): Family => [
    name,
    help,
    type,
    TG,
    each((s, labels, out) => out.push({ labels, value: pick(s) })),
  ];
  /** One series per stream and error code. */
  const perCode = (
    name: string,
    help: string,
    pick: (s: KafkaStreamReading) => Readonly<Record<string, number>>,
  ): Family => [
    name,
    help,
    'counter',
    [...TG, 'code'],
    each((s, labels, out) => {
      for (const [code, value] of Object.entries(pick(s))) out.push({ labels: { ...labels, code }, value });
    }),
  ];
  return [
    [
      'infergate_kafka_consumer_lag',
      "Records in a partition of a stream's input topic after its consumer group's committed offset (what KEDA scales on)",
      'gauge',
      ['topic', 'partition', 'group'],
      each((s, { topic, group }, out) => {
        for (const p of s.lag) out.push({ labels: { topic, partition: String(p.partition), group }, value: p.lag });
      }),
    ],
    perStream(
      'infergate_kafka_messages_consumed_total',
      'Records taken from the input topic (again after a rebalance: at-least-once)',
      'counter',
      (s) => s.consumed,
    ),
    perStream(
      'infergate_kafka_messages_produced_total',
      'Result records produced to the output topic, by input topic and group',
      'counter',
      (s) => s.produced,
    ),
    perCode(
      'infergate_kafka_messages_dead_lettered_total',
      'Records sent to the dead-letter topic (undecodable, invalid, oversized, failed), by error code',
      (s) => s.deadLettered,
    ),
    perCode(
      'infergate_kafka_retries_total',
      'Calls tried again after a back-off because the model could not take them then (queue full, not ready), by error code',
      (s) => s.retries,
    ),
    perStream(
      'infergate_kafka_send_failures_total',
      'Produce requests the cluster did not acknowledge (retried; results are never dropped)',
      'counter',
      (s) => s.sendFailures,
    ),
    perStream(
      'infergate_kafka_commit_failures_total',
      'Offset commits that failed (covered by a later commit, or the records are delivered again)',
      'counter',
      (s) => s.commitFailures,
    ),
    perStream(
      'infergate_kafka_consumer_crashes_total',
      'Times the Kafka consumer failed and restarted (broker unreachable, group lost)',
      'counter',
      (s) => s.crashes,
    ),
    perStream(
      'infergate_kafka_paused_partitions',
      'Input partitions paused now by backpressure (the model queue is full, or results wait to be produced)',
      'gauge',
      (s) => s.pausedPartitions,
    ),
  ];
}
