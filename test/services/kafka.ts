// The Kafka broker scripts/run-tests.mjs started once for the whole run
// (INFERGATE_TEST_KAFKA_BROKERS), shared by every test file: each test uses topics and groups of
// its own (freshName). Run alone (no such variable), a file starts its own broker. Without java
// and mvn a test fails under CI=true and skips otherwise, naming what to install. A test that stops
// and restarts the broker starts a private one (startPrivateKafka).
import { randomBytes } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';
// @ts-expect-error a plain .mjs helper shared with the test runner
import { kafkaInstalled, MISSING_KAFKA, startKafka } from '../../scripts/services/kafka.mjs';

/** A broker a test started. */
export interface KafkaBroker {
  brokers: string;
  port: number;
  dir: string;
  /** Kills it (SIGKILL unless `signal`); keeps its data folder when `keep` (for a restart). */
  stop(options?: { keep?: boolean; signal?: NodeJS.Signals }): Promise<void>;
}

let own: Promise<KafkaBroker> | undefined;

/** Why Kafka tests skip, or undefined when they run (CI=true never skips: it throws). */
export function kafkaSkip(): string | undefined {
  if (process.env.INFERGATE_TEST_KAFKA_BROKERS) return undefined;
  if (process.env.INFERGATE_TEST_KAFKA_SKIP) return process.env.INFERGATE_TEST_KAFKA_SKIP;
  if (kafkaInstalled()) return undefined;
  if (process.env.CI === 'true') throw new Error(MISSING_KAFKA);
  return MISSING_KAFKA as string;
}

let warm: Promise<void> | undefined;

/**
 * The shared broker's bootstrap address (starting one for this process when run alone), with its
 * group coordinator loaded: a fresh broker answers the first JoinGroup "coordinator is loading" and
 * kafkajs restarts its consumer for that, which a test counting consumer crashes must not see.
 */
export async function testKafkaBrokers(): Promise<string> {
  let brokers = process.env.INFERGATE_TEST_KAFKA_BROKERS;
  if (!brokers) {
    own ??= startPrivateKafka().then((k) => {
      process.once('exit', () => void k.stop());
      return k;
    });
    brokers = (await own).brokers;
  }
  warm ??= joinOnce(brokers);
  await warm;
  return brokers;
}

/** Joins a throwaway group once (kafkajs retries through the coordinator's loading). */
async function joinOnce(brokers: string): Promise<void> {
  const kafka = testKafka(brokers);
  const topic = freshName('warm');
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [topic], 1);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: freshName('warm'), maxWaitTimeInMs: 100 });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async () => {} });
  await joined;
  await consumer.disconnect();
}

/** Starts a broker of the test's own (on `port` and `dir` again to restart one). */
export function startPrivateKafka(options: { port?: number; dir?: string } = {}): Promise<KafkaBroker> {
  return startKafka(options) as Promise<KafkaBroker>;
}

/** A topic or group name no other test uses. */
export function freshName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A kafkajs client for the test's own producing and reading (its logs off). */
export function testKafka(brokers: string): Kafka {
  return new Kafka({
    clientId: 'infergate-test',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5000 },
  });
}

/**
 * Creates topics with `partitions` partitions each and waits until every partition has a leader.
 * (kafkajs's own waitForLeaders gives up when the metadata does not know a new topic yet, which a
 * busy broker answers for a moment.)
 */
export async function createTopics(admin: Admin, topics: string[], partitions: number): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    waitForLeaders: false,
  });
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics })
      .then((m) =>
        m.topics.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0)),
      )
      .catch(() => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Records in a topic now: the sum of its partitions' end offsets minus their start offsets. */
export async function topicSize(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}
