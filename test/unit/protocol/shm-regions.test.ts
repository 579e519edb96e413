// The system shared-memory region table (protocol/common/shm-regions.ts) and one call's use of it
// (shm-call.ts), on real files in a private directory standing in for /dev/shm: register, bounds,
// bad keys, symlinks and other non-files refused, unregister while a call holds a region.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferError, type InferRequest } from '../../../src/core/index.js';
import { ShmCall, type ShmPlan } from '../../../src/protocol/common/shm-call.js';
import { shmKeyPath, SystemSharedMemory } from '../../../src/protocol/common/shm-regions.js';

let dir: string;
let outside: string;
before(() => {
  const root = mkdtempSync(join(tmpdir(), 'ig-shm-'));
  dir = join(root, 'shm');
  outside = join(root, 'secret.bin');
  mkdirSync(dir);
  writeFileSync(outside, Buffer.alloc(64, 7));
});
after(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

/** A shared-memory object of `bytes` under the test directory; returns its key. */
function object(name: string, bytes: Uint8Array | number): string {
  writeFileSync(join(dir, name), typeof bytes === 'number' ? Buffer.alloc(bytes) : bytes);
  return `/${name}`;
}

/** INT32 values of bytes [from, to) of an object (a copy: readFileSync may return a pooled Buffer). */
function int32s(name: string, from: number, to: number): number[] {
  return [...new Int32Array(Uint8Array.from(readFileSync(join(dir, name)).subarray(from, to)).buffer)];
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<InferError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(err instanceof InferError, String(err));
    return err;
  }
  assert.fail('expected a refusal');
}

describe('register, status, unregister', () => {
  it("registers a range, lists regions by name with Triton's fields, unregisters one or all", async () => {
    const shm = new SystemSharedMemory({ dir });
    const key = object('status_obj', 128);
    await shm.register('b_region', key, 0, 64);
    await shm.register('a_region', key, 64, 64);
    assert.deepEqual(shm.status(), [
      { name: 'a_region', key, offset: 64, byteSize: 64 },
      { name: 'b_region', key, offset: 0, byteSize: 64 },
    ]);
    assert.deepEqual(shm.status('b_region'), [{ name: 'b_region', key, offset: 0, byteSize: 64 }]);
    assert.equal(shm.openFiles, 2);
    const missing = await refusal(() => shm.status('nope'));
    assert.equal(missing.code, 'IG_ERR_SHM_NOT_FOUND');
    assert.equal(missing.message, "Unable to find system shared memory region: 'nope'");
    shm.unregister('b_region');
    shm.unregister('never_registered'); // not an error, as in Triton
    assert.deepEqual(
      shm.status().map((r) => r.name),
      ['a_region'],
    );
    shm.unregisterAll();
    assert.deepEqual(shm.status(), []);
    assert.equal(shm.openFiles, 0);
  });

  it("a taken name is Triton's ALREADY_EXISTS; bigint sizes (gRPC uint64) are accepted", async () => {
    const shm = new SystemSharedMemory({ dir });
    const key = object('dup_obj', 16);
    await shm.register('dup', key, 0n, 16n);
    const err = await refusal(shm.register('dup', key, 0, 8));
    assert.equal(err.code, 'IG_ERR_SHM_EXISTS');
    assert.equal(err.message, "shared memory region 'dup' already in manager");
    // Two registrations racing for one name: the second is refused while the first opens its file.
    const [first, second] = await Promise.allSettled([
      shm.register('race', key, 0, 8),
      shm.register('race', key, 0, 8),
    ]);
    assert.equal(first.status, 'fulfilled');
    assert.equal(second.status, 'rejected');
    shm.close();
  });

  it("offset + byte_size beyond the object, zero bytes, or unsafe sizes: Triton's invalid args", async () => {
    const shm = new SystemSharedMemory({ dir });
    const key = object('small_obj', 32);
    for (const [offset, size] of [
      [0, 33],
      [16, 17],
      [32, 1],
      [0, 0],
      [0n, 2n ** 64n - 1n],
    ] as const) {
      const err = await refusal(shm.register('r', key, offset, size));
      assert.equal(err.code, 'IG_ERR_INVALID_ARG');
      assert.equal(err.message, "failed to register shared memory region 'r': invalid args");
    }
    assert.equal(shm.openFiles, 0, 'a refused registration leaves no descriptor open');
  });

  it('at most maxRegions regions, with a clear error past it', async () => {
    const shm = new SystemSharedMemory({ dir, maxRegions: 2 });
    const key = object('limit_obj', 8);
    await shm.register('r1', key, 0, 8);
    await shm.register('r2', key, 0, 8);
    const err = await refusal(shm.register('r3', key, 0, 8));
    assert.equal(err.code, 'IG_ERR_SHM_LIMIT');
    assert.match(err.message, /2 regions are registered, the most this server holds; unregister some first/);
    shm.unregister('r1');
    await shm.register('r3', key, 0, 8);
    shm.close();
  });
});

