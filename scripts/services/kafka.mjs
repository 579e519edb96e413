// A throwaway Apache Kafka for one test run: a single KRaft node (broker and controller in one JVM)
// from the Maven Central jars, in a temp dir, on a free loopback port (the controller on another).
// The jars (~45 MB) are fetched once with `mvn dependency:copy-dependencies` into a cache folder
// (~/.cache/infergate/kafka-<version>/lib, or $INFERGATE_KAFKA_CACHE) and reused by every run.
// Needs java (17+) and mvn; the first fetch needs Maven Central.
//   import { startKafka } from './kafka.mjs'; const k = await startKafka(); ... await k.stop()
//   node scripts/services/kafka.mjs           (starts one and prints its bootstrap address; Ctrl-C stops it)
//   node scripts/services/kafka.mjs --fetch   (only fetches the jars: CI's prefetch)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.mjs';

export const KAFKA_VERSION = process.env.KAFKA_VERSION ?? '4.4.0';
export const MISSING_KAFKA =
  'Kafka needs java (17+) and mvn to fetch its jars: apt-get install -y openjdk-17-jre-headless maven (Debian packages)';

const CACHE = process.env.INFERGATE_KAFKA_CACHE ?? join(homedir(), '.cache', 'infergate', `kafka-${KAFKA_VERSION}`);
const LIB = join(CACHE, 'lib');
// Written last, after mvn succeeded: a lib folder without it is a half-finished fetch and is redone.
const MARKER = join(CACHE, '.complete');
const READY_TIMEOUT_MS = 90_000;
/** What the broker logs once it serves (KafkaRaftServer, at info). */
const STARTED = 'Kafka Server started';

/** Whether java and mvn are on PATH (the jars may already be cached; mvn is then not needed). */
export function kafkaInstalled() {
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  return has('java') && (existsSync(MARKER) || has('mvn'));
}

/** Fetches the broker's jars into the cache unless they are there; returns the lib folder. */
export function ensureKafkaJars({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  if (existsSync(MARKER)) return LIB;
  log(`kafka: fetching Apache Kafka ${KAFKA_VERSION} jars into ${LIB} (once)`);
  rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(
    join(CACHE, 'pom.xml'),
    `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local.infergate</groupId><artifactId>kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version></dependency>
  </dependencies></project>
`,
  );
  const r = spawnSync(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${LIB}`, '-DincludeScope=runtime'],
    { cwd: CACHE, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (r.status !== 0 || !existsSync(join(LIB, `kafka_2.13-${KAFKA_VERSION}.jar`)))
    throw new Error(
      `kafka: mvn dependency:copy-dependencies failed (${r.error?.message ?? `exit ${r.status}`}): ${tail(`${r.stdout}${r.stderr}`)}`,
    );
  writeFileSync(MARKER, `${KAFKA_VERSION}\n`);
  return LIB;
}

/**
 * Starts a broker; resolves to { brokers, port, dir, pid, exited, stop({ keep, signal }) }.
 * `port` reuses a port and `dir` a data folder (a restart test: stop({ keep: true }), then start
 * again with both, and the topics, messages and committed offsets are still there). stop() kills
 * the JVM (SIGKILL by default; SIGTERM for a clean shutdown), resolves once it has exited, and
 * removes the folder unless `keep`.
 */
export async function startKafka({ port, dir } = {}) {
  if (!kafkaInstalled()) throw new Error(MISSING_KAFKA);
  const lib = ensureKafkaJars();
  const home = dir ?? mkdtempSync(join(tmpdir(), 'infergate-kafka-'));
  const p = port ?? (await freePort());
  const cport = await freePort();
  const data = join(home, 'data');
  const props = join(home, 'server.properties');
  writeFileSync(props, properties(p, cport, data));
  const java = ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', '-cp', `${lib}/*`];
  // Warnings only, but the line that says the server is up (the readiness signal below).
  java.push(
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    `-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info`,
  );
  // Reused data keeps its cluster id; a fresh folder is formatted (the node's meta.properties).
  if (!existsSync(join(data, 'meta.properties'))) {
    execFileSync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', props], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  const log = join(home, 'broker.log');
  writeFileSync(log, '');
  const child = spawn('sh', ['-c', `exec java "$@" >>'${log}' 2>&1`, 'java', ...java, 'kafka.Kafka', props], {
    stdio: 'ignore',
  });
  // The runner and test files exit on their own; a live child handle would keep them running.
  child.unref();
  const exited = new Promise((resolve) => child.once('exit', () => resolve(undefined)));
  let failed;
  child.once('error', (err) => {
    failed = err;
  });
  // Synchronous effects (the runner calls it just before process.exit); the promise is for
  // callers that restart on the same port and must wait for it to be released.
  const stop = ({ keep = false, signal = 'SIGKILL' } = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.ref(); // keeps an awaiting caller alive until the exit is seen
      child.kill(signal);
    }
    if (!keep) rmSync(home, { recursive: true, force: true });
    return exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!readFileSync(log, 'utf8').includes(STARTED)) {
    if (failed || child.exitCode !== null || Date.now() > deadline) {
      const why = failed ? failed.message : tail(readFileSync(log, 'utf8'));
      await stop({ keep: dir !== undefined });
      throw new Error(`kafka broker did not start on 127.0.0.1:${p}: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { brokers: `127.0.0.1:${p}`, port: p, dir: home, pid: child.pid, exited, stop };
}

function properties(port, cport, data) {
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${cport}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${data}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    // Tests send multi-megabyte messages on purpose (the oversized ones the consumer dead-letters).
    'message.max.bytes=16777216',
    'replica.fetch.max.bytes=16777216',
  ].join('\n')}\n`;
}

/** A KRaft cluster id: 16 random bytes, base64url (Kafka refuses ids that start with '-'). */
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function tail(text, lines = 20) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--fetch') {
    console.log(ensureKafkaJars());
    process.exit(0);
  }
  const k = await startKafka();
  console.log(k.brokers);
  const end = () => k.stop().then(() => process.exit(0));
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  setInterval(() => undefined, 1 << 30);
}
