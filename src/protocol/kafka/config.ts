/**
 * The Kafka flags of `infergate serve`, parsed and checked before anything starts (docs/kafka.md):
 *   --kafka-brokers HOST:PORT[,HOST:PORT…]
 *   --kafka-stream MODEL[:VERSION]=INPUT_TOPIC,OUTPUT_TOPIC[,GROUP]   (repeatable)
 *   --kafka-dead-letter-topic TOPIC                                  (default: <input>.dlq)
 * Every refusal is an IG_ERR_INVALID_ARG whose message starts with the flag it is about.
 */
import { InferError } from '../../core/index.js';

/** One model bound to one input topic. */
export interface StreamBinding {
  model: string;
  version?: string;
  inputTopic: string;
  outputTopic: string;
  deadLetterTopic: string;
  /** The consumer group: replicas with the same one share the input's partitions. */
  group: string;
}

/** The parsed Kafka configuration; undefined from parseKafkaConfig when Kafka is off. */
export interface KafkaConfig {
  brokers: string[];
  streams: StreamBinding[];
}

/** The flags as the server options hold them. */
export interface KafkaFlags {
  brokers: readonly string[];
  streams: readonly string[];
  deadLetterTopic?: string;
}

/** Kafka's legal topic names (and the ones we accept as group ids). */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

function bad(flag: string, message: string): InferError {
  return new InferError('IG_ERR_INVALID_ARG', `${flag} ${message}`);
}

/** Parses and cross-checks the flags; undefined when neither brokers nor streams are given. */
export function parseKafkaConfig(flags: KafkaFlags): KafkaConfig | undefined {
  if (flags.brokers.length === 0 && flags.streams.length === 0) return undefined;
  if (flags.brokers.length === 0) throw bad('--kafka-stream', 'needs --kafka-brokers (the bootstrap brokers)');
  if (flags.streams.length === 0)
    throw bad('--kafka-brokers', 'needs at least one --kafka-stream MODEL[:VERSION]=INPUT_TOPIC,OUTPUT_TOPIC');
  if (flags.deadLetterTopic !== undefined) checkTopic('--kafka-dead-letter-topic', flags.deadLetterTopic);
  const brokers = flags.brokers.flatMap((b) => b.split(',')).map((b) => parseBroker(b.trim()));
  const streams = flags.streams.map((s) => parseStream(s, flags.deadLetterTopic));
  const seen = new Map<string, string>();
  for (const s of streams) {
    const at = `${s.inputTopic}\0${s.group}`;
    const other = seen.get(at);
    if (other !== undefined)
      throw bad(
        '--kafka-stream',
        `'${other}' and '${s.model}' both read topic '${s.inputTopic}' in group '${s.group}'; give one a GROUP of its own`,
      );
    seen.set(at, s.model);
    if (s.outputTopic === s.inputTopic || s.deadLetterTopic === s.inputTopic)
      throw bad('--kafka-stream', `'${s.model}': the output and dead-letter topics must differ from the input topic`);
  }
  return { brokers, streams };
}

/** `host:port` (a name, IPv4, or [IPv6]); refuses anything else naming --kafka-brokers. */
export function parseBroker(text: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !(port >= 1 && port <= 65535))
    throw bad('--kafka-brokers', `'${text.slice(0, 80)}' is not HOST:PORT (e.g. 127.0.0.1:9092)`);
  return text;
}

/** `MODEL[:VERSION]=INPUT_TOPIC,OUTPUT_TOPIC[,GROUP]`. */
export function parseStream(text: string, deadLetterTopic?: string): StreamBinding {
  const flag = '--kafka-stream';
  const eq = text.indexOf('=');
  if (eq <= 0) throw bad(flag, `'${text.slice(0, 80)}' is not MODEL[:VERSION]=INPUT_TOPIC,OUTPUT_TOPIC[,GROUP]`);
  const target = text.slice(0, eq);
  const colon = target.lastIndexOf(':');
  const model = colon < 0 ? target : target.slice(0, colon);
  const version = colon < 0 ? undefined : target.slice(colon + 1);
  if (!/^[^\s/\\:=,]{1,256}$/.test(model)) throw bad(flag, `'${text.slice(0, 80)}': bad model name '${model}'`);
  if (version !== undefined && !/^[a-zA-Z0-9._-]{1,64}$/.test(version))
    throw bad(flag, `'${text.slice(0, 80)}': bad version '${version}'`);
  const parts = text.slice(eq + 1).split(',');
  if (parts.length < 2 || parts.length > 3)
    throw bad(flag, `'${text.slice(0, 80)}' needs INPUT_TOPIC,OUTPUT_TOPIC[,GROUP] after '='`);
  const [inputTopic, outputTopic, group] = parts.map((p) => p.trim()) as [string, string, string | undefined];
  checkTopic(flag, inputTopic);
  checkTopic(flag, outputTopic);
  if (group !== undefined) checkTopic(flag, group, 'group');
  const binding: StreamBinding = {
    model,
    inputTopic,
    outputTopic,
    deadLetterTopic: deadLetterTopic ?? `${inputTopic}.dlq`,
    group: group ?? `infergate-${inputTopic}`,
  };
  if (version !== undefined) binding.version = version;
  return binding;
}

function checkTopic(flag: string, name: string, what = 'topic'): void {
  if (!TOPIC.test(name) || name === '.' || name === '..')
    throw bad(flag, `'${name.slice(0, 80)}' is not a valid ${what} name (letters, digits, '.', '_', '-'; at most 249)`);
}