describe('keys: one object directly under the directory, never through a link', () => {
  it('maps /name and name to the same file, as shm_open does', () => {
    assert.equal(shmKeyPath('/dev/shm', '/input_data'), '/dev/shm/input_data');
    assert.equal(shmKeyPath('/dev/shm', '//input_data'), '/dev/shm/input_data');
    assert.equal(shmKeyPath('/dev/shm', 'input_data'), '/dev/shm/input_data');
  });

  it('refuses traversal, nested names, empty names and NUL before touching the file system', async () => {
    const shm = new SystemSharedMemory({ dir });
    const bad = ['', '/', '/..', '..', '/.', '/../secret.bin', '/a/b', 'a/../b', '/x\0y', `/${'n'.repeat(256)}`];
    for (const key of bad) {
      const err = await refusal(shm.register('r', key, 0, 1));
      assert.equal(err.code, 'IG_ERR_INVALID_ARG', key);
      assert.ok(err.message.startsWith('Unable to open shared memory region: '), err.message);
    }
  });

  it('refuses a symbolic link (even to a regular file outside), a directory, a FIFO-like non-file, a missing key', async () => {
    const shm = new SystemSharedMemory({ dir });
    symlinkSync(outside, join(dir, 'link_out'));
    object('target_in', 64);
    symlinkSync(join(dir, 'target_in'), join(dir, 'link_in'));
    mkdirSync(join(dir, 'a_dir'));
    const cases: Array<[string, RegExp]> = [
      ['/link_out', /symbolic link/],
      ['/link_in', /symbolic link/],
      ['/a_dir', /regular file|cannot be opened/],
      ['/no_such_key', /no such shared memory object/],
    ];
    for (const [key, why] of cases) {
      const err = await refusal(shm.register('r', key, 0, 8));
      assert.equal(err.code, 'IG_ERR_INVALID_ARG', key);
      assert.match(err.message, new RegExp(`^Unable to open shared memory region: '${key}': `));
      assert.match(err.message, why);
    }
    assert.equal(shm.openFiles, 0);
    assert.deepEqual([...readFileSync(outside)].slice(0, 2), [7, 7], 'the outside file is untouched');
  });
});

