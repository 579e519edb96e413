/**
 * One Kafka stream (docs/kafka.md): a model bound to an input topic in a consumer group. The
 * Kafka entry point's job is the same as HTTP's and gRPC's: decode the record into an
 * InferRequest (codec.ts), build the call's CallContext once, call InferenceService.infer, encode
 * the answer — to the output topic, or the record with its error to the dead-letter topic. Each
 * assigned partition gets a PartitionPipeline (pipeline.ts: order, at-least-once, backpressure);
 * a new group generation replaces them all. The group's lag is read from the broker periodically.
 */
import { callContext, type InferError, type Principal, toInferError } from '../../core/index.js';
import type { KafkaStreamReading } from '../../observability/kafka-metrics.js';
import type { Logger } from '../../observability/logger.js';
import type { InferenceService } from '../../router/types.js';
import type { ConsumerHandlers, InboundMessage, KafkaClient, PartitionLag, StreamConsumer } from './client.js';
import {
  type DecodedMessage,
  deadLetterMessage,
  decodeMessage,
  isRetryable,
  type KafkaLimits,
  messageRequestId,
  resultMessage,
} from './codec.js';
import type { StreamBinding } from './config.js';
import { type Attempt, backoff, type Outcome, PartitionPipeline, type PipelineEvents } from './pipeline.js';

export interface StreamOptions {
  binding: StreamBinding;
  client: KafkaClient;
  inference: InferenceService;
  limits: KafkaLimits;
  /** Who the stream's calls run as (server/kafka.ts: infer on its model only). */
  principal: Principal;
  logger: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Calls of one partition in the model at once. */
  inFlight: number;
  /** Records one partition may hold before it is paused (default 4 × inFlight, at least 256). */
  maxBuffered?: number;
  /** Records per produce request (default 256). */
  maxSendBatch?: number;
  /** How often the group's lag is read from the broker (ms; default 5000; 0 = never). */
  lagIntervalMs?: number;
  /** Back-off of retried calls and sends (default 50 ms doubling to 2 s, jittered). */
  backoffMs?: (n: number) => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

type Counts = Record<string, number>;

export class KafkaStream {
  readonly #o: StreamOptions;
  readonly #consumer: StreamConsumer;
  #pipelines = new Map<number, PartitionPipeline>();
  #lag: PartitionLag[] = [];
  #lagTimer: NodeJS.Timeout | undefined;
  #lagReading = false;
  #stopping = false;
  #sendFailing = false;
  #starting: Promise<void> | undefined;
  readonly #n = {
    consumed: 0,
    produced: 0,
    deadLettered: {} as Counts,
    retries: {} as Counts,
    sendFailures: 0,
    commitFailures: 0,
    crashes: 0,
  };

  constructor(options: StreamOptions) {
    this.#o = options;
    this.#consumer = options.client.consumer({ groupId: options.binding.group, topic: options.binding.inputTopic });
  }

  get binding(): StreamBinding {
    return this.#o.binding;
  }

