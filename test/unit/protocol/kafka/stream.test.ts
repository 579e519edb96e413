// The Kafka stream's logic against a fake client and a scripted model: results in offset order
// whatever order the calls finish in, commits only after the results were produced, bad records
// to the dead-letter topic while the stream goes on, pause and resume on a full model queue,
// a new group generation, and a draining stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { InferError, type InferRequest } from '../../../../src/core/index.js';
import type { OutboundMessage } from '../../../../src/protocol/kafka/client.js';
import { KafkaStream, type StreamOptions } from '../../../../src/protocol/kafka/stream.js';
import { backoff } from '../../../../src/protocol/kafka/pipeline.js';
import { type FakeConsumer, FakeInference, FakeKafka, jsonRequest, records, type Script, until } from './fake.js';

const BINDING = { model: 'm', inputTopic: 'in', outputTopic: 'out', deadLetterTopic: 'in.dlq', group: 'g' };
const LIMITS = {
  maxMessageBytes: 4096,
  maxJsonBytes: 4096,
  maxBytesElements: 1024,
  maxJsonDepth: 100,
  maxJsonElements: 1 << 20,
  maxJsonResponseElements: 1 << 20,
};

async function setup(script?: Script, o: Partial<StreamOptions> = {}) {
  const kafka = new FakeKafka();
  const inference = new FakeInference(script);
  const stream = new KafkaStream({
    binding: BINDING,
    client: kafka,
    inference,
    limits: LIMITS,
    principal: { id: 'kafka:g', kind: 'anonymous', scopes: ['infer'] },
    logger: pino({ level: 'silent' }),
    inFlight: 8,
    lagIntervalMs: 0,
    backoffMs: () => 1,
    ...o,
  });
  await stream.start();
  const consumer = kafka.consumers[0] as FakeConsumer;
  consumer.handlers!.assigned([0]);
  return { kafka, inference, stream, consumer };
}

const offsetOf = (m: OutboundMessage) => Number(m.headers['infergate-source-offset']);
const outputOf = (m: OutboundMessage) =>
  (JSON.parse(m.value!.toString()) as { outputs: [{ data: number[] }] }).outputs[0].data;

/** A deterministic scramble of completion times. */
const scrambled: Script = (_r, _c, call) => ({ delayMs: (call * 7919) % 5 });

test('results go out in offset order with the same key whatever order the calls finish in', async () => {
  const { kafka, consumer, stream } = await setup(scrambled);
  consumer.deliver(
    0,
    records(100, (i) => jsonRequest([i, 1000 - i])),
  );
  consumer.deliver(
    0,
    records(100, (i) => jsonRequest([i, 1000 - i]), { first: 100 }),
  );
  await until(() => kafka.sent('out').length === 200);
  const out = kafka.sent('out');
  assert.deepEqual(
    out.map(offsetOf),
    Array.from({ length: 200 }, (_, i) => i),
  );
  out.forEach((m, i) => {
    assert.deepEqual(outputOf(m), [i, 1000 - i]);
    assert.equal(m.key?.toString(), `k${i % 4}`);
    assert.equal(m.headers['infergate-request-id'], `in-0-${i}`);
    assert.equal(m.headers['infergate-source-topic'], 'in');
    assert.equal(m.headers['infergate-source-partition'], '0');
    assert.equal(m.headers['content-type'], 'application/json');
  });
  await until(() => kafka.commits().at(-1) === '200');
  assert.equal(kafka.sent('in.dlq').length, 0);
  assert.equal(stream.reading().produced, 200);
  assert.equal(stream.reading().consumed, 200);
  await stream.stop();
});

test('an offset is committed only after every record before it was produced; failed sends are retried, none skipped', async () => {
  const { kafka, consumer, stream } = await setup(scrambled);
  kafka.failSends = 3;
  consumer.deliver(
    0,
    records(50, (i) => jsonRequest([i, i])),
  );
  await until(() => kafka.commits().at(-1) === '50');
  const produced = new Set<number>();
  let failures = 0;
  for (const e of kafka.events) {
    if (e.type === 'send') for (const m of e.messages) produced.add(offsetOf(m));
    if (e.type === 'send-failed') failures++;
    if (e.type === 'commit')
      for (let o = 0; o < Number(e.offset); o++)
        assert.ok(produced.has(o), `offset ${o} produced before commit ${e.offset}`);
  }
  assert.equal(failures, 3);
  assert.deepEqual(
    kafka.sent('out').map(offsetOf),
    Array.from({ length: 50 }, (_, i) => i),
  );
  assert.equal(stream.reading().sendFailures, 3);
  await stream.stop();
});

