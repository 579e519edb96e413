/**
 * The Kafka client as the streaming entry point sees it: consume one topic in a consumer group,
 * produce records, commit offsets, read the group's lag. kafkajs-client.ts implements it over
 * kafkajs; unit tests drive the stream with a fake. Plain data crosses this seam.
 *
 * Ownership: a consumed message's buffers belong to the stream once handed over (the client never
 * reuses them). Offsets are decimal strings (Kafka's are 64-bit); a committed offset is the *next*
 * offset to read, Kafka's convention.
 */

/** One consumed record. */
export interface InboundMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  /** null for a tombstone. */
  readonly value: Buffer | null;
  /** Record headers by lower-case name, as UTF-8 text (the first value when a name repeats). */
  readonly headers: Readonly<Record<string, string>>;
}

/** One record to produce. */
export interface OutboundMessage {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** What a consumer tells the stream. Called on the event loop; none of them may throw. */
export interface ConsumerHandlers {
  /**
   * The group (re)assigned these partitions of the topic to this consumer: a new generation.
   * Fetching of each restarts at its committed offset, so records handed over earlier and not
   * committed come again; whatever the stream still held of the previous generation is stale.
   */
  assigned(partitions: readonly number[]): void;
  /**
   * Records of one partition, offsets ascending, continuing where the previous call for that
   * partition ended (since the last `assigned`). The consumer goes on fetching: the stream holds
   * the records and calls `pause` when it has enough.
   */
  messages(partition: number, messages: readonly InboundMessage[]): void;
  /** The client failed (broker gone, group lost) and `restarting` says whether it starts again by itself. */
  crashed(error: Error, restarting: boolean): void;
}

/** A consumer of one topic in one group. */
export interface StreamConsumer {
  /** Connects, joins the group and starts fetching (resolves once fetching started). */
  start(handlers: ConsumerHandlers): Promise<void>;
  /** Stops fetching a partition until `resume` (records already handed over are the stream's). */
  pause(partition: number): void;
  resume(partition: number): void;
  /** Commits `nextOffset` for the partition; rejects when the consumer is not in its group now (a rebalance, a restart). */
  commit(partition: number, nextOffset: string): Promise<void>;
  /** Leaves the group and disconnects; nothing is committed by it. */
  stop(): Promise<void>;
}

/** The group's position in one partition of its topic. */
export interface PartitionLag {
  partition: number;
  /** Records after the group's committed offset (the whole retained log when it has none). */
  lag: number;
}

/** A connection to a Kafka cluster: one producer and any number of consumers. */
export interface KafkaClient {
  consumer(options: { groupId: string; topic: string }): StreamConsumer;
  /**
   * Produces records (any topics) with acks from all in-sync replicas; rejects when the cluster
   * did not take them all (some may have been written: the caller retries, duplicates possible).
   * Records of one call to one partition are appended in their order.
   */
  send(messages: readonly OutboundMessage[]): Promise<void>;
  /** The group's lag per partition of the topic, from the broker (every partition, assigned here or not). */
  lag(groupId: string, topic: string): Promise<PartitionLag[]>;
  /** Disconnects the producer and admin connections (consumers are stopped by their owners). */
  close(): Promise<void>;
}
