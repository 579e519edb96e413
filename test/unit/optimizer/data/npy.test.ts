import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { npyFloat64, parseNpy, parseNpyFloat64 } from '../../../../src/optimizer/data/npy.js';
import { npyBytes } from '../../../fixtures-gen/npz-write.js';

/** .npy bytes with any descr and header version (1 or 2). */
function npy(descr: string, shape: number[], body: Uint8Array, version = 1, fortran = false): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${dims}), }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat(63 - ((pre + header.length) % 64)) + '\n';
  const head = Buffer.alloc(pre);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = version;
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}
const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('the one .npy reader', () => {
  it('reads float32 rows as the optimizer and infer see them', () => {
    const a = parseNpy(npyBytes([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6])));
    assert.equal(a.datatype, 'FP32');
    assert.deepEqual(a.shape, [2, 3]);
    assert.deepEqual(Array.from(a.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(npyFloat64(a)), [1, 2, 3, 4, 5, 6]);
  });

  it('reads every numeric dtype, version 2 headers and scalars', () => {
    const i8 = parseNpy(npy('<i8', [2], bytes(BigInt64Array.from([-3n, 7n]))));
    assert.equal(i8.datatype, 'INT64');
    assert.deepEqual(Array.from(npyFloat64(i8)), [-3, 7]);
    const u1 = parseNpy(npy('|u1', [3], Uint8Array.from([0, 128, 255]), 2));
    assert.deepEqual([u1.datatype, Array.from(npyFloat64(u1))], ['UINT8', [0, 128, 255]]);
    const half = parseNpyFloat64(npy('<f2', [2], bytes(Uint16Array.from([0x3c00, 0xc000]))));
    assert.deepEqual(Array.from(half.data), [1, -2]);
    const bool = parseNpy(npy('|b1', [2], Uint8Array.from([1, 0])));
    assert.equal(bool.datatype, 'BOOL');
    const f8 = parseNpyFloat64(npy('<f8', [], bytes(Float64Array.from([2.5]))));
    assert.deepEqual([f8.shape, Array.from(f8.data)], [[], [2.5]]);
  });

  it('refuses what it cannot read, naming the source', () => {
    assert.throws(() => parseNpy(Buffer.from('not numpy at all'), 'x.npy'), /x\.npy: not a \.npy file/);
    assert.throws(
      () => parseNpy(npy('>f4', [1], new Uint8Array(4)), 'be.npy'),
      /be\.npy: unsupported \.npy dtype '>f4'/,
    );
    assert.throws(() => parseNpy(npy('<f4', [2], new Uint8Array(8), 1, true), 'f.npy'), /f\.npy: Fortran-ordered/);
    assert.throws(() => parseNpy(npy('<f4', [4], new Uint8Array(8)), 't.npy'), /t\.npy: \.npy data is truncated/);
  });
});