test('while commits fail nothing more is produced; the commit is tried again and the stream goes on', async () => {
  const { kafka, consumer, stream } = await setup();
  kafka.failCommits = 3;
  consumer.deliver(
    0,
    records(40, (i) => jsonRequest([i, i])),
  );
  await until(() => kafka.commits().at(-1) === '40');
  // Between a failed commit and the next successful one, no send.
  let failing = false;
  for (const e of kafka.events) {
    if (e.type === 'commit-failed') failing = true;
    if (e.type === 'commit') failing = false;
    if (e.type === 'send') assert.equal(failing, false, 'a send while commits were failing');
  }
  assert.equal(kafka.events.filter((e) => e.type === 'commit-failed').length, 3);
  assert.deepEqual(
    kafka.sent('out').map(offsetOf),
    Array.from({ length: 40 }, (_, i) => i),
  );
  assert.equal(stream.reading().commitFailures, 3);
  await stream.stop();
});

test('undecodable, invalid and oversized records go to the dead-letter topic with their error; the stream goes on', async () => {
  const bad: Record<number, string> = {
    3: 'IG_ERR_INVALID_ARG', // not JSON
    7: 'IG_ERR_INVALID_ARG', // unknown datatype
    11: 'IG_ERR_PAYLOAD_TOO_LARGE', // over maxMessageBytes
    13: 'IG_ERR_INVALID_ARG', // tombstone
    17: 'IG_ERR_UNSUPPORTED_MEDIA_TYPE', // pickle
    19: 'IG_ERR_INVALID_ARG', // refused by the model's validation (the router)
    23: 'IG_ERR_MODEL_EXECUTION', // a 500 retrying would repeat
  };
  const script: Script = (r: InferRequest) => {
    const v = (r.inputs[0]!.data as Float32Array)[0];
    if (v === 19) return { error: new InferError('IG_ERR_INVALID_ARG', "unexpected shape for input 'x'") };
    if (v === 23) return { error: new InferError('IG_ERR_MODEL_EXECUTION', 'the model failed') };
    return {};
  };
  const { kafka, consumer, stream } = await setup(script);
  const msgs = records(30, (i) => {
    if (i === 3) return Buffer.from('{"inputs": [');
    if (i === 7) return Buffer.from('{"inputs":[{"name":"x","datatype":"FP99","shape":[1],"data":[1]}]}');
    if (i === 11) return Buffer.alloc(LIMITS.maxMessageBytes + 1, 0x20);
    if (i === 13) return null;
    return jsonRequest([i, 0]);
  });
  const pickled = { ...msgs[17]!, headers: { 'content-type': 'application/x-python-pickle', 'x-trace': 't17' } };
  msgs[17] = pickled;
  consumer.deliver(0, msgs);
  await until(() => kafka.commits().at(-1) === '30');
  const dlq = kafka.sent('in.dlq');
  assert.deepEqual(
    dlq.map((m) => [offsetOf(m), m.headers['infergate-error-code']]),
    Object.entries(bad).map(([o, code]) => [Number(o), code]),
  );
  for (const m of dlq) {
    assert.equal(m.key?.toString(), `k${offsetOf(m) % 4}`);
    assert.ok((m.headers['infergate-error-message'] ?? '').length > 0);
    assert.match(m.headers['infergate-error-status'] ?? '', /^[45]\d\d$/);
  }
  const big = dlq.find((m) => offsetOf(m) === 11)!;
  assert.equal(big.value, null, 'an oversized value is left out');
  assert.equal(big.headers['infergate-original-bytes'], String(LIMITS.maxMessageBytes + 1));
  const pickle = dlq.find((m) => offsetOf(m) === 17)!;
  assert.equal(pickle.headers['x-trace'], 't17', 'original headers are kept');
  assert.deepEqual(pickle.value, pickled.value, 'the original value is kept for a replay');
  const good = Array.from({ length: 30 }, (_, i) => i).filter((i) => bad[i] === undefined);
  assert.deepEqual(kafka.sent('out').map(offsetOf), good);
  // Results and dead letters together keep the partition's order.
  assert.deepEqual(
    kafka.sent().map(offsetOf),
    Array.from({ length: 30 }, (_, i) => i),
  );
  const r = stream.reading();
  assert.equal(r.produced, good.length);
  assert.deepEqual(r.deadLettered, {
    IG_ERR_INVALID_ARG: 4,
    IG_ERR_PAYLOAD_TOO_LARGE: 1,
    IG_ERR_UNSUPPORTED_MEDIA_TYPE: 1,
    IG_ERR_MODEL_EXECUTION: 1,
  });
  await stream.stop();
});

