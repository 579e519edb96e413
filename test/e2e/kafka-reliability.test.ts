// Reliability of Kafka streaming inference against a real broker and the real server
// (reliability.md R9, R10):
//   R10 poison and oversized input: 100 malformed and 10 × 5 MB records mixed into 10,000 good
//       ones → exactly 110 on the dead-letter topic, 0 consumer crashes, 10,000 results, lag 0;
//   R9  the broker stopped for 30 s mid-stream and started again on the same port → no result
//       lost or out of order per key; duplicates only as the same request id with the same
//       answer (at-least-once), counted and reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import {
  createTopics,
  freshName,
  kafkaSkip,
  startPrivateKafka,
  testKafka,
  testKafkaBrokers,
  topicSize,
} from '../services/kafka.js';
import {
  addcRepo,
  binaryRecord,
  checkOrder,
  cleanReport,
  jsonRecord,
  lagDrained,
  sendAll,
  seriesValue,
  TopicReader,
} from './kafka-helpers.js';
import { metricValue } from './scrape.js';
import { startTestServer } from './server.js';

const skip = kafkaSkip();
const KEYS = 16;

/** Malformed record `i` of 100: ten kinds, each refused as a client error. */
function malformed(i: number): Message {
  const kinds: Array<string | null> = [
    '{"inputs": [', // truncated JSON
    'not json at all',
    '[]', // not an object
    '{"inputs": 5}',
    JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP99', shape: [1, 4], data: [1, 2, 3, 4] }] }),
    JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3] }] }), // count ≠ shape
    JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }] }), // the model's dims
    JSON.stringify({ inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }), // unknown input
    JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }], id: 7 }), // id not a string
    null, // a tombstone
  ];
  return { key: `bad-${i}`, value: kinds[i % kinds.length] ?? null };
}

/** Where the 110 bad records go among the 10,000 good ones: spread evenly, deterministic. */
function badSlots(good: number, bad: number): Map<number, number> {
  const slots = new Map<number, number>();
  for (let j = 0; j < bad; j++) slots.set(Math.floor(((j + 0.5) * good) / bad), j);
  return slots;
}

test('R10: 100 malformed and 10 × 5 MB records among 10,000 good ones: exactly 110 dead letters, 10,000 results, no crash, lag back to 0', {
  skip,
  timeout: 600_000,
}, async (t) => {
  const brokers = await testKafkaBrokers();
  const kafka = testKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const input = freshName('r10-in');
  const output = freshName('r10-out');
  const dlq = `${input}.dlq`;
  await createTopics(admin, [input, output], 4);
  await createTopics(admin, [dlq], 1);
  const server = await startTestServer({
    repository: addcRepo(),
    kafkaBrokers: [brokers],
    kafkaStreams: [`addc=${input},${output}`],
    kafkaMaxMessageBytes: 1 << 20,
    kafkaLagIntervalMs: 500,
  });
  const producer = kafka.producer();
  await producer.connect();
  const GOOD = 10_000;
  const slots = badSlots(GOOD, 110);
  let batch: Message[] = [];
  for (let seq = 0; seq < GOOD; seq++) {
    const j = slots.get(seq);
    if (j !== undefined && j % 11 === 10) {
      // Oversized: 5 MB, sent alone (10 of the 110).
      await sendAll(producer, input, batch);
      batch = [];
      await sendAll(producer, input, [{ key: `big-${j}`, value: Buffer.alloc(5 << 20, 0x7b) }]);
    } else if (j !== undefined) batch.push(malformed(j - Math.floor(j / 11)));
    batch.push(seq % 2 ? binaryRecord(seq, KEYS) : jsonRecord(seq, KEYS));
    if (batch.length >= 250) {
      await sendAll(producer, input, batch);
      batch = [];
    }
  }
  await sendAll(producer, input, batch);
  await producer.disconnect();

  const reader = await TopicReader.start(kafka, output);
  await reader.atLeast(GOOD);
  const port = server.server.metricsPort;
  const at = `topic="${input}",group="infergate-${input}"`;
  await lagDrained(port, input, 4);
  // Lag 0 means every record was committed, and a commit follows its records' production: the
  // topics hold all there will be.
  assert.equal(await topicSize(admin, dlq), 110, 'exactly 110 dead letters');
  assert.equal(await topicSize(admin, output), GOOD, 'exactly 10,000 results');
  const dead = await TopicReader.start(kafka, dlq);
  await dead.atLeast(110);
  const codes: Record<string, number> = {};
  for (const r of dead.records) {
    const code = r.headers['infergate-error-code'] ?? 'none';
    codes[code] = (codes[code] ?? 0) + 1;
  }
  assert.deepEqual(codes, { IG_ERR_INVALID_ARG: 100, IG_ERR_PAYLOAD_TOO_LARGE: 10 });
  assert.ok(dead.records.every((r) => r.key.startsWith('bad-') || r.key.startsWith('big-')));
  assert.ok(
    dead.records.filter((r) => r.key.startsWith('big-')).every((r) => r.value === null),
    'oversized values are not copied',
  );
  const report = checkOrder(reader.records, KEYS);
  assert.deepEqual(report, cleanReport(GOOD));
  assert.equal(await seriesValue(port, 'infergate_kafka_consumer_crashes_total', at), 0, 'no consumer crash');
  assert.equal(await seriesValue(port, 'infergate_kafka_messages_produced_total', at), GOOD);
  t.diagnostic(`retries: ${await metricValue(port, 'infergate_kafka_retries_total', at)}`);
  await reader.stop();
  await dead.stop();
  await server.close();
  await admin.disconnect();
});

