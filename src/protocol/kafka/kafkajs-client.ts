/**
 * KafkaClient over kafkajs 2.2.4 (pure JavaScript). How kafkajs is used, and why:
 *   - consumers run `eachBatch` with autoCommit off and auto-resolve on: kafkajs's in-memory
 *     position moves on as soon as a batch is handed over (the stream holds it and pauses the
 *     partition when it has enough), and offsets are committed only by the stream, after the
 *     results are produced;
 *   - a group generation (kafkajs's GROUP_JOIN, also after a crash and restart) resets fetching to
 *     the committed offsets, and is reported as `assigned`;
 *   - a consumer that crashed and that kafkajs does not restart is recreated here after a back-off;
 *   - one producer and one admin connection per client, connected on first use;
 *   - kafkajs logs go to our logger at debug level (it logs expected things, such as a coordinator
 *     still loading, as errors); failures that matter are reported through the handlers.
 */
import { type Admin, type Consumer, type IHeaders, Kafka, type KafkaMessage, logLevel, type Producer } from 'kafkajs';
import type { Logger } from '../../observability/logger.js';
import type {
  ConsumerHandlers,
  InboundMessage,
  KafkaClient,
  OutboundMessage,
  PartitionLag,
  StreamConsumer,
} from './client.js';

export interface KafkajsClientOptions {
  brokers: readonly string[];
  clientId?: string;
  logger: Pick<Logger, 'debug'>;
  /** Largest record the consumers must be able to fetch (kafkajs's per-partition fetch size is at least this). */
  maxMessageBytes: number;
}

export class KafkajsClient implements KafkaClient {
  readonly #kafka: Kafka;
  readonly #o: KafkajsClientOptions;
  #producer: Promise<Producer> | undefined;
  #admin: Promise<Admin> | undefined;

  constructor(o: KafkajsClientOptions) {
    this.#o = o;
    const log = o.logger;
    this.#kafka = new Kafka({
      clientId: o.clientId ?? 'infergate',
      brokers: [...o.brokers],
      connectionTimeout: 3000,
      // Each operation is retried for up to ~30 s before it fails; the stream retries on top.
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
      logLevel: logLevel.INFO,
      logCreator: () => (entry) => {
        const { message, ...extra } = entry.log;
        log.debug({ kafkajs: entry.namespace, ...extra }, message);
      },
    });
  }

  consumer(options: { groupId: string; topic: string }): StreamConsumer {
    return new KafkajsConsumer(this.#kafka, options.groupId, options.topic, this.#o.maxMessageBytes);
  }

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = await this.#connected('producer');
    const byTopic = new Map<string, Array<{ key: Buffer | null; value: Buffer | null; headers: IHeaders }>>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(m.topic, list);
      }
      list.push({ key: m.key, value: m.value, headers: { ...m.headers } });
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({ topic, messages: list })),
    });
  }

  async lag(groupId: string, topic: string): Promise<PartitionLag[]> {
    const admin = await this.#connected('admin');
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    return ends
      .map((e) => {
        const c = at.get(e.partition) ?? -1n;
        const from = c >= 0n ? c : BigInt(e.low);
        const lag = BigInt(e.high) - from;
        return { partition: e.partition, lag: Number(lag > 0n ? lag : 0n) };
      })
      .sort((a, b) => a.partition - b.partition);
  }

  /** Disconnects; a connection still being tried (an unreachable cluster) is not waited for beyond 2 s. */
  async close(): Promise<void> {
    const both = [this.#producer, this.#admin].map(async (p) => {
      if (p === undefined) return;
      await (await p.catch(() => undefined))?.disconnect().catch(() => undefined);
    });
    this.#producer = undefined;
    this.#admin = undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(both), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
  }

  #connected(which: 'producer'): Promise<Producer>;
  #connected(which: 'admin'): Promise<Admin>;
  #connected(which: 'producer' | 'admin'): Promise<Producer | Admin> {
    const existing = which === 'producer' ? this.#producer : this.#admin;
    if (existing) return existing;
    const client = which === 'producer' ? this.#kafka.producer({ allowAutoTopicCreation: true }) : this.#kafka.admin();
    const connecting = client.connect().then(
      () => client,
      (err) => {
        // Not kept: the next call connects afresh.
        if (which === 'producer') this.#producer = undefined;
        else this.#admin = undefined;
        throw err;
      },
    );
    if (which === 'producer') this.#producer = connecting as Promise<Producer>;
    else this.#admin = connecting as Promise<Admin>;
    return connecting;
  }
}

