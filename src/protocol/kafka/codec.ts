/**
 * Kafka records ⇄ KServe v2 (docs/kafka.md). A record's value is an infer request body exactly as
 * HTTP carries it (JSON, or the binary tensor extension's JSON header + tensor bytes) and its headers
 * carry what HTTP's headers do (content-type, inference-header-content-length, infergate-timeout-ms,
 * infergate-subject-id, infergate-request-id); the HTTP codecs decode and encode it. Pure: every
 * refusal is an InferError, which the stream turns into a dead-letter record.
 */
import {
  type InferError,
  type InferResponse,
  invalidArg,
  REQUEST_ID_HEADER,
  SUBJECT_HEADER,
  InferError as CodedError,
  subjectId,
} from '../../core/index.js';
import type { ModelMetadata } from '../../router/types.js';
import { HEADER_LENGTH, parseHeaderLength } from '../http/binary.js';
import { jsonTooLarge } from '../http/compression.js';
import { deadlineFromHeader, TIMEOUT_HEADER } from '../http/deadline.js';
import { type DecodedInfer, decodeInferRequest, type InferDecodeLimits } from '../http/infer-codec-request.js';
import { encodeInferResponse } from '../http/infer-codec-response.js';
import { MODEL_VERSION_HEADER } from '../http/infer-handler.js';
import { checkMediaType } from '../http/media-type.js';
import { decodeRawBinaryRequest } from '../http/raw-binary.js';
import type { InboundMessage, OutboundMessage } from './client.js';

/** Headers infergate writes on result and dead-letter records. */
export const KAFKA_HEADERS = {
  requestId: REQUEST_ID_HEADER,
  modelVersion: MODEL_VERSION_HEADER,
  sourceTopic: 'infergate-source-topic',
  sourcePartition: 'infergate-source-partition',
  sourceOffset: 'infergate-source-offset',
  errorCode: 'infergate-error-code',
  errorStatus: 'infergate-error-status',
  errorMessage: 'infergate-error-message',
  /** On a dead-lettered oversized record, whose value is left out: its size in bytes. */
  originalBytes: 'infergate-original-bytes',
  contentType: 'content-type',
  headerLength: HEADER_LENGTH,
} as const;

/** What decoding a record may take. */
export interface KafkaLimits extends InferDecodeLimits {
  /** Largest record value accepted; a larger one is dead-lettered without being read. */
  maxMessageBytes: number;
}

/** The model a stream serves. */
export interface StreamTarget {
  model: string;
  version?: string;
}

/** A decoded record, ready for InferenceService.infer. */
export interface DecodedMessage {
  decoded: DecodedInfer;
  /** The call's request id (messageRequestId). */
  requestId: string;
  /** Absolute deadline (epoch ms) from infergate-timeout-ms; Infinity without it. */
  deadline: number;
  subject?: string;
}

const TOKEN = /^[\x21-\x7e]{1,128}$/;

/**
 * The request id of a record: the request's own `id`, else its infergate-request-id header, else
 * `<topic>-<partition>-<offset>` — the same for every delivery of the record, so a consumer of the
 * results can drop duplicates (at-least-once) by it. Only short printable tokens are used.
 */
export function messageRequestId(msg: InboundMessage, bodyId?: string): string {
  if (bodyId !== undefined && TOKEN.test(bodyId)) return bodyId;
  const header = msg.headers[REQUEST_ID_HEADER];
  if (header !== undefined && TOKEN.test(header)) return header;
  return `${msg.topic}-${msg.partition}-${msg.offset}`;
}

/** Whether a record is over the size limit (it is dead-lettered without its value). */
export function oversized(msg: InboundMessage, limits: KafkaLimits): boolean {
  return (msg.value?.byteLength ?? 0) > limits.maxMessageBytes;
}

/**
 * Decodes a record into the infer call for `target`; throws an InferError for anything a client
 * would get a 4xx for over HTTP. `metadata` is read only for a raw binary request (header length 0).
 */