  /**
   * Starts consuming in the background: a cluster that cannot be reached now is tried again with
   * back-off (the server serves HTTP and gRPC meanwhile). Resolves once the first attempt ended.
   */
  start(): Promise<void> {
    const b = this.#o.binding;
    const ms = this.#o.lagIntervalMs ?? 5000;
    if (ms > 0) {
      this.#lagTimer = setInterval(() => this.#readLag(), ms);
      this.#lagTimer.unref();
      this.#readLag();
    }
    const handlers: ConsumerHandlers = {
      assigned: (partitions) => this.#assigned(partitions),
      messages: (partition, messages) => this.#messages(partition, messages),
      crashed: (err, restarting) => {
        this.#n.crashes++;
        this.#o.logger.warn(
          { topic: b.inputTopic, group: b.group, err: err.message, restarting },
          `kafka stream ${b.inputTopic} → ${b.model}: consumer failed${restarting ? ', restarting' : ''}`,
        );
      },
    };
    const attempt = async (n: number): Promise<void> => {
      if (this.#stopping) return;
      try {
        await this.#consumer.start(handlers);
        this.#o.logger.info(
          { topic: b.inputTopic, group: b.group, model: b.model },
          `kafka stream: ${b.inputTopic} → ${b.model}${b.version ? ` v${b.version}` : ''} → ${b.outputTopic} (group ${b.group}, dead letters ${b.deadLetterTopic})`,
        );
      } catch (err) {
        this.#o.logger.warn(
          { topic: b.inputTopic, err: (err as Error).message },
          `kafka stream ${b.inputTopic}: cannot connect, trying again`,
        );
        await this.#sleep(this.#backoff(Math.min(n, 8)) * 5);
        this.#starting = attempt(n + 1);
      }
    };
    this.#starting = attempt(1);
    return this.#starting;
  }

  /**
   * Stops: no new records are taken, the calls in the model finish and their results are produced
   * and committed (within `timeoutMs`; what is left then comes again to the next consumer), then
   * the consumer leaves the group.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#lagTimer);
    for (const partition of this.#pipelines.keys()) this.#consumer.pause(partition);
    const drained = Promise.all([...this.#pipelines.values()].map((p) => p.drain()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    for (const p of this.#pipelines.values()) p.close();
    await Promise.race([this.#consumer.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  /** The stream's counters and lag (observability/kafka-metrics.ts). */
  reading(): KafkaStreamReading {
    const b = this.#o.binding;
    let paused = 0;
    for (const p of this.#pipelines.values()) if (p.paused) paused++;
    return {
      topic: b.inputTopic,
      group: b.group,
      outputTopic: b.outputTopic,
      deadLetterTopic: b.deadLetterTopic,
      ...this.#n,
      deadLettered: { ...this.#n.deadLettered },
      retries: { ...this.#n.retries },
      pausedPartitions: paused,
      lag: this.#lag,
    };
  }

  #assigned(partitions: readonly number[]): void {
    const old = this.#pipelines;
    this.#pipelines = new Map();
    for (const p of old.values()) p.close();
    if (this.#stopping) return;
    for (const partition of partitions) {
      // The client keeps a partition paused across generations: the new pipeline starts unpaused.
      this.#consumer.resume(partition);
      this.#pipelines.set(partition, this.#pipeline(partition, old.get(partition)?.done));
    }
  }

  #messages(partition: number, messages: readonly InboundMessage[]): void {
    if (this.#stopping) return;
    let p = this.#pipelines.get(partition);
    if (p === undefined) {
      p = this.#pipeline(partition);
      this.#pipelines.set(partition, p);
    }
    p.push(messages);
  }

  #pipeline(partition: number, after?: Promise<void>): PartitionPipeline {
    const o = this.#o;
    return new PartitionPipeline(
      {
        prepare: (message, signal) => this.#prepare(message, signal),
        send: (messages) => o.client.send(messages),
        commit: (next) => this.#consumer.commit(partition, next),
        pause: () => this.#consumer.pause(partition),
        resume: () => this.#consumer.resume(partition),
        sleep: (ms) => this.#sleep(ms),
        backoffMs: (n) => this.#backoff(n),
        events: this.#events(partition),
      },
      {
        inFlight: o.inFlight,
        maxBuffered: o.maxBuffered ?? Math.max(256, 4 * o.inFlight),
        maxSendBatch: o.maxSendBatch ?? 256,
        ...(after === undefined ? {} : { after }),
      },
    );
  }

  #events(partition: number): PipelineEvents {
    const b = this.#o.binding;
    const n = this.#n;
    const log = this.#o.logger;
    return {
      consumed: (k) => {
        n.consumed += k;
      },
      produced: (results, dead) => {
        n.produced += results;
        for (const d of dead) n.deadLettered[d.code] = (n.deadLettered[d.code] ?? 0) + 1;
        if (this.#sendFailing) log.info({ topic: b.inputTopic }, `kafka stream ${b.inputTopic}: producing again`);
        this.#sendFailing = false;
      },
      retried: (code) => {
        n.retries[code] = (n.retries[code] ?? 0) + 1;
      },
      sendFailed: (err) => {
        n.sendFailures++;
        const at = { topic: b.inputTopic, partition, err: (err as Error).message };
        if (!this.#sendFailing) log.warn(at, `kafka stream ${b.inputTopic}: producing results failed, retrying`);
        else log.debug(at, 'kafka send failed again');
        this.#sendFailing = true;
      },
      commitFailed: (err) => {
        n.commitFailures++;
        log.debug({ topic: b.inputTopic, partition, err: (err as Error).message }, 'kafka commit failed');
      },
    };
  }

  /** Decodes once; each attempt calls the model and turns its answer into an Outcome (never rejects). */
  #prepare(message: InboundMessage, signal: AbortSignal): Attempt {
    const o = this.#o;
    const b = o.binding;
    let call: DecodedMessage;
    try {
      call = decodeMessage(
        message,
        b,
        o.limits,
        () => o.inference.modelMetadata(b.model, b.version),
        (o.now ?? Date.now)(),
      );
    } catch (err) {
      const dead = this.#deadLetter(message, messageRequestId(message), toInferError(err));
      return () => Promise.resolve(dead);
    }
    return async () => {
      const ctx = callContext({
        protocol: 'kafka',
        id: call.requestId,
        principal: o.principal,
        deadline: call.deadline,
        signal,
        subject: call.subject,
        header: (name) => message.headers[name],
      });
      try {
        const response = await o.inference.infer(call.decoded.request, ctx);
        return {
          kind: 'result',
          message: resultMessage(message, b.outputTopic, call, response, o.limits.maxJsonResponseElements),
        };
      } catch (err) {
        const e = toInferError(err);
        return isRetryable(e) ? { kind: 'retry', code: e.code } : this.#deadLetter(message, call.requestId, e);
      }
    };
  }

  #deadLetter(message: InboundMessage, requestId: string, err: InferError): Outcome {
    const b = this.#o.binding;
    const at = { topic: message.topic, partition: message.partition, offset: message.offset, code: err.code };
    if (err.code === 'IG_ERR_INTERNAL') this.#o.logger.warn({ ...at, err: err.cause }, 'kafka record failed');
    else this.#o.logger.debug({ ...at, reason: err.message }, 'kafka record dead-lettered');
    return {
      kind: 'dead-letter',
      code: err.code,
      message: deadLetterMessage(message, b.deadLetterTopic, requestId, err, this.#o.limits),
    };
  }

  #readLag(): void {
    if (this.#lagReading || this.#stopping) return;
    this.#lagReading = true;
    const b = this.#o.binding;
    this.#o.client
      .lag(b.group, b.inputTopic)
      .then((lag) => {
        this.#lag = lag;
      })
      .catch((err) =>
        this.#o.logger.debug({ topic: b.inputTopic, err: (err as Error).message }, 'kafka lag read failed'),
      )
      .finally(() => {
        this.#lagReading = false;
      });
  }

  #backoff(n: number): number {
    return (this.#o.backoffMs ?? DEFAULT_BACKOFF)(n);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#o.sleep) return this.#o.sleep(ms);
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }
}

const DEFAULT_BACKOFF = backoff(50, 2000);
