// Kafka streaming inference end to end: a real broker (Apache Kafka, KRaft), the real server with
// onnxruntime, JSON and binary requests in, results out keyed and in order per key, bad records on
// the dead-letter topic, the metrics, a draining stop that commits what it produced, and the
// startup errors that name their flag.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createTopics, freshName, kafkaSkip, testKafka, testKafkaBrokers, topicSize } from '../services/kafka.js';
import {
  ADDED,
  addcRepo,
  binaryRecord,
  checkOrder,
  cleanReport,
  jsonRecord,
  keyOf,
  lagDrained,
  seriesValue,
  resultY,
  sendAll,
  TopicReader,
} from './kafka-helpers.js';
import { metricValue, until } from './scrape.js';
import { startTestServer, type TestServer } from './server.js';

const skip = kafkaSkip();
const KEYS = 6;
const GOOD = 300;

let brokers: string;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let server: TestServer;
let repo: string;
const input = freshName('requests');
const output = freshName('results');
const dlq = `${input}.dlq`;

before(async () => {
  if (skip) return;
  brokers = await testKafkaBrokers();
  kafka = testKafka(brokers);
  admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [input, output], 3);
  await createTopics(admin, [dlq], 1);
  producer = kafka.producer();
  await producer.connect();
  repo = addcRepo();
  server = await startTestServer({
    repository: repo,
    kafkaBrokers: [brokers],
    kafkaStreams: [`addc=${input},${output}`],
    kafkaMaxMessageBytes: 4096,
    kafkaLagIntervalMs: 200,
  });
});

after(async () => {
  if (skip) return;
  await server?.close();
  await producer?.disconnect();
  await admin?.disconnect();
});

