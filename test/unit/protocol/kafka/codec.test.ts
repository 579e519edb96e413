// Kafka records ⇄ KServe v2: the HTTP codecs over record values and headers, request ids, result
// and dead-letter records, which failures are retried; and the flags' parser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InferError } from '../../../../src/core/index.js';
import {
  deadLetterMessage,
  decodeMessage,
  isRetryable,
  messageRequestId,
  resultMessage,
} from '../../../../src/protocol/kafka/codec.js';
import { parseKafkaConfig, parseStream } from '../../../../src/protocol/kafka/config.js';
import { FakeInference, jsonRequest, records } from './fake.js';

const LIMITS = {
  maxMessageBytes: 1 << 16,
  maxJsonBytes: 1 << 12,
  maxBytesElements: 1024,
  maxJsonDepth: 100,
  maxJsonElements: 1 << 20,
  maxJsonResponseElements: 1 << 20,
};
const meta = () => new FakeInference().modelMetadata();
const record = (value: Buffer | null, headers: Record<string, string> = {}) => ({
  ...records(1, () => value, { first: 42 })[0]!,
  headers,
});

/** A binary-extension body: JSON header naming `binary_data_size`, then the FP32 bytes. */
function binaryBody(values: number[], binaryOutput: boolean): { body: Buffer; headerLength: number } {
  const data = Buffer.from(new Float32Array(values).buffer);
  const json = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'x',
          datatype: 'FP32',
          shape: [1, values.length],
          parameters: { binary_data_size: data.byteLength },
        },
      ],
      parameters: { binary_data_output: binaryOutput },
    }),
  );
  return { body: Buffer.concat([json, data]), headerLength: json.byteLength };
}

test('a JSON record decodes into the request for the stream model and version', () => {
  const m = decodeMessage(record(jsonRequest([1, 2], 'r1')), { model: 'm', version: '3' }, LIMITS, meta, 1000);
  assert.equal(m.decoded.request.model, 'm');
  assert.equal(m.decoded.request.version, '3');
  assert.deepEqual(Array.from(m.decoded.request.inputs[0]!.data as Float32Array), [1, 2]);
  assert.equal(m.requestId, 'r1');
  assert.equal(m.deadline, Number.POSITIVE_INFINITY);
});

test('a binary record (header length in a record header) decodes and its result is binary with the header length', async () => {
  const { body, headerLength } = binaryBody([3, 4], true);
  const msg = record(body, {
    'content-type': 'application/octet-stream',
    'inference-header-content-length': String(headerLength),
    'infergate-timeout-ms': '500',
  });
  const call = decodeMessage(msg, { model: 'm' }, LIMITS, meta, 1000);
  assert.equal(call.deadline, 1500);
  assert.equal(call.requestId, 'in-0-42');
  const response = await new FakeInference().infer(call.decoded.request, {
    requestId: call.requestId,
    protocol: 'kafka',
    principal: { id: 'p', kind: 'anonymous', scopes: ['infer'] },
    deadline: call.deadline,
  });
  const out = resultMessage(msg, 'out', call, response, 1 << 20);
  assert.equal(out.topic, 'out');
  assert.equal(out.key?.toString(), 'k2');
  assert.equal(out.headers['content-type'], 'application/octet-stream');
  const jsonLength = Number(out.headers['inference-header-content-length']);
  const head = JSON.parse(out.value!.subarray(0, jsonLength).toString());
  assert.equal(head.outputs[0].parameters.binary_data_size, 8);
  assert.deepEqual(Array.from(new Float32Array(new Uint8Array(out.value!.subarray(jsonLength)).buffer)), [3, 4]);
  assert.equal(out.headers['infergate-model-version'], '1');
  assert.equal(out.headers['infergate-source-offset'], '42');
});

test('a raw binary record (header length 0) takes its shape from the model metadata', () => {
  const raw = Buffer.from(new Float32Array([5, 6]).buffer);
  const call = decodeMessage(record(raw, { 'inference-header-content-length': '0' }), { model: 'm' }, LIMITS, meta, 0);
  assert.deepEqual(call.decoded.request.inputs[0]!.shape, [1, 2]);
});

test('refusals are the coded errors HTTP gives for the same body', () => {
  const code = (value: Buffer | null, headers: Record<string, string> = {}, limits = LIMITS) => {
    try {
      decodeMessage(record(value, headers), { model: 'm' }, limits, meta, 0);
      return 'decoded';
    } catch (err) {
      return (err as InferError).code;
    }
  };
  assert.equal(code(null), 'IG_ERR_INVALID_ARG');
  assert.equal(code(Buffer.from('[1,2')), 'IG_ERR_INVALID_ARG');
  assert.equal(code(Buffer.from('{"inputs":5}')), 'IG_ERR_INVALID_ARG');
  assert.equal(code(jsonRequest([1]), { 'content-type': 'application/x-yaml' }), 'IG_ERR_UNSUPPORTED_MEDIA_TYPE');
  assert.equal(code(jsonRequest([1]), { 'content-encoding': 'gzip' }), 'IG_ERR_UNSUPPORTED_MEDIA_TYPE');
  assert.equal(code(jsonRequest([1]), { 'inference-header-content-length': 'x' }), 'IG_ERR_INVALID_ARG');
  assert.equal(code(jsonRequest([1]), { 'inference-header-content-length': '99999' }), 'IG_ERR_INVALID_ARG');
  assert.equal(code(jsonRequest([1]), { 'infergate-timeout-ms': '-1' }), 'IG_ERR_INVALID_ARG');
  assert.equal(code(Buffer.alloc(LIMITS.maxMessageBytes + 1)), 'IG_ERR_PAYLOAD_TOO_LARGE');
  assert.equal(code(jsonRequest(new Array(3000).fill(1))), 'IG_ERR_PAYLOAD_TOO_LARGE'); // over maxJsonBytes
  const shm =
    '{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"shared_memory_region":"r","shared_memory_byte_size":4}}]}';
  assert.equal(code(Buffer.from(shm)), 'IG_ERR_INVALID_ARG');
  assert.equal(code(jsonRequest([1, 2])), 'decoded');
});

