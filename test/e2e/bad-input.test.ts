// Bad input through the real server (real router and onnxruntime behind it): each case gets the
// documented status and a message naming the problem, no stack trace, and the server stays ready.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
let base: string;
before(async () => {
  s = await startTestServer({
    controlMode: 'explicit',
    loadModels: ['digits', 'identity_bytes'],
    maxBodyBytes: 1 << 20,
  });
  base = `http://${s.httpAddress}`;
});
after(() => s.close());

async function post(path: string, body: Buffer | string, headers: Record<string, string> = {}) {
  const res = await request(`${base}${path}`, { method: 'POST', body, headers });
  const text = await res.body.text();
  return { status: res.statusCode, text };
}

function expectError(r: { status: number; text: string }, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.text);
  const err = (JSON.parse(r.text) as { error: string }).error;
  assert.match(err, pattern);
  assert.doesNotMatch(r.text, /\bat .*\.(ts|js):\d+/, 'no stack trace');
}

const digitsJson = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: new Array(784).fill(0), ...over }],
  });

function binaryBody(json: object, payload: Buffer) {
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, payload]), headers: { 'inference-header-content-length': String(head.length) } };
}

const cases: Array<[string, () => Promise<{ status: number; text: string }>, number, RegExp]> = [
  [
    'wrong datatype',
    () => post('/v2/models/digits/infer', digitsJson({ datatype: 'FP64' })),
    400,
    /data-type is 'FP64'/,
  ],
  [
    'wrong shape',
    () => post('/v2/models/digits/infer', digitsJson({ shape: [1, 783], data: new Array(783).fill(0) })),
    400,
    /unexpected shape for input 'input'/,
  ],
  [
    'data count differs from shape',
    () => post('/v2/models/digits/infer', digitsJson({ data: [1, 2, 3] })),
    400,
    /input/,
  ],
  [
    'missing input',
    () => post('/v2/models/digits/infer', JSON.stringify({ inputs: [] })),
    400,
    /missing required input/,
  ],
  [
    'extra input',
    () =>
      post(
        '/v2/models/digits/infer',
        JSON.stringify({
          inputs: [...JSON.parse(digitsJson()).inputs, { name: 'zz', datatype: 'FP32', shape: [1, 1], data: [0] }],
        }),
      ),
    400,
    /unexpected inference input 'zz'/,
  ],
  [
    'unknown model',
    () => post('/v2/models/nope/infer', digitsJson()),
    404,
    /^Request for unknown model: 'nope' is not found$/,
  ],
  [
    'unknown version',
    () => post('/v2/models/digits/versions/7/infer', digitsJson()),
    404,
    /^Request for unknown model: 'digits' version 7 is not found$/,
  ],
  ['malformed JSON', () => post('/v2/models/digits/infer', '{"inputs": [}'), 400, /JSON/i],
  [
    'nesting bomb',
    () =>
      post(
        '/v2/models/digits/infer',
        `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,784],"data":${'['.repeat(50_000)}${']'.repeat(50_000)}}]}`,
      ),
    400,
    /nest|depth/i,
  ],
  ['body over the limit', () => post('/v2/models/digits/infer', Buffer.alloc(2 << 20, 32)), 413, /limit|large/i],
  [
    'gzip body over the limit once inflated',
    () => post('/v2/models/digits/infer', gzipSync(Buffer.alloc(4 << 20, 32)), { 'content-encoding': 'gzip' }),
    413,
    /limit|large/i,
  ],
  [
    'truncated binary body',
    () => {
      const b = binaryBody(
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], parameters: { binary_data_size: 3136 } }] },
        Buffer.alloc(100),
      );
      return post('/v2/models/digits/infer', b.body, b.headers);
    },
    400,
    /input/,
  ],
  [
    'binary size mismatch',
    () => {
      const b = binaryBody(
        { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], parameters: { binary_data_size: 3000 } }] },
        Buffer.alloc(3000),
      );
      return post('/v2/models/digits/infer', b.body, b.headers);
    },
    400,
    /input/,
  ],
  [
    'BYTES length prefix past the end',
    () => {
      const payload = Buffer.alloc(8);
      payload.writeUInt32LE(1000, 0);
      const b = binaryBody(
        { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], parameters: { binary_data_size: 8 } }] },
        payload,
      );
      return post('/v2/models/identity_bytes/infer', b.body, b.headers);
    },
    400,
    /INPUT0/,
  ],
  [
    'path traversal in a model name',
    () => post('/v2/models/..%2F..%2Fetc/infer', digitsJson()),
    404,
    /Request for unknown model|Not Found/,
  ],
  [
    'reserved triton_ parameter',
    () => post('/v2/models/digits/infer', JSON.stringify({ ...JSON.parse(digitsJson()), parameters: { triton_x: 1 } })),
    400,
    /triton_/,
  ],
];

for (const [name, send, status, pattern] of cases) {
  test(`bad input: ${name} → ${status}, named, server stays ready`, async () => {
    expectError(await send(), status, pattern);
    assert.equal(await s.http.status('/v2/health/ready'), 200);
  });
}

test('after all the bad input, a good request still succeeds', async () => {
  const r = await post('/v2/models/digits/infer', digitsJson());
  assert.equal(r.status, 200, r.text);
});