test('JSON and binary requests are answered on the output topic, keyed and in order per key; bad records are dead-lettered', {
  skip,
}, async () => {
  const reader = await TopicReader.start(kafka, output);
  const dead = await TopicReader.start(kafka, dlq);
  const messages = Array.from({ length: GOOD }, (_, seq) =>
    seq % 2 ? binaryRecord(seq, KEYS) : jsonRecord(seq, KEYS),
  );
  // Three bad records among them: not JSON, an input the model does not have (refused by the
  // router's validation), and one over --kafka-max-message-bytes.
  messages.splice(50, 0, { key: 'bad', value: '{"inputs": [' });
  messages.splice(150, 0, {
    key: 'bad',
    value: JSON.stringify({ inputs: [{ name: 'zz', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
  });
  messages.splice(250, 0, { key: 'bad', value: Buffer.alloc(5000, 0x20) });
  for (let i = 0; i < messages.length; i += 50) await sendAll(producer, input, messages.slice(i, i + 50));

  await reader.atLeast(GOOD);
  await dead.atLeast(3);
  const report = checkOrder(reader.records, KEYS);
  assert.deepEqual(report, cleanReport(GOOD));
  // Binary requests that asked for binary outputs got them; JSON ones JSON.
  const byId = new Map(reader.records.map((r) => [r.headers['infergate-request-id'], r]));
  assert.equal(byId.get('r-1')?.headers['content-type'], 'application/octet-stream');
  assert.equal(byId.get('r-2')?.headers['content-type'], 'application/json');
  assert.deepEqual(resultY(byId.get('r-7')!), [7 + ADDED, ADDED, ADDED, ADDED]);
  for (const r of reader.records) {
    assert.equal(r.headers['infergate-source-topic'], input);
    assert.equal(r.headers['infergate-model-version'], '1');
    assert.match(r.headers['infergate-source-offset'] ?? '', /^\d+$/);
  }
  // Same key, same output partition (the producer's partitioner): keys stay together.
  const partitionsOfKey = new Map<string, Set<number>>();
  for (const r of reader.records)
    partitionsOfKey.set(r.key, (partitionsOfKey.get(r.key) ?? new Set()).add(r.partition));
  for (const [key, parts] of partitionsOfKey) assert.equal(parts.size, 1, `key ${key} in one partition`);
  assert.equal(keyOf(7, KEYS), byId.get('r-7')?.key);

  assert.deepEqual(dead.records.map((r) => r.headers['infergate-error-code']).sort(), [
    'IG_ERR_INVALID_ARG',
    'IG_ERR_INVALID_ARG',
    'IG_ERR_PAYLOAD_TOO_LARGE',
  ]);
  for (const r of dead.records) {
    assert.equal(r.key, 'bad');
    assert.ok((r.headers['infergate-error-message'] ?? '').length > 0);
    assert.equal(r.headers['infergate-source-topic'], input);
  }
  const tooBig = dead.records.find((r) => r.headers['infergate-error-code'] === 'IG_ERR_PAYLOAD_TOO_LARGE')!;
  assert.equal(tooBig.value, null);
  assert.equal(tooBig.headers['infergate-original-bytes'], '5000');
  const validation = dead.records.find((r) => r.value?.toString().includes('"zz"'));
  assert.match(validation?.headers['infergate-error-message'] ?? '', /zz/);

  // The metrics: counters, and the group's lag back to 0 once everything is committed.
  const port = server.server.metricsPort;
  const at = `topic="${input}",group="infergate-${input}"`;
  await until(
    async () => (await metricValue(port, 'infergate_kafka_messages_produced_total', at)) === GOOD,
    60_000,
    'produced counter',
  );
  await lagDrained(port, input, 3);
  assert.equal(await seriesValue(port, 'infergate_kafka_messages_consumed_total', at), GOOD + 3);
  assert.equal(
    await seriesValue(port, 'infergate_kafka_messages_dead_lettered_total', `${at},code="IG_ERR_INVALID_ARG"`),
    2,
  );
  assert.equal(
    await seriesValue(port, 'infergate_kafka_messages_dead_lettered_total', `${at},code="IG_ERR_PAYLOAD_TOO_LARGE"`),
    1,
  );
  assert.equal(await seriesValue(port, 'infergate_kafka_consumer_crashes_total', at), 0);
  assert.ok(
    (await metricValue(
      port,
      'infergate_request_duration_seconds_count',
      'model="addc",version="1",protocol="kafka",outcome="success"',
    )) >= GOOD,
  );
  assert.equal(await topicSize(admin, output), GOOD);
  assert.equal(await topicSize(admin, dlq), 3);
  await reader.stop();
  await dead.stop();
});

test('a stop commits what was produced: the group has nothing left to read', { skip }, async () => {
  // More records, then stop at once: whatever was answered is committed, the rest stays unread.
  await sendAll(
    producer,
    input,
    Array.from({ length: 200 }, (_, i) => jsonRecord(GOOD + i, KEYS)),
  );
  await server.close();
  const committed = await admin.fetchOffsets({ groupId: `infergate-${input}`, topics: [input] });
  const committedTotal = committed[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  const answered = (await topicSize(admin, output)) + (await topicSize(admin, dlq));
  // At-least-once: every committed record was answered before its commit.
  assert.ok(committedTotal <= answered, `committed ${committedTotal} ≤ answered ${answered}`);
  assert.ok(committedTotal >= GOOD + 3, 'the first test’s records stay committed');
  // A new server in the same group goes on from there and answers the rest, once each.
  server = await startTestServer({
    repository: repo,
    kafkaBrokers: [brokers],
    kafkaStreams: [`addc=${input},${output}`],
    kafkaMaxMessageBytes: 4096,
  });
  const reader = await TopicReader.start(kafka, output);
  await reader.atLeast(GOOD + 200);
  const report = checkOrder(reader.records, KEYS);
  assert.equal(report.distinct, GOOD + 200);
  assert.equal(report.duplicates, 0, 'the drained stop committed everything it produced');
  assert.deepEqual(report.outOfOrderKeys, []);
  await reader.stop();
});

test('bad Kafka flags fail the start naming the flag', { skip }, async () => {
  await assert.rejects(
    startTestServer({ repository: repo, kafkaBrokers: [brokers], kafkaStreams: [`nosuch=${input},${output}`] }),
    /--kafka-stream nosuch=.*unknown model/,
  );
  await assert.rejects(
    startTestServer({ repository: repo, kafkaBrokers: ['no-port'], kafkaStreams: [`addc=${input},${output}`] }),
    /--kafka-brokers 'no-port'/,
  );
  await assert.rejects(
    startTestServer({ repository: repo, kafkaBrokers: [brokers], kafkaStreams: ['addc=only-one-topic'] }),
    /--kafka-stream/,
  );
});
