/**
 * BYTES through onnxruntime string tensors: what they can carry goes through byte-exact, what they
 * cannot (a NUL byte ends a C string; JS strings are text) is refused with IG_ERR_INVALID_ARG
 * naming the input and element, never changed (issue #26 item 11).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OrtBackend } from '../../../src/backend/ort/index.js';
import type { LoadedModel } from '../../../src/backend/types.js';
import { InferError, type Tensor } from '../../../src/core/index.js';
import { contractSpec } from '../../contract/backend.contract.js';
import { identityModel, writeModel } from './models.js';

const backend = new OrtBackend({ restartDelaysMs: [0, 30] });
after(() => backend.close());

let loaded: Promise<LoadedModel> | undefined;
/** One identity string model, y = x, shape [N, 3], for the whole file. */
function model(): Promise<LoadedModel> {
  loaded ??= backend.load({
    ...contractSpec('add-one', writeModel(identityModel('BYTES', [3]))),
    model: 'identity-bytes',
    inputs: [],
    outputs: [],
  });
  return loaded;
}
after(async () => (await loaded)?.dispose());

const enc = new TextEncoder();
function strings(rows: Array<string | Uint8Array>): Tensor {
  const data = rows.map((s) => (typeof s === 'string' ? enc.encode(s) : s));
  return { name: 'x', datatype: 'BYTES', shape: [data.length / 3, 3], data };
}

function refused(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof InferError, String(err));
    assert.equal(err.code, 'IG_ERR_INVALID_ARG', err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('OrtBackend BYTES', () => {
  it('round-trips text byte-exact: "abc", empty, multi-byte, a leading BOM, U+FFFD itself', async () => {
    const m = await model();
    const sent = ['abc', '', 'héllo 日本 🙂', '\ufeffbom', '\ufffd', 'z'].map((s) => enc.encode(s));
    const r = await m.instances[0]!.execute([strings(sent.map((e) => e.slice()))]);
    const y = r.outputs[0]!;
    assert.deepEqual(y.shape, [2, 3]);
    assert.deepEqual(
      (y.data as Uint8Array[]).map((e) => [...e]),
      sent.map((e) => [...e]),
    );
  });

  it('refuses "a\\0b" naming the input and element, and the instance keeps serving', async () => {
    const m = await model();
    const inst = m.instances[0]!;
    await assert.rejects(
      inst.execute([strings(['abc', 'ok', 'a\0b'])]),
      refused(/^input 'x' element 2 contains a NUL byte, which onnxruntime string tensors cannot carry/),
    );
    await assert.rejects(inst.execute([strings(['\0', '', ''])]), refused(/element 0 contains a NUL byte/));
    assert.equal(inst.alive, true);
    const r = await inst.execute([strings(['abc', 'abc', 'abc'])]);
    assert.deepEqual(
      (r.outputs[0]!.data as Uint8Array[]).map((e) => new TextDecoder().decode(e)),
      ['abc', 'abc', 'abc'],
    );
  });

  it('refuses invalid UTF-8 instead of turning it into U+FFFD, element by element', async () => {
    const inst = (await model()).instances[0]!;
    const cases: Array<[Array<string | Uint8Array>, number]> = [
      [['a', Uint8Array.of(0xff), 'c'], 1],
      [['a', 'b', Uint8Array.of(0x61, 0xc3)], 2], // truncated 2-byte sequence at the very end
      [['€', Uint8Array.of(0xed, 0xa0, 0x80), 'x'], 1], // an encoded surrogate
      // Each element alone is broken, their concatenation is valid "é": the check is per element.
      [['a', Uint8Array.of(0xc3), Uint8Array.of(0xa9)], 1],
    ];
    for (const [rows, index] of cases)
      await assert.rejects(
        inst.execute([strings(rows)]),
        refused(new RegExp(`^input 'x' element ${index} is not valid UTF-8, which onnxruntime string tensors`)),
      );
  });

  it('a batch joined in the worker names the element within its request', async () => {
    const inst = (await model()).instances[0]!;
    await assert.rejects(
      inst.executeBatch!([[strings(['a', 'b', 'c'])], [strings(['d', 'e', 'f', 'g', 'h\0', 'i'])]]),
      refused(/^input 'x' element 4 of one of the 2 requests batched together contains a NUL byte/),
    );
    const r = await inst.executeBatch!([[strings(['a', 'b', 'c'])], [strings(['d', 'e', 'f'])]]);
    assert.deepEqual(
      (r.outputs[0]!.data as Uint8Array[]).map((e) => new TextDecoder().decode(e)),
      ['a', 'b', 'c', 'd', 'e', 'f'],
    );
  });
});
