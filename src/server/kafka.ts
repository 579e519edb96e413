/**
 * Kafka streaming inference's part of the composition root (docs/kafka.md): the flags are parsed
 * and checked when the server is built (a bad broker or stream fails the start naming its flag),
 * the streams start once the startup models are loaded (an unknown model fails the start), and
 * they stop first on shutdown: no new records, the calls in the model finish, their results are
 * produced and committed, then the consumers leave their groups.
 */
import { InferError, type Principal, type Scope } from '../core/index.js';
import type { KafkaStreamReading } from '../observability/kafka-metrics.js';
import type { Logger } from '../observability/logger.js';
import { type KafkaConfig, parseKafkaConfig } from '../protocol/kafka/config.js';
import { KafkajsClient } from '../protocol/kafka/kafkajs-client.js';
import { KafkaStream } from '../protocol/kafka/stream.js';
import type { InferenceService } from '../router/types.js';
import type { ServerOptions } from './options.js';

export interface ServerKafka {
  /** Checks every stream's model, then starts consuming (connecting in the background). */
  start(inference: InferenceService): Promise<void>;
  /** Drains and stops every stream, then closes the client. Idempotent. */
  stop(): Promise<void>;
  readings(): KafkaStreamReading[];
}

/** The server's Kafka streams, or undefined when no Kafka flag is given. Throws on bad flags. */
export function openServerKafka(o: ServerOptions, logger: Logger): ServerKafka | undefined {
  const config: KafkaConfig | undefined = parseKafkaConfig({
    brokers: o.kafkaBrokers,
    streams: o.kafkaStreams,
    deadLetterTopic: o.kafkaDeadLetterTopic,
  });
  if (config === undefined) return undefined;
  const maxMessageBytes = o.kafkaMaxMessageBytes ?? o.maxBodyBytes;
  const client = new KafkajsClient({ brokers: config.brokers, clientId: o.kafkaClientId, logger, maxMessageBytes });
  const limits = {
    maxMessageBytes,
    maxJsonBytes: o.maxJsonBytes,
    maxBytesElements: o.maxBytesElements,
    // protocol/http/server.ts's defaults.
    maxJsonDepth: 100,
    maxJsonElements: 16 * 1024 * 1024,
    maxJsonResponseElements: 1024 * 1024,
  };
  let streams: KafkaStream[] = [];
  let stopping: Promise<void> | undefined;
  return {
    async start(inference) {
      for (const s of config.streams) {
        try {
          inference.modelReady(s.model, s.version);
        } catch (err) {
          throw new InferError(
            'IG_ERR_INVALID_ARG',
            `--kafka-stream ${s.model}${s.version ? `:${s.version}` : ''}=${s.inputTopic}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
      streams = config.streams.map(
        (binding) =>
          new KafkaStream({
            binding,
            client,
            inference,
            limits,
            principal: streamPrincipal(binding.group, binding.model),
            logger,
            inFlight: o.kafkaInFlight,
            lagIntervalMs: o.kafkaLagIntervalMs,
          }),
      );
      // Not awaited: a cluster that cannot be reached now is tried again in the background.
      for (const s of streams) void s.start();
    },
    stop() {
      stopping ??= (async () => {
        await Promise.all(streams.map((s) => s.stop()));
        await client.close();
      })();
      return stopping;
    },
    readings: () => streams.map((s) => s.reading()),
  };
}

/**
 * Who a stream's calls run as: the operator bound the topic to the model on the command line, so
 * the stream may infer on that model only (auth's model visibility), under its own rate-limit key.
 */
function streamPrincipal(group: string, model: string): Principal {
  return Object.freeze({
    id: `kafka:${group}`,
    kind: 'anonymous',
    scopes: Object.freeze(['infer']) as readonly Scope[],
    models: Object.freeze([model]),
  });
}