test('R9: the broker stopped for 30 s mid-stream and restarted on its port: no result lost or reordered per key, duplicates only as the same request id', {
  skip,
  timeout: 600_000,
}, async (t) => {
  let broker = await startPrivateKafka();
  // Stopped whatever happens (a failed assertion must not leave a JVM behind).
  t.after(() => broker.stop());
  const kafka = testKafka(broker.brokers);
  const admin = kafka.admin();
  await admin.connect();
  const input = freshName('r9-in');
  const output = freshName('r9-out');
  await createTopics(admin, [input, output], 4);
  await createTopics(admin, [`${input}.dlq`], 1);
  await admin.disconnect();
  const server = await startTestServer({
    repository: addcRepo(),
    kafkaBrokers: [broker.brokers],
    kafkaStreams: [`addc=${input},${output}`],
    kafkaLagIntervalMs: 500,
    // A slow stream, so that the broker goes while results are being produced.
    kafkaInFlight: 1,
  });
  const reader = await TopicReader.start(kafka, output);
  const producer = kafka.producer();
  await producer.connect();
  const TOTAL = 4000;
  // Half at once (a backlog: the stream is busy when the broker goes), then the producer keeps going
  // through the outage (its sends wait and retry) in paced batches: records arrive before, during
  // (once it is back) and after.
  const producing = (async () => {
    for (let seq = 0; seq < TOTAL; seq += 100) {
      const batch = Array.from({ length: 100 }, (_, i) =>
        (seq + i) % 2 ? binaryRecord(seq + i, KEYS) : jsonRecord(seq + i, KEYS),
      );
      await sendAll(producer, input, batch);
      if (seq >= TOTAL / 2) await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await reader.atLeast(800);
  t.diagnostic(`broker stopped after ${reader.records.length} results`);
  await broker.stop({ keep: true, signal: 'SIGTERM' });
  await new Promise((r) => setTimeout(r, 30_000));
  broker = await startPrivateKafka({ port: broker.port, dir: broker.dir });
  t.diagnostic('broker restarted on the same port');
  await producing;
  while (checkOrder(reader.records, KEYS).distinct < TOTAL) await new Promise((r) => setTimeout(r, 200));
  const report = checkOrder(reader.records, KEYS);
  t.diagnostic(`results: ${reader.records.length}, distinct ${report.distinct}, duplicates ${report.duplicates}`);
  console.log(`R9: ${report.duplicates} duplicate results (same request id, same answer) of ${report.distinct}`);
  assert.equal(report.distinct, TOTAL, 'no result lost');
  assert.deepEqual(report.outOfOrderKeys, [], 'per-key order kept');
  assert.equal(report.conflictingDuplicates, 0, 'duplicates carry the same answer');
  // A few sends' worth at most: a commit taken for done when it was not would redo thousands.
  assert.ok(report.duplicates < TOTAL / 4, `duplicates stay few: ${report.duplicates}`);
  assert.equal(report.wrongKeys, 0);
  assert.equal(report.wrongValues, 0);
  const ids = new Set(reader.records.map((r) => r.headers['infergate-request-id']));
  assert.equal(ids.size, TOTAL, 'duplicates only as request ids already answered');
  const port = server.server.metricsPort;
  t.diagnostic(
    `consumer crashes ${await metricValue(port, 'infergate_kafka_consumer_crashes_total', `topic="${input}"`)}, ` +
      `send failures ${await metricValue(port, 'infergate_kafka_send_failures_total', `topic="${input}"`)}`,
  );
  const admin2 = kafka.admin();
  await admin2.connect();
  assert.equal(await topicSize(admin2, `${input}.dlq`), 0, 'nothing dead-lettered by the outage');
  await admin2.disconnect();
  await producer.disconnect();
  await reader.stop();
  await server.close();
});