test('a full model queue pauses the partition, the record is tried again after a back-off, and the partition resumes', async () => {
  let full = true;
  let refused = 0;
  const script: Script = () => {
    if (full && ++refused >= 25) full = false;
    return full ? { error: new InferError('IG_ERR_QUEUE_FULL', 'queue full') } : { delayMs: 1 };
  };
  const sleeps: number[] = [];
  const { kafka, consumer, stream } = await setup(script, {
    backoffMs: (n) => n,
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise((r) => setTimeout(r, ms));
    },
  });
  consumer.deliver(
    0,
    records(100, (i) => jsonRequest([i, i])),
  );
  await until(() => kafka.commits().at(-1) === '100');
  const kinds = kafka.events.filter((e) => e.type === 'pause' || e.type === 'resume').map((e) => e.type);
  assert.ok(kinds.includes('pause'), 'paused while the queue was full');
  assert.equal(kinds.at(-1), 'resume', 'resumed after');
  assert.equal(consumer.pausedNow.size, 0);
  // Every record produced once, in order: nothing dropped.
  assert.deepEqual(
    kafka.sent('out').map(offsetOf),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.equal(kafka.sent('in.dlq').length, 0);
  assert.ok((stream.reading().retries.IG_ERR_QUEUE_FULL ?? 0) > 0);
  assert.ok(Math.max(...sleeps) > 1, `the back-off grows while the queue stays full: ${sleeps}`);
  await stream.stop();
});

test('the partition is paused while the pipeline holds its maximum and resumed once it drained', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const kafka0 = await setup(undefined, { inFlight: 4, maxBuffered: 16 });
  const { kafka, consumer, stream, inference } = kafka0;
  const infer = inference.infer.bind(inference);
  inference.infer = async (req, ctx) => {
    await gate;
    return infer(req, ctx);
  };
  consumer.deliver(
    0,
    records(40, (i) => jsonRequest([i, i])),
  );
  assert.equal(stream.reading().pausedPartitions, 1);
  assert.ok(consumer.pausedNow.has(0));
  assert.equal(inference.calls, 0);
  open();
  await until(() => kafka.commits().at(-1) === '40');
  assert.equal(consumer.pausedNow.has(0), false);
  assert.equal(kafka.sent('out').length, 40);
  await stream.stop();
});

