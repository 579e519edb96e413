// A KafkaClient held in memory for the stream's unit tests: the test delivers records and
// assignments, the fake records every send, commit, pause and resume in one ordered event log,
// and sends fail on demand. Plus an InferenceService whose answers the test scripts.
import type { CallContext, InferRequest, InferResponse } from '../../../../src/core/index.js';
import { InferError } from '../../../../src/core/index.js';
import type {
  ConsumerHandlers,
  InboundMessage,
  KafkaClient,
  OutboundMessage,
  PartitionLag,
  StreamConsumer,
} from '../../../../src/protocol/kafka/client.js';
import type { InferenceService, ModelMetadata } from '../../../../src/router/types.js';

export type FakeEvent =
  | { type: 'send'; messages: OutboundMessage[] }
  | { type: 'send-failed'; messages: OutboundMessage[] }
  | { type: 'commit'; partition: number; offset: string }
  | { type: 'commit-failed'; partition: number; offset: string }
  | { type: 'pause'; partition: number }
  | { type: 'resume'; partition: number };

export class FakeKafka implements KafkaClient {
  readonly events: FakeEvent[] = [];
  /** Sends to fail before the next one succeeds. */
  failSends = 0;
  /** Commits to fail before the next one succeeds. */
  failCommits = 0;
  lagAnswer: PartitionLag[] = [];
  readonly consumers: FakeConsumer[] = [];

  consumer(options: { groupId: string; topic: string }): StreamConsumer {
    const c = new FakeConsumer(this, options.topic);
    this.consumers.push(c);
    return c;
  }

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    await Promise.resolve();
    if (this.failSends > 0) {
      this.failSends--;
      this.events.push({ type: 'send-failed', messages: [...messages] });
      throw new Error('broker unavailable');
    }
    this.events.push({ type: 'send', messages: [...messages] });
  }

  async lag(): Promise<PartitionLag[]> {
    return this.lagAnswer;
  }

  async close(): Promise<void> {}

  /** Every record sent successfully, in order. */
  sent(topic?: string): OutboundMessage[] {
    return this.events
      .flatMap((e) => (e.type === 'send' ? e.messages : []))
      .filter((m) => topic === undefined || m.topic === topic);
  }

  commits(partition = 0): string[] {
    return this.events.flatMap((e) => (e.type === 'commit' && e.partition === partition ? [e.offset] : []));
  }
}

export class FakeConsumer implements StreamConsumer {
  handlers: ConsumerHandlers | undefined;
  stopped = false;
  readonly pausedNow = new Set<number>();

  constructor(
    private readonly kafka: FakeKafka,
    readonly topic: string,
  ) {}

  async start(handlers: ConsumerHandlers): Promise<void> {
    this.handlers = handlers;
  }

  pause(partition: number): void {
    this.pausedNow.add(partition);
    this.kafka.events.push({ type: 'pause', partition });
  }

  resume(partition: number): void {
    this.pausedNow.delete(partition);
    this.kafka.events.push({ type: 'resume', partition });
  }

  async commit(partition: number, nextOffset: string): Promise<void> {
    await Promise.resolve();
    if (this.kafka.failCommits > 0) {
      this.kafka.failCommits--;
      this.kafka.events.push({ type: 'commit-failed', partition, offset: nextOffset });
      throw new Error('rebalance in progress');
    }
    this.kafka.events.push({ type: 'commit', partition, offset: nextOffset });
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  /** Hands records over as a fetch would. */
  deliver(partition: number, messages: InboundMessage[]): void {
    this.handlers?.messages(partition, messages);
  }
}

/** A JSON infer request for the fake model: one FP32 input `x` of shape [1, n]. */
export function jsonRequest(values: number[], id?: string): Buffer {
  const doc: Record<string, unknown> = {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, values.length], data: values }],
  };
  if (id !== undefined) doc.id = id;
  return Buffer.from(JSON.stringify(doc));
}

/** Records of `topic`/`partition` from `first`, values from `value(i)`, keys `k<i mod keys>`. */
export function records(
  n: number,
  value: (i: number) => Buffer | null,
  o: { first?: number; partition?: number; keys?: number; headers?: Record<string, string> } = {},
): InboundMessage[] {
  const first = o.first ?? 0;
  return Array.from({ length: n }, (_, j) => {
    const i = first + j;
    return {
      topic: 'in',
      partition: o.partition ?? 0,
      offset: String(i),
      key: Buffer.from(`k${i % (o.keys ?? 4)}`),
      value: value(i),
      headers: { 'content-type': 'application/json', ...o.headers },
    };
  });
}

/** What the fake model does with one call: answer after `delayMs`, or throw. */
export type Script = (
  request: InferRequest,
  ctx: CallContext,
  call: number,
) => { delayMs?: number; error?: InferError };

/** An InferenceService whose model `m` echoes its input `x` as output `y` (plus the call's request id). */
export class FakeInference implements InferenceService {
  calls = 0;
  readonly requestIds: string[] = [];

  constructor(private readonly script: Script = () => ({})) {}

  live(): boolean {
    return true;
  }
  ready(): boolean {
    return true;
  }
  serverMetadata() {
    return { name: 'fake', version: '0', extensions: [] };
  }
  modelReady(model: string): boolean {
    if (model !== 'm')
      throw new InferError('IG_ERR_MODEL_NOT_FOUND', `Request for unknown model: '${model}' is not found`);
    return true;
  }
  modelMetadata(): ModelMetadata {
    return {
      name: 'm',
      versions: ['1'],
      platform: 'fake',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    };
  }
  modelConfig(): Record<string, unknown> {
    return {};
  }

  async infer(request: InferRequest, ctx: CallContext): Promise<InferResponse> {
    const call = this.calls++;
    this.requestIds.push(ctx.requestId);
    const { delayMs, error } = this.script(request, ctx, call);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (error) throw error;
    const x = request.inputs[0]!;
    const response: InferResponse = {
      model: 'm',
      version: '1',
      outputs: [{ name: 'y', datatype: x.datatype, shape: x.shape, data: x.data }],
    };
    if (request.id !== undefined) response.id = request.id;
    return response;
  }
}

/** Waits until `cond` holds (the stream works on promises and timers; no time bound is asserted). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
}