test('the request id: a printable body id, else the header, else topic-partition-offset', () => {
  const msg = record(null, { 'infergate-request-id': 'hdr' });
  assert.equal(messageRequestId(msg, 'body'), 'body');
  assert.equal(messageRequestId(msg, 'has space'), 'hdr');
  assert.equal(messageRequestId(record(null), undefined), 'in-0-42');
  assert.equal(messageRequestId(record(null, { 'infergate-request-id': 'bad\nid' })), 'in-0-42');
});

test('a dead-letter record keeps key, value and headers and adds the error and the correlation', () => {
  const msg = record(Buffer.from('garbage'), { 'x-app': '1' });
  const d = deadLetterMessage(msg, 'in.dlq', 'in-0-42', new InferError('IG_ERR_INVALID_ARG', 'bad json'), LIMITS);
  assert.equal(d.topic, 'in.dlq');
  assert.equal(d.key?.toString(), 'k2');
  assert.equal(d.value?.toString(), 'garbage');
  assert.deepEqual(d.headers, {
    'x-app': '1',
    'infergate-request-id': 'in-0-42',
    'infergate-source-topic': 'in',
    'infergate-source-partition': '0',
    'infergate-source-offset': '42',
    'infergate-error-code': 'IG_ERR_INVALID_ARG',
    'infergate-error-status': '400',
    'infergate-error-message': 'bad json',
  });
});

test('503s and 429s are retried; 4xx, 500 and 504 are dead-lettered', () => {
  const retry = (code: ConstructorParameters<typeof InferError>[0]) => isRetryable(new InferError(code, 'x'));
  for (const c of ['IG_ERR_QUEUE_FULL', 'IG_ERR_MODEL_NOT_READY', 'IG_ERR_UNAVAILABLE', 'IG_ERR_RATE_LIMITED'] as const)
    assert.equal(retry(c), true, c);
  for (const c of [
    'IG_ERR_INVALID_ARG',
    'IG_ERR_MODEL_NOT_FOUND',
    'IG_ERR_MODEL_EXECUTION',
    'IG_ERR_DEADLINE_EXCEEDED',
  ] as const)
    assert.equal(retry(c), false, c);
});

test('stream flags parse with their defaults; every refusal names its flag', () => {
  assert.deepEqual(parseStream('digits:2=in,out'), {
    model: 'digits',
    version: '2',
    inputTopic: 'in',
    outputTopic: 'out',
    deadLetterTopic: 'in.dlq',
    group: 'infergate-in',
  });
  assert.deepEqual(
    parseKafkaConfig({ brokers: ['a:9092,b:9093'], streams: ['m=in,out,grp'], deadLetterTopic: 'dead' }),
    {
      brokers: ['a:9092', 'b:9093'],
      streams: [{ model: 'm', inputTopic: 'in', outputTopic: 'out', deadLetterTopic: 'dead', group: 'grp' }],
    },
  );
  assert.equal(parseKafkaConfig({ brokers: [], streams: [] }), undefined);
  const refusal = (flags: Parameters<typeof parseKafkaConfig>[0]) => {
    try {
      parseKafkaConfig(flags);
      return 'accepted';
    } catch (err) {
      assert.equal((err as InferError).code, 'IG_ERR_INVALID_ARG');
      return (err as Error).message.split(' ')[0];
    }
  };
  assert.equal(refusal({ brokers: ['localhost'], streams: ['m=a,b'] }), '--kafka-brokers');
  assert.equal(refusal({ brokers: ['h:99999'], streams: ['m=a,b'] }), '--kafka-brokers');
  assert.equal(refusal({ brokers: ['h:1'], streams: [] }), '--kafka-brokers');
  assert.equal(refusal({ brokers: [], streams: ['m=a,b'] }), '--kafka-stream');
  assert.equal(refusal({ brokers: ['h:1'], streams: ['m'] }), '--kafka-stream');
  assert.equal(refusal({ brokers: ['h:1'], streams: ['m=a'] }), '--kafka-stream');
  assert.equal(refusal({ brokers: ['h:1'], streams: ['m=a,b/c'] }), '--kafka-stream');
  assert.equal(refusal({ brokers: ['h:1'], streams: ['m=a,a'] }), '--kafka-stream');
  assert.equal(refusal({ brokers: ['h:1'], streams: ['m=a,b', 'n=a,c'] }), '--kafka-stream');
  assert.equal(refusal({ brokers: ['h:1'], streams: ['m=a,b'], deadLetterTopic: 'x y' }), '--kafka-dead-letter-topic');
  assert.equal(refusal({ brokers: ['[::1]:9092'], streams: ['m=a,b', 'n=a,c,other'] }), 'accepted');
});
