// What the Kafka end-to-end tests share: a small model repository, requests whose answers are
// known (y = x + 10), a producer and a topic reader that both ride out a broker outage, and the
// per-key order / duplicate check of the results.
import type { Consumer, Kafka, Message, Producer } from 'kafkajs';
import { freshName } from '../services/kafka.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { until } from './scrape.js';

/** y = x + ADDED, FP32 [batch, 4], dynamic batching. */
export const ADDED = 10;

/** A repository holding `addc` (y = x + 10). */
export function addcRepo(): string {
  const repo = tempRepo();
  addModel(
    repo,
    'addc',
    1,
    addConstModel(ADDED),
    `name: "addc"
platform: "onnxruntime_onnx"
max_batch_size: 64
input [ { name: "x", data_type: TYPE_FP32, dims: [ 4 ] } ]
output [ { name: "y", data_type: TYPE_FP32, dims: [ 4 ] } ]
dynamic_batching { }
instance_group [ { count: 1, kind: KIND_CPU } ]
`,
  );
  return repo;
}

/** Key of request `seq` (`keys` distinct keys). */
export const keyOf = (seq: number, keys: number) => `k${seq % keys}`;

/** A JSON request `r-<seq>` with x = [seq, 0, 0, 0]. */
export function jsonRecord(seq: number, keys: number): Message {
  const body = { id: `r-${seq}`, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [seq, 0, 0, 0] }] };
  return { key: keyOf(seq, keys), value: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
}

/** The same request with the binary tensor extension, asking for a binary output. */
export function binaryRecord(seq: number, keys: number): Message {
  const data = Buffer.from(new Float32Array([seq, 0, 0, 0]).buffer);
  const json = Buffer.from(
    JSON.stringify({
      id: `r-${seq}`,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    key: keyOf(seq, keys),
    value: Buffer.concat([json, data]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength) },
  };
}

/** One record read from a topic. */
export interface ReadRecord {
  partition: number;
  offset: number;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** The y of a result record, JSON or binary. */
export function resultY(r: ReadRecord): number[] {
  const length = r.headers['inference-header-content-length'];
  const value = r.value as Buffer;
  if (length === undefined) return (JSON.parse(value.toString()) as { outputs: [{ data: number[] }] }).outputs[0].data;
  return Array.from(new Float32Array(new Uint8Array(value.subarray(Number(length))).buffer));
}

/** Sends until the cluster took the records (a broker outage only delays it). */
export async function sendAll(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  for (;;) {
    try {
      await producer.send({ topic, messages, acks: -1 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * Reads a topic from its beginning in a group of its own. A record at or below the last offset seen
 * in its partition is dropped (the reader's own redelivery after an outage), so every record of
 * the topic is in `records` exactly once, in partition order.
 */
export class TopicReader {
  readonly records: ReadRecord[] = [];
  readonly #last = new Map<number, number>();
  #consumer: Consumer | undefined;

  static async start(kafka: Kafka, topic: string): Promise<TopicReader> {
    const r = new TopicReader();
    const c = kafka.consumer({
      groupId: freshName('reader'),
      maxWaitTimeInMs: 200,
      retry: { retries: 10, restartOnFailure: async () => true },
    });
    r.#consumer = c;
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset <= (r.#last.get(partition) ?? -1)) return;
        r.#last.set(partition, offset);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        r.records.push({ partition, offset, key: message.key?.toString() ?? '', value: message.value, headers });
      },
    });
    return r;
  }

  /** Waits until `n` records were read (no time bound: the test runner's timeout is the backstop). */
  async atLeast(n: number): Promise<void> {
    while (this.records.length < n) await new Promise((r) => setTimeout(r, 50));
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect();
  }
}

/** What the results say about order and duplicates. */
export interface OrderReport {
  /** Distinct request ids answered. */
  distinct: number;
  /** Result records whose request id was answered before (at-least-once redelivery). */
  duplicates: number;
  /** Duplicates whose value differs from the first answer (must be 0). */
  conflictingDuplicates: number;
  /** Keys whose first answers are not in increasing request order (must be empty). */
  outOfOrderKeys: string[];
  /** Results whose key is not their request's (must be 0). */
  wrongKeys: number;
  /** Results whose y is not x + 10 (must be 0). */
  wrongValues: number;
}

/** The report of `n` results answered once each, right, in order. */
export function cleanReport(n: number): OrderReport {
  return { distinct: n, duplicates: 0, conflictingDuplicates: 0, outOfOrderKeys: [], wrongKeys: 0, wrongValues: 0 };
}

/** Checks results of requests `r-<seq>` keyed by keyOf(seq, keys): per key in order, duplicates alike. */
export function checkOrder(results: readonly ReadRecord[], keys: number): OrderReport {
  const first = new Map<string, ReadRecord>();
  const lastSeqOfKey = new Map<string, number>();
  const report: OrderReport = {
    distinct: 0,
    duplicates: 0,
    conflictingDuplicates: 0,
    outOfOrderKeys: [],
    wrongKeys: 0,
    wrongValues: 0,
  };
  for (const r of results) {
    const id = r.headers['infergate-request-id'] ?? '';
    const seen = first.get(id);
    if (seen) {
      report.duplicates++;
      if (!seen.value?.equals(r.value ?? Buffer.alloc(0))) report.conflictingDuplicates++;
      continue;
    }
    first.set(id, r);
    const seq = Number(id.slice(2));
    if (r.key !== keyOf(seq, keys)) report.wrongKeys++;
    const y = resultY(r);
    if (y.join() !== [seq + ADDED, ADDED, ADDED, ADDED].join()) report.wrongValues++;
    if ((lastSeqOfKey.get(r.key) ?? -1) > seq && !report.outOfOrderKeys.includes(r.key))
      report.outOfOrderKeys.push(r.key);
    lastSeqOfKey.set(r.key, seq);
  }
  report.distinct = first.size;
  return report;
}

/** Waits until the server's metrics report a lag for each of the topic's `partitions`, all 0. */
export async function lagDrained(metricsPort: number | undefined, topic: string, partitions: number): Promise<void> {
  await until(
    async () => {
      const lag = await reportedLag(metricsPort, topic);
      return lag.partitions === partitions && lag.total === 0;
    },
    120_000,
    `the lag of all ${partitions} partitions of ${topic} back to 0`,
  );
}

/** The group lag the server's metrics report for a topic: how many partitions, and their sum. */
export async function reportedLag(
  metricsPort: number | undefined,
  topic: string,
): Promise<{ partitions: number; total: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith(`infergate_kafka_consumer_lag{topic="${topic}",`));
  return { partitions: lines.length, total: lines.reduce((n, l) => n + Number(l.split(' ').pop()), 0) };
}

/** The value of the series `name{labels…}` (labels given in exposition order); throws when the series is absent. */
export async function seriesValue(metricsPort: number | undefined, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  if (line === undefined) throw new Error(`no series ${name}{${labels}}`);
  return Number(line.split(' ').pop());
}