export function decodeMessage(
  msg: InboundMessage,
  target: StreamTarget,
  limits: KafkaLimits,
  metadata: () => ModelMetadata,
  nowMs: number,
): DecodedMessage {
  const body = msg.value;
  if (body === null || body.byteLength === 0) throw invalidArg('the record has no value (an empty inference request)');
  if (oversized(msg, limits))
    throw new CodedError(
      'IG_ERR_PAYLOAD_TOO_LARGE',
      `the record is ${body.byteLength} bytes, over the limit of ${limits.maxMessageBytes} (--kafka-max-message-bytes)`,
    );
  const h = msg.headers;
  checkMediaType(h['content-type']);
  const encoding = h['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    throw new CodedError(
      'IG_ERR_UNSUPPORTED_MEDIA_TYPE',
      `unsupported content-encoding '${encoding.slice(0, 40)}' on a Kafka record; use the producer's compression instead`,
    );
  const headerLength = parseHeaderLength(h[HEADER_LENGTH], body.byteLength);
  if ((headerLength ?? body.byteLength) > limits.maxJsonBytes) throw jsonTooLarge(limits.maxJsonBytes);
  const decoded =
    headerLength === 0
      ? decodeRawBinaryRequest(body, metadata(), target.model, target.version)
      : decodeInferRequest(body, headerLength, target.model, target.version, limits);
  if (decoded.shm !== undefined) throw invalidArg('shared-memory tensors cannot be used over Kafka');
  const out: DecodedMessage = {
    decoded,
    requestId: messageRequestId(msg, decoded.request.id),
    deadline: deadlineFromHeader(h[TIMEOUT_HEADER], nowMs),
  };
  const subject = subjectId(h[SUBJECT_HEADER]);
  if (subject !== undefined) out.subject = subject;
  return out;
}

/** The headers that tie an output record to its input: request id and topic/partition/offset. */
function correlation(msg: InboundMessage, requestId: string): Record<string, string> {
  return {
    [KAFKA_HEADERS.requestId]: requestId,
    [KAFKA_HEADERS.sourceTopic]: msg.topic,
    [KAFKA_HEADERS.sourcePartition]: String(msg.partition),
    [KAFKA_HEADERS.sourceOffset]: msg.offset,
  };
}

/** The result record: the same key, the KServe v2 response body, correlation headers. Throws as encodeInferResponse does. */
export function resultMessage(
  msg: InboundMessage,
  topic: string,
  call: DecodedMessage,
  response: InferResponse,
  maxJsonElements: number,
): OutboundMessage {
  const encoded = encodeInferResponse(response, {
    binaryDefault: call.decoded.binaryOutput,
    requested: call.decoded.request.outputs,
    maxJsonElements,
  });
  const headers: Record<string, string> = {
    ...correlation(msg, call.requestId),
    [KAFKA_HEADERS.modelVersion]: response.version,
    [KAFKA_HEADERS.contentType]: encoded.headerLength === undefined ? 'application/json' : 'application/octet-stream',
  };
  if (encoded.headerLength !== undefined) headers[KAFKA_HEADERS.headerLength] = String(encoded.headerLength);
  return { topic, key: msg.key, value: encoded.body, headers };
}

/**
 * The dead-letter record: the same key, the original value (left out when it is over the size
 * limit: it stays readable at its source offset), the original headers, then the error's code,
 * HTTP status and client-facing message and the correlation headers.
 */
export function deadLetterMessage(
  msg: InboundMessage,
  topic: string,
  requestId: string,
  err: InferError,
  limits: KafkaLimits,
): OutboundMessage {
  const tooBig = oversized(msg, limits);
  const headers: Record<string, string> = {
    ...msg.headers,
    ...correlation(msg, requestId),
    [KAFKA_HEADERS.errorCode]: err.code,
    [KAFKA_HEADERS.errorStatus]: String(err.httpStatus),
    [KAFKA_HEADERS.errorMessage]: err.message.slice(0, 1024),
  };
  if (tooBig) headers[KAFKA_HEADERS.originalBytes] = String(msg.value?.byteLength ?? 0);
  return { topic, key: msg.key, value: tooBig ? null : msg.value, headers };
}

/**
 * Whether a failed call is retried after a back-off instead of dead-lettered: the model or server
 * cannot take it *now* (503: queue full, not ready, worker hung, breaker open, shutting down; 429:
 * rate limited). Everything else — the request's fault (4xx) or a failure retrying would repeat
 * (500 execution errors, 504 deadline) — is dead-lettered with its code.
 */
export function isRetryable(err: InferError): boolean {
  return err.httpStatus === 503 || err.httpStatus === 429;
}
