// System shared memory over gRPC (protocol.md B.8) against the real services: the register /
// status / unregister rpcs, ModelInfer with inputs read from and outputs written to regions (raw
// entries then belong to the other inputs only), and Triton's texts for what goes wrong. Regions
// live in a private directory standing in for /dev/shm.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { encodeBytesElements } from '../../../../src/core/index.js';
import { SystemSharedMemory } from '../../../../src/protocol/common/shm-regions.js';
import { grpcError, type Harness, startHarness } from './harness.js';

let h: Harness;
let dir: string;
let regions: SystemSharedMemory;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ig-grpc-shm-'));
  regions = new SystemSharedMemory({ dir });
  h = await startHarness({ sharedMemory: regions });
});
after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

const str = (value: string) => ({ parameterChoice: { case: 'stringParam' as const, value } });
const i64 = (value: number) => ({ parameterChoice: { case: 'int64Param' as const, value: BigInt(value) } });
type Params = Record<string, ReturnType<typeof str> | ReturnType<typeof i64>>;
const shmParams = (region: string, byteSize: number, offset = 0) => ({
  shared_memory_region: str(region),
  shared_memory_byte_size: i64(byteSize),
  ...(offset === 0 ? {} : { shared_memory_offset: i64(offset) }),
});
const int32Bytes = (values: number[]) => new Uint8Array(new Int32Array(values).buffer);
const fileInt32s = (name: string, from: number, to: number) => [
  ...new Int32Array(Uint8Array.from(readFileSync(join(dir, name)).subarray(from, to)).buffer),
];

async function register(name: string, file: string, bytes: Uint8Array, offset = 0, size = bytes.byteLength - offset) {
  writeFileSync(join(dir, file), bytes);
  await h.call('systemSharedMemoryRegister', { name, key: `/${file}`, offset: BigInt(offset), byteSize: BigInt(size) });
}

describe('SystemSharedMemory rpcs', () => {
  it("register, status (Triton's map by name), unregister one and all", async () => {
    await register('st_a', 'st_obj', new Uint8Array(64), 16, 32);
    await register('st_b', 'st_obj', new Uint8Array(64), 0, 64);
    const all = await h.call('systemSharedMemoryStatus', {});
    assert.deepEqual(Object.keys(all.regions).sort(), ['st_a', 'st_b']);
    const a = all.regions.st_a;
    assert.deepEqual([a?.name, a?.key, a?.offset, a?.byteSize], ['st_a', '/st_obj', 16n, 32n]);
    const one = await h.call('systemSharedMemoryStatus', { name: 'st_b' });
    assert.deepEqual(Object.keys(one.regions), ['st_b']);
    const dup = await grpcError(h.call('systemSharedMemoryRegister', { name: 'st_a', key: '/st_obj', byteSize: 8n }));
    assert.equal(dup.code, status.ALREADY_EXISTS);
    assert.equal(dup.details, "shared memory region 'st_a' already in manager");
    await h.call('systemSharedMemoryUnregister', { name: 'st_a' });
    const missing = await grpcError(h.call('systemSharedMemoryStatus', { name: 'st_a' }));
    assert.equal(missing.code, status.NOT_FOUND);
    assert.equal(missing.details, "Unable to find system shared memory region: 'st_a'");
    await h.call('systemSharedMemoryUnregister', {});
    assert.deepEqual((await h.call('systemSharedMemoryStatus', {})).regions, {});
  });

  it("out of bounds register: Triton's invalid args; a missing key: Unable to open", async () => {
    writeFileSync(join(dir, 'oob_obj'), new Uint8Array(16));
    const oob = await grpcError(
      h.call('systemSharedMemoryRegister', { name: 'oob', key: '/oob_obj', offset: 8n, byteSize: 16n }),
    );
    assert.equal(oob.code, status.INVALID_ARGUMENT);
    assert.equal(oob.details, "failed to register shared memory region 'oob': invalid args");
    const gone = await grpcError(h.call('systemSharedMemoryRegister', { name: 'g', key: '/absent', byteSize: 4n }));
    assert.equal(gone.code, status.INVALID_ARGUMENT);
    assert.match(gone.details, /^Unable to open shared memory region: '\/absent': no such shared memory object/);
  });
});