test('a new group generation abandons what the old one held; the records delivered again go out once, in order', async () => {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const { kafka, consumer, stream, inference } = await setup();
  const infer = inference.infer.bind(inference);
  const signals: Array<AbortSignal | undefined> = [];
  inference.infer = async (req, ctx) => {
    signals.push(ctx.signal);
    await gate;
    return infer(req, ctx);
  };
  consumer.deliver(
    0,
    records(20, (i) => jsonRequest([i, i])),
  );
  assert.equal(signals.length, 8, 'the old generation has inFlight calls in the model');
  consumer.pause(0); // the old generation paused it; the new one must start unpaused
  consumer.handlers!.assigned([0]);
  assert.equal(consumer.pausedNow.has(0), false);
  assert.ok(
    signals.every((s) => s?.aborted),
    'the calls of the old generation are cancelled',
  );
  // kafkajs restarts at the committed offset (none yet): the same records come again.
  consumer.deliver(
    0,
    records(20, (i) => jsonRequest([i, i])),
  );
  open();
  await until(() => kafka.commits().at(-1) === '20');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(
    kafka.sent('out').map(offsetOf),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(kafka.commits(), [...new Set(kafka.commits())], 'no commit twice');
  assert.equal(stream.reading().consumed, 40);
  assert.equal(signals.length, 28, 'the new generation runs every record again');
  await stream.stop();
});

test('records delivered twice in one generation are processed once', async () => {
  const { kafka, consumer, stream } = await setup();
  consumer.deliver(
    0,
    records(10, (i) => jsonRequest([i, i])),
  );
  consumer.deliver(
    0,
    records(15, (i) => jsonRequest([i, i])),
  );
  await until(() => kafka.commits().at(-1) === '15');
  assert.deepEqual(
    kafka.sent('out').map(offsetOf),
    Array.from({ length: 15 }, (_, i) => i),
  );
  await stream.stop();
});

test('partitions are independent: a slow partition does not hold another back, each keeps its order', async () => {
  const script: Script = (r) => ((r.inputs[0]!.data as Float32Array)[1] === 1 ? { delayMs: 3 } : {});
  const { kafka, consumer, stream } = await setup(script);
  consumer.handlers!.assigned([0, 1]);
  consumer.deliver(
    1,
    records(30, (i) => jsonRequest([i, 1]), { partition: 1 }),
  );
  consumer.deliver(
    0,
    records(30, (i) => jsonRequest([i, 0])),
  );
  await until(() => kafka.commits(0).at(-1) === '30' && kafka.commits(1).at(-1) === '30');
  for (const p of [0, 1]) {
    const out = kafka.sent('out').filter((m) => m.headers['infergate-source-partition'] === String(p));
    assert.deepEqual(
      out.map(offsetOf),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assert.equal(out[0]?.headers['infergate-request-id'], `in-${p}-0`);
  }
  await stream.stop();
});

test('stop finishes the calls in the model, produces and commits them, then stops the consumer; later records are ignored', async () => {
  const { kafka, consumer, stream } = await setup(() => ({ delayMs: 5 }));
  consumer.deliver(
    0,
    records(6, (i) => jsonRequest([i, i])),
  );
  await until(() => stream.reading().consumed === 6);
  await stream.stop();
  assert.equal(consumer.stopped, true);
  assert.deepEqual(kafka.sent('out').map(offsetOf), [0, 1, 2, 3, 4, 5]);
  assert.equal(kafka.commits().at(-1), '6');
  consumer.deliver(
    0,
    records(3, (i) => jsonRequest([i, i]), { first: 6 }),
  );
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(kafka.sent('out').length, 6);
});

test('request ids: the request body id, else the header, else topic-partition-offset; crashes are counted', async () => {
  const { kafka, consumer, stream, inference } = await setup();
  const msgs = records(3, (i) => jsonRequest([i, i], i === 0 ? 'body-id' : undefined));
  msgs[1] = { ...msgs[1]!, headers: { ...msgs[1]!.headers, 'infergate-request-id': 'header-id' } };
  consumer.deliver(0, msgs);
  await until(() => kafka.sent('out').length === 3);
  assert.deepEqual(inference.requestIds, ['body-id', 'header-id', 'in-0-2']);
  assert.deepEqual(
    kafka.sent('out').map((m) => m.headers['infergate-request-id']),
    ['body-id', 'header-id', 'in-0-2'],
  );
  consumer.handlers!.crashed(new Error('broker gone'), true);
  assert.equal(stream.reading().crashes, 1);
  await stream.stop();
});

test('the back-off doubles up to its cap, jittered into [0.5, 1) of it', () => {
  const low = backoff(50, 2000, () => 0);
  const high = backoff(50, 2000, () => 0.999999);
  assert.deepEqual([1, 2, 3, 6, 7, 20].map(low), [25, 50, 100, 800, 1000, 1000]);
  assert.ok(Math.abs(high(1) - 50) < 0.01 && Math.abs(high(10) - 2000) < 0.01);
});