/** One group's consumer of one topic. */
class KafkajsConsumer implements StreamConsumer {
  #consumer: Consumer | undefined;
  #handlers: ConsumerHandlers | undefined;
  #stopped = false;
  #restart: NodeJS.Timeout | undefined;
  /**
   * Whether the consumer is a member of its group now (joined, not crashed or rebalancing). kafkajs
   * answers a commit while its runner is not running with success without sending it; committing
   * is refused here instead, so the stream does not take an offset for committed that is not.
   */
  #inGroup = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly maxMessageBytes: number,
  ) {}

  async start(handlers: ConsumerHandlers): Promise<void> {
    this.#handlers = handlers;
    await this.#run();
  }

  pause(partition: number): void {
    try {
      this.#consumer?.pause([{ topic: this.topic, partitions: [partition] }]);
    } catch {
      // Not running (yet, or any more): the next generation starts unpaused and the stream knows.
    }
  }

  resume(partition: number): void {
    try {
      this.#consumer?.resume([{ topic: this.topic, partitions: [partition] }]);
    } catch {
      // As pause().
    }
  }

  async commit(partition: number, nextOffset: string): Promise<void> {
    if (this.#consumer === undefined || !this.#inGroup) throw new Error('the consumer is not in its group now');
    await this.#consumer.commitOffsets([{ topic: this.topic, partition, offset: nextOffset }]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restart);
    const c = this.#consumer;
    this.#consumer = undefined;
    await c?.disconnect();
  }

  async #run(): Promise<void> {
    const old = this.#consumer;
    this.#consumer = undefined;
    await old?.disconnect().catch(() => undefined);
    if (this.#stopped) return;
    const h = this.#handlers!;
    const c = this.kafka.consumer({
      groupId: this.groupId,
      // A record over the stream's size limit must still be fetchable, to be dead-lettered.
      maxBytesPerPartition: Math.max(1 << 20, this.maxMessageBytes + 64 * 1024),
      maxBytes: Math.max(10 << 20, this.maxMessageBytes + 64 * 1024),
      maxWaitTimeInMs: 500,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000, restartOnFailure: async () => true },
    });
    this.#consumer = c;
    this.#inGroup = false;
    c.on(c.events.GROUP_JOIN, (e) => {
      if (this.#consumer !== c) return;
      this.#inGroup = true;
      h.assigned(e.payload.memberAssignment[this.topic] ?? []);
    });
    const left = () => {
      if (this.#consumer === c) this.#inGroup = false;
    };
    c.on(c.events.REBALANCING, left);
    c.on(c.events.STOP, left);
    c.on(c.events.DISCONNECT, left);
    c.on(c.events.CRASH, (e) => {
      left();
      if (this.#consumer !== c || this.#stopped) return;
      h.crashed(e.payload.error, e.payload.restart);
      // kafkajs restarts on retriable errors by itself; otherwise start a fresh consumer.
      if (!e.payload.restart) this.#restart = setTimeout(() => void this.#run().catch(() => this.#retryLater()), 2000);
    });
    try {
      await c.connect();
      await c.subscribe({ topic: this.topic, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch }) => {
          if (this.#consumer !== c || batch.messages.length === 0) return;
          h.messages(
            batch.partition,
            batch.messages.map((m) => inbound(this.topic, batch.partition, m)),
          );
        },
      });
    } catch (err) {
      if (this.#consumer === c) this.#consumer = undefined;
      await c.disconnect().catch(() => undefined);
      throw err;
    }
  }

  #retryLater(): void {
    if (!this.#stopped) this.#restart = setTimeout(() => void this.#run().catch(() => this.#retryLater()), 5000);
  }
}

function inbound(topic: string, partition: number, m: KafkaMessage): InboundMessage {
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(m.headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[name.toLowerCase()] = first.toString();
  }
  return { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers };
}