describe('ModelInfer with shared memory', () => {
  it('input A from a region, B raw, OA into a region at an offset, OB raw', async () => {
    await register('in_a', 'io_in', int32Bytes([0, 0, 1, 2, 3]), 8, 12);
    await register('out_a', 'io_out', new Uint8Array(32));
    const res = await h.call('modelInfer', {
      modelName: 'two',
      inputs: [
        { name: 'A', datatype: 'INT32', shape: [3n], parameters: shmParams('in_a', 12) },
        { name: 'B', datatype: 'INT32', shape: [2n] },
      ],
      outputs: [{ name: 'OA', parameters: shmParams('out_a', 16, 4) }, { name: 'OB' }],
      rawInputContents: [int32Bytes([7, 8])],
    });
    const oa = res.outputs.findIndex((o) => o.name === 'OA');
    const ob = res.outputs.findIndex((o) => o.name === 'OB');
    assert.deepEqual(res.outputs[oa]?.shape, [3n]);
    assert.equal(res.rawOutputContents[oa]?.byteLength, 0, 'no data for an output in shared memory');
    const p = res.outputs[oa]?.parameters ?? {};
    assert.equal(p.shared_memory_region?.parameterChoice.value, 'out_a');
    assert.equal(p.shared_memory_byte_size?.parameterChoice.value, 16n);
    assert.equal(p.shared_memory_offset?.parameterChoice.value, 4n);
    assert.deepEqual(fileInt32s('io_out', 4, 16), [1, 2, 3]);
    assert.deepEqual([...new Int32Array(Uint8Array.from(res.rawOutputContents[ob] ?? []).buffer)], [7, 8]);
  });

  it('BYTES in and out through regions (length-prefixed layout)', async () => {
    const items = [new TextEncoder().encode('héllo'), new Uint8Array(0), new Uint8Array([0, 255])];
    const wire = encodeBytesElements(items);
    await register('bytes_in', 'bytes_in_obj', wire);
    await register('bytes_out', 'bytes_out_obj', new Uint8Array(64));
    await h.call('modelInfer', {
      modelName: 'echo_bytes',
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [3n], parameters: shmParams('bytes_in', wire.byteLength) }],
      outputs: [{ name: 'OUTPUT0', parameters: shmParams('bytes_out', 64) }],
    });
    assert.deepEqual([...readFileSync(join(dir, 'bytes_out_obj')).subarray(0, wire.byteLength)], [...wire]);
  });

  it("Triton's texts for malformed shared-memory parameters", async () => {
    const cases: Array<[Params, RegExp]> = [
      [
        { shared_memory_region: i64(1), shared_memory_byte_size: i64(8) },
        /^invalid value type for 'shared_memory_region' parameter for tensor 'A', expected string_param\.$/,
      ],
      [
        { shared_memory_region: str('in_a') },
        /^'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'A'$/,
      ],
      [
        { shared_memory_offset: i64(0) },
        /^'shared_memory_offset' can not be specified without 'shared_memory_region' parameter for tensor 'A'$/,
      ],
      [
        { shared_memory_region: str('in_a'), shared_memory_byte_size: str('8') },
        /^invalid value type for 'shared_memory_byte_size' parameter for tensor 'A', expected int64_param\.$/,
      ],
    ];
    for (const [parameters, text] of cases) {
      const err = await grpcError(
        h.call('modelInfer', { modelName: 'two', inputs: [{ name: 'A', datatype: 'INT32', shape: [2n], parameters }] }),
      );
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, text);
    }
    const withContents = await grpcError(
      h.call('modelInfer', {
        modelName: 'two',
        inputs: [
          {
            name: 'A',
            datatype: 'INT32',
            shape: [1n],
            parameters: shmParams('in_a', 4),
            contents: { intContents: [1] },
          },
        ],
      }),
    );
    assert.equal(
      withContents.details,
      "unexpected 'content' provided when using shared memory for input tensor 'A' for model 'two'",
    );
  });

  it("Triton's texts for regions: unknown, offset past the end, size mismatch, output too small", async () => {
    await register('small', 'small_obj', int32Bytes([1, 2]));
    const infer = (a: Params, outputs: unknown[] = []) =>
      grpcError(
        h.call('modelInfer', {
          modelName: 'two',
          inputs: [
            { name: 'A', datatype: 'INT32', shape: [2n], parameters: a },
            { name: 'B', datatype: 'INT32', shape: [1n], contents: { intContents: [5] } },
          ],
          outputs: outputs as never,
        }),
      );
    const unknown = await infer(shmParams('nowhere', 8));
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.equal(unknown.details, "Unable to find shared memory region: 'nowhere'");
    const offset = await infer(shmParams('small', 4, 8));
    assert.equal(offset.details, "Invalid offset for shared memory region: 'small'");
    const range = await infer(shmParams('small', 8, 4));
    assert.equal(range.details, "Invalid offset + byte size for shared memory region: 'small'");
    const mismatch = await infer(shmParams('small', 4));
    assert.equal(mismatch.details, "input byte size mismatch for input 'A' for model 'two'. Expected 8, got 4");
    const tooSmall = await infer(shmParams('small', 8), [{ name: 'OA', parameters: shmParams('small', 4) }]);
    assert.equal(tooSmall.code, status.INVALID_ARGUMENT);
    assert.equal(
      tooSmall.details,
      "shared memory size specified with the request for output 'OA' (4 bytes) should be at least 8 bytes to hold the results",
    );
    const both = await infer(shmParams('small', 8), [
      { name: 'OA', parameters: { ...shmParams('small', 8), classification: i64(1) } },
    ]);
    assert.equal(both.details, "output can't set both 'shared_memory_region' and 'classification'");
    // Failed calls hold nothing: unregistering closes every descriptor at once.
    await h.call('systemSharedMemoryUnregister', {});
    assert.equal(regions.openFiles, 0);
  });
});
