// Model encryption at rest: one writer (supply/encrypt.ts), two readers (supply's decrypt and the
// worker's modelForOrt), and the three ways opening fails, each with its own reason.
import assert from 'node:assert/strict';
import { createHash, createSecretKey, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { modelForOrt } from '../../../src/backend/ort/worker-model.js';
import {
  decrypt,
  encryptFile,
  generateModelKey,
  headerKeyId,
  loadModelKey,
  modelKeyId,
  parseModelKey,
} from '../../../src/supply/encrypt.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

const key = parseModelKey(generateModelKey(), 'test key');
const other = createSecretKey(randomBytes(32));
const plain = randomBytes(3 << 20); // spans several 1 MiB stream chunks
writeFileSync(join(dir, 'model.onnx'), plain);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('encryptFile / decrypt', () => {
  it('round-trips, and the worker reads the same format from a shared buffer', async () => {
    await encryptFile(join(dir, 'model.onnx'), join(dir, 'model.onnx.enc'), key);
    const sealed = readFileSync(join(dir, 'model.onnx.enc'));
    assert.equal(sealed.subarray(0, 6).toString('latin1'), 'IGENC1');
    assert.equal(headerKeyId(sealed), modelKeyId(key).toString('hex'));
    assert.equal(sealed.indexOf(plain.subarray(0, 64)), -1, 'no plaintext in the envelope');
    assert.deepEqual(decrypt(sealed, key), plain);
    const shared = new Uint8Array(new SharedArrayBuffer(sealed.length));
    shared.set(sealed);
    assert.deepEqual(Buffer.from(modelForOrt({ bytes: shared, sha256: sha(sealed), key })), plain);
  });

  it('names a wrong key, a tampered file and a truncated one differently, with no stack or bytes', () => {
    const sealed = readFileSync(join(dir, 'model.onnx.enc'));
    const tampered = Buffer.from(sealed);
    tampered[tampered.length >> 1]! ^= 0x40;
    const cases: Array<[Buffer, typeof key, RegExp]> = [
      [sealed, other, /encrypted with a different key/],
      [tampered, key, /does not authenticate: it was altered or truncated/],
      [sealed.subarray(0, 30), key, /truncated/],
      [plain, key, /not encrypted/],
    ];
    for (const [bytes, k, reason] of cases) {
      assert.throws(
        () => decrypt(bytes, k),
        (err: Error) => reason.test(err.message) && !/\n\s+at /.test(err.message),
      );
      assert.throws(() => modelForOrt({ bytes, sha256: sha(bytes), key: k }), reason);
    }
  });

  it('the worker refuses bytes whose hash is not the verified one', () => {
    assert.throws(
      () => modelForOrt({ bytes: plain, sha256: sha(Buffer.from('other')) }),
      /do not match their verified hash/,
    );
  });

  it('reads the key from a file or INFERGATE_MODEL_KEY, and refuses one that is not 32 bytes', async () => {
    const file = join(dir, 'model.key');
    writeFileSync(file, `${key.export().toString('base64')}\n`);
    assert.equal(modelKeyId((await loadModelKey(file))!).toString('hex'), modelKeyId(key).toString('hex'));
    const fromEnv = await loadModelKey(undefined, { INFERGATE_MODEL_KEY: key.export().toString('base64') });
    assert.ok(fromEnv?.equals(key));
    assert.equal(await loadModelKey(undefined, {}), undefined);
    assert.throws(() => parseModelKey(randomBytes(16).toString('base64'), 'k'), /32 bytes/);
  });
});
