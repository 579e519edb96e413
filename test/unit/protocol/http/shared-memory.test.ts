// System shared memory over HTTP (protocol.md B.8) against the real services: the
// /v2/systemsharedmemory endpoints with Triton's shapes and texts, and infer with inputs read from
// and outputs written to regions, in JSON and binary requests. Regions live in a private directory
// standing in for /dev/shm.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiKeyStore } from '../../../../src/auth/api-keys.js';
import { DefaultGatekeeper } from '../../../../src/auth/gatekeeper.js';
import { GRPCInferenceService } from '../../../../src/gen/grpc_service_pb.js';
import { SystemSharedMemory } from '../../../../src/protocol/common/shm-regions.js';
import { methodScope } from '../../../../src/protocol/grpc/auth.js';
import { closeAll, postBinary, postJson, ROW, setup, splitResponse } from './helpers.js';

let dir: string;
let regions: SystemSharedMemory;
let app: Awaited<ReturnType<typeof setup>>['app'];
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ig-http-shm-'));
  regions = new SystemSharedMemory({ dir });
  ({ app } = await setup({ sharedMemory: regions }));
});
after(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const int32Bytes = (values: number[]) => new Uint8Array(new Int32Array(values).buffer);
const fileInt32s = (name: string, from: number, to: number) => [
  ...new Int32Array(Uint8Array.from(readFileSync(join(dir, name)).subarray(from, to)).buffer),
];

async function register(name: string, file: string, bytes: Uint8Array, offset = 0, size = bytes.byteLength - offset) {
  writeFileSync(join(dir, file), bytes);
  const r = await app.inject(
    postJson(`/v2/systemsharedmemory/region/${name}/register`, { key: `/${file}`, offset, byte_size: size }),
  );
  assert.equal(r.statusCode, 200, r.body);
}

describe('the /v2/systemsharedmemory endpoints', () => {
  test("register, status (Triton's fields, by name), unregister one and all", async () => {
    await register('st_b', 'st_obj', new Uint8Array(64), 0, 64);
    await register('st_a', 'st_obj', new Uint8Array(64), 16, 32);
    const all = await app.inject({ method: 'GET', url: '/v2/systemsharedmemory/status' });
    assert.deepEqual(all.json(), [
      { name: 'st_a', key: '/st_obj', offset: 16, byte_size: 32 },
      { name: 'st_b', key: '/st_obj', offset: 0, byte_size: 64 },
    ]);
    const one = await app.inject({ method: 'GET', url: '/v2/systemsharedmemory/region/st_b/status' });
    assert.deepEqual(one.json(), [{ name: 'st_b', key: '/st_obj', offset: 0, byte_size: 64 }]);
    const dup = await app.inject(
      postJson('/v2/systemsharedmemory/region/st_a/register', { key: '/st_obj', byte_size: 8 }),
    );
    assert.equal(dup.statusCode, 400);
    assert.deepEqual(dup.json(), { error: "shared memory region 'st_a' already in manager" });
    assert.equal(
      (await app.inject({ method: 'POST', url: '/v2/systemsharedmemory/region/st_a/unregister' })).statusCode,
      200,
    );
    const gone = await app.inject({ method: 'GET', url: '/v2/systemsharedmemory/region/st_a/status' });
    assert.equal(gone.statusCode, 404);
    assert.deepEqual(gone.json(), { error: "Unable to find system shared memory region: 'st_a'" });
    assert.equal((await app.inject({ method: 'POST', url: '/v2/systemsharedmemory/unregister' })).statusCode, 200);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v2/systemsharedmemory/status' })).json(), []);
  });

  test("Triton's texts for malformed register requests", async () => {
    const cases: Array<[string, unknown, string]> = [
      [
        '/v2/systemsharedmemory/register',
        { key: '/k', byte_size: 4 },
        "'region name' is necessary to register system shared memory region",
      ],
      [
        '/v2/systemsharedmemory/region/r/register',
        { byte_size: 4 },
        "Shared memory register request has no 'key' field",
      ],
      [
        '/v2/systemsharedmemory/region/r/register',
        { key: '/k' },
        "Shared memory register request has no 'byte_size' field",
      ],
    ];
    for (const [url, body, error] of cases) {
      const r = await app.inject(postJson(url, body));
      assert.equal(r.statusCode, 400, url);
      assert.deepEqual(r.json(), { error });
    }
    const traversal = await app.inject(
      postJson('/v2/systemsharedmemory/region/r/register', { key: '/../../etc/passwd', byte_size: 4 }),
    );
    assert.equal(traversal.statusCode, 400);
    assert.match(traversal.json().error, /^Unable to open shared memory region: '\/\.\.\/\.\.\/etc\/passwd': /);
  });
});

describe('who may touch regions', () => {
  test('with auth required, register and unregister need the admin scope, status read (gRPC alike)', async () => {
    const store = new ApiKeyStore(join(dir, 'keys.json'), () => Date.UTC(2026, 0, 1));
    const reader = store.create({ name: 'reader', scopes: ['infer', 'read'] }).key;
    const admin = store.create({ name: 'admin', scopes: ['infer', 'read', 'admin'] }).key;
    const guarded = await setup({
      sharedMemory: regions,
      auth: new DefaultGatekeeper({ mode: 'required', apiKeys: store }),
    });
    writeFileSync(join(dir, 'auth_obj'), new Uint8Array(8));
    const reg = (key: string) =>
      guarded.app.inject(
        postJson(
          '/v2/systemsharedmemory/region/auth_r/register',
          { key: '/auth_obj', byte_size: 8 },
          { 'x-api-key': key },
        ),
      );
    assert.equal((await reg(reader)).statusCode, 403);
    const status = await guarded.app.inject({ url: '/v2/systemsharedmemory/status', headers: { 'x-api-key': reader } });
    assert.equal(status.statusCode, 200);
    assert.deepEqual(status.json(), []);
    const unregister = { method: 'POST' as const, url: '/v2/systemsharedmemory/unregister' };
    assert.equal((await guarded.app.inject({ ...unregister, headers: { 'x-api-key': reader } })).statusCode, 403);
    assert.equal((await reg(admin)).statusCode, 200);
    assert.equal((await guarded.app.inject({ ...unregister, headers: { 'x-api-key': admin } })).statusCode, 200);
    const m = GRPCInferenceService.method;
    assert.deepEqual(
      [m.systemSharedMemoryRegister, m.systemSharedMemoryUnregister, m.systemSharedMemoryStatus].map(methodScope),
      ['admin', 'admin', 'read'],
    );
  });
});

describe('infer with shared memory', () => {
  test('JSON request: input from a region, output into a region at an offset (metadata, no data)', async () => {
    await register('j_in', 'j_in_obj', int32Bytes(ROW));
    await register('j_out', 'j_out_obj', new Uint8Array(96));
    const r = await app.inject(
      postJson('/v2/models/simple/infer', {
        inputs: [
          {
            name: 'INPUT0',
            datatype: 'INT32',
            shape: [1, 16],
            parameters: { shared_memory_region: 'j_in', shared_memory_byte_size: 64 },
          },
        ],
        outputs: [
          {
            name: 'OUTPUT0',
            parameters: {
              binary_data: false,
              shared_memory_region: 'j_out',
              shared_memory_byte_size: 64,
              shared_memory_offset: 32,
            },
          },
        ],
      }),
    );
    assert.equal(r.statusCode, 200, r.body);
    const out = r.json().outputs[0];
    assert.deepEqual(out, {
      name: 'OUTPUT0',
      datatype: 'INT32',
      shape: [1, 16],
      parameters: { shared_memory_region: 'j_out', shared_memory_byte_size: 64, shared_memory_offset: 32 },
    });
    assert.deepEqual(fileInt32s('j_out_obj', 32, 96), ROW);
  });

  test('binary request: binary_data_output does not pull a shared-memory output back into the body', async () => {
    await register('b_in', 'b_in_obj', int32Bytes([1, 2, 3, 4]));
    await register('b_out', 'b_out_obj', new Uint8Array(16));
    const r = await app.inject(
      postBinary(
        '/v2/models/echo_int32/infer',
        {
          parameters: { binary_data_output: true },
          inputs: [
            {
              name: 'INPUT0',
              datatype: 'INT32',
              shape: [2, 2],
              parameters: { shared_memory_region: 'b_in', shared_memory_byte_size: 16 },
            },
          ],
          outputs: [{ name: 'OUTPUT0', parameters: { shared_memory_region: 'b_out', shared_memory_byte_size: 16 } }],
        },
        [],
      ),
    );
    assert.equal(r.statusCode, 200, r.body);
    const { json, tail } = splitResponse(
      r.rawPayload,
      Number(r.headers['inference-header-content-length'] ?? r.rawPayload.byteLength),
    );
    assert.equal(tail.byteLength, 0);
    assert.equal(json.outputs[0].data, undefined);
    assert.deepEqual(fileInt32s('b_out_obj', 0, 16), [1, 2, 3, 4]);
  });

  test("Triton's texts and statuses for what goes wrong", async () => {
    await register('e_in', 'e_in_obj', int32Bytes(ROW));
    const input = (parameters: Record<string, unknown>) => ({
      name: 'INPUT0',
      datatype: 'INT32',
      shape: [1, 16],
      parameters,
    });
    const cases: Array<[unknown, number, string]> = [
      [
        { inputs: [input({ shared_memory_region: 'nowhere', shared_memory_byte_size: 64 })] },
        404,
        "Unable to find shared memory region: 'nowhere'",
      ],
      [
        { inputs: [input({ shared_memory_region: 'e_in', shared_memory_byte_size: 64, shared_memory_offset: 64 })] },
        400,
        "Invalid offset for shared memory region: 'e_in'",
      ],
      [
        { inputs: [input({ shared_memory_region: 'e_in', shared_memory_byte_size: 64, shared_memory_offset: 4 })] },
        400,
        "Invalid offset + byte size for shared memory region: 'e_in'",
      ],
      // No byte size: Triton's HTTP front end reads 0, which the size check then reports.
      [
        { inputs: [input({ shared_memory_region: 'e_in' })] },
        400,
        "input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 0",
      ],
      [
        {
          inputs: [input({ shared_memory_region: 'e_in', shared_memory_byte_size: 64 })],
          outputs: [{ name: 'OUTPUT0', parameters: { shared_memory_region: 'e_in', shared_memory_byte_size: 32 } }],
        },
        400,
        "shared memory size specified with the request for output 'OUTPUT0' (32 bytes) should be at least 64 bytes to hold the results",
      ],
      [
        {
          inputs: [input({ shared_memory_region: 'e_in', shared_memory_byte_size: 64 })],
          outputs: [
            {
              name: 'OUTPUT0',
              parameters: { shared_memory_region: 'e_in', shared_memory_byte_size: 64, binary_data: true },
            },
          ],
        },
        400,
        "Output can't set both 'shared_memory_region' and 'binary_data'",
      ],
      [
        {
          inputs: [input({ shared_memory_region: 'e_in', shared_memory_byte_size: 64 })],
          outputs: [
            {
              name: 'OUTPUT0',
              parameters: { shared_memory_region: 'e_in', shared_memory_byte_size: 64, classification: 2 },
            },
          ],
        },
        400,
        "Output can't set both 'shared_memory_region' and 'classification'",
      ],
      [
        { inputs: [input({ shared_memory_region: 7, shared_memory_byte_size: 64 })] },
        400,
        "Unable to parse 'shared_memory_region': expected a string",
      ],
    ];
    for (const [body, code, error] of cases) {
      const r = await app.inject(postJson('/v2/models/simple/infer', body));
      assert.equal(r.statusCode, code, error);
      assert.deepEqual(r.json(), { error });
    }
  });
});