describe('one call: bounds, reads, writes, unregister while in use', () => {
  const plan = (
    inputs: ShmPlan['inputs'],
    outputs: Array<[string, ShmPlan['outputs'] extends Map<string, infer R> ? R : never]> = [],
  ): ShmPlan => ({
    inputs,
    outputs: new Map(outputs),
  });
  const request: InferRequest = {
    model: 'simple',
    inputs: [{ name: 'IN', datatype: 'INT32', shape: [4], data: [] }],
    parameters: {},
  };

  it("Triton's bounds texts: unknown region, offset past the end, offset + size past the end", async () => {
    const shm = new SystemSharedMemory({ dir });
    await shm.register('in', object('bounds_obj', 32), 8, 16);
    const cases: Array<[{ region: string; offset: number; byteSize: number }, string, string]> = [
      [
        { region: 'gone', offset: 0, byteSize: 16 },
        'IG_ERR_SHM_NOT_FOUND',
        "Unable to find shared memory region: 'gone'",
      ],
      [
        { region: 'in', offset: 16, byteSize: 0 },
        'IG_ERR_INVALID_ARG',
        "Invalid offset for shared memory region: 'in'",
      ],
      [
        { region: 'in', offset: 4, byteSize: 16 },
        'IG_ERR_INVALID_ARG',
        "Invalid offset + byte size for shared memory region: 'in'",
      ],
    ];
    for (const [ref, code, message] of cases) {
      const err = await refusal(() => shm.acquire(ref));
      assert.equal(err.code, code);
      assert.equal(err.message, message);
    }
    shm.close();
  });

  it("reads an input at its offset; a wrong byte size is Triton core's mismatch text", async () => {
    const shm = new SystemSharedMemory({ dir });
    const bytes = new Uint8Array(new Int32Array([9, 9, 1, 2, 3, 4]).buffer);
    await shm.register('in', object('read_obj', bytes), 8, 16);
    const ok = plan([
      { index: 0, name: 'IN', datatype: 'INT32', shape: [4], ref: { region: 'in', offset: 0, byteSize: 16 } },
    ]);
    const call = await ShmCall.open(shm, ok, request);
    assert.deepEqual(Array.from(call.request.inputs[0]?.data as Int32Array), [1, 2, 3, 4]);
    assert.deepEqual(request.inputs[0]?.data, [], 'the decoded request is not mutated');
    call.release();
    const wrong = plan([
      { index: 0, name: 'IN', datatype: 'INT32', shape: [4], ref: { region: 'in', offset: 0, byteSize: 8 } },
    ]);
    const err = await refusal(ShmCall.open(shm, wrong, request));
    assert.equal(err.message, "input byte size mismatch for input 'IN' for model 'simple'. Expected 16, got 8");
    shm.close();
    assert.equal(shm.openFiles, 0, 'a refused call holds nothing');
  });

  it("writes outputs into their slices; an output larger than its slice is Triton's text", async () => {
    const shm = new SystemSharedMemory({ dir });
    const key = object('write_obj', 32);
    await shm.register('out', key, 0, 32);
    const p = plan([], [['OUT', { region: 'out', offset: 8, byteSize: 16 }]]);
    const call = await ShmCall.open(shm, p, { model: 'm', inputs: [], parameters: {} });
    const out = { name: 'OUT', datatype: 'INT32' as const, shape: [4], data: new Int32Array([5, 6, 7, 8]) };
    const params = await call.writeOutputs({ model: 'm', version: '1', outputs: [out] });
    assert.deepEqual(params.get('OUT'), {
      shared_memory_region: 'out',
      shared_memory_byte_size: 16,
      shared_memory_offset: 8,
    });
    assert.deepEqual(int32s('write_obj', 8, 24), [5, 6, 7, 8]);
    const big = { ...out, shape: [5], data: new Int32Array(5) };
    const err = await refusal(call.writeOutputs({ model: 'm', version: '1', outputs: [big] }));
    assert.equal(
      err.message,
      "shared memory size specified with the request for output 'OUT' (16 bytes) should be at least 20 bytes to hold the results",
    );
    call.release();
    shm.close();
  });

  it('unregister while a call holds the region: the call completes, the descriptor closes after it', async () => {
    const shm = new SystemSharedMemory({ dir });
    const bytes = new Uint8Array(new Int32Array([1, 2, 3, 4]).buffer);
    await shm.register('held', object('held_obj', bytes), 0, 16);
    const p = plan(
      [{ index: 0, name: 'IN', datatype: 'INT32', shape: [4], ref: { region: 'held', offset: 0, byteSize: 16 } }],
      [['OUT', { region: 'held', offset: 0, byteSize: 16 }]],
    );
    const call = await ShmCall.open(shm, p, request);
    shm.unregister('held');
    assert.deepEqual(shm.status(), [], 'hidden at once');
    assert.equal(
      (await refusal(() => shm.acquire({ region: 'held', offset: 0, byteSize: 4 }))).code,
      'IG_ERR_SHM_NOT_FOUND',
    );
    assert.equal(shm.openFiles, 1, 'still open for the call');
    const out = { name: 'OUT', datatype: 'INT32' as const, shape: [4], data: new Int32Array([4, 3, 2, 1]) };
    await call.writeOutputs({ model: 'simple', version: '1', outputs: [out] });
    call.release();
    call.release(); // idempotent
    assert.equal(shm.openFiles, 0, 'closed once the call is done');
    assert.deepEqual(int32s('held_obj', 0, 16), [4, 3, 2, 1]);
    // The name is free again.
    await shm.register('held', '/held_obj', 0, 16);
    shm.close();
  });

  it('a region whose object shrank after register: an error, never a short read or a grown file', async () => {
    const shm = new SystemSharedMemory({ dir });
    const key = object('shrink_obj', 32);
    await shm.register('s', key, 0, 32);
    truncateSync(join(dir, 'shrink_obj'), 8);
    const p = plan([
      { index: 0, name: 'IN', datatype: 'INT32', shape: [4], ref: { region: 's', offset: 0, byteSize: 16 } },
    ]);
    const err = await refusal(ShmCall.open(shm, p, request));
    assert.equal(err.message, "shared memory region 's' is smaller than when it was registered");
    const lease = shm.acquire({ region: 's', offset: 16, byteSize: 16 });
    await refusal(lease.write(new Uint8Array(16)));
    lease.release();
    assert.equal(readFileSync(join(dir, 'shrink_obj')).byteLength, 8);
    shm.close();
  });
});
