// Signed manifests (reliability.md S11): each tampering case is refused with its own reason.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { InferError } from '../../../src/core/index.js';
import { canonicalJson, signVersion, verifyVersion } from '../../../src/supply/manifest.js';
import { externalModel, floats, signingPair, tempDir, writeVersion } from './helpers.js';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));

const signer = signingPair();
const stranger = signingPair();
const trusted = [signer.publicKey];

/** A freshly signed version directory of `model` (y = x + version). */
async function signed(model: string, version = 1, extra?: (dir: string) => void): Promise<string> {
  const dir = writeVersion(root, model, version, version);
  extra?.(dir);
  await signVersion(dir, { model, version, privateKeyPem: signer.privateKeyPem });
  return dir;
}

/** Asserts verification fails with IG_ERR_MODEL_LOAD and a reason matching `reason`. */
async function refused(dir: string, model: string, version: number, reason: RegExp, keys = trusted): Promise<void> {
  await assert.rejects(verifyVersion(dir, { model, version, trustedPublicKeys: keys }), (err: unknown) => {
    assert.ok(err instanceof InferError, String(err));
    assert.equal(err.code, 'IG_ERR_MODEL_LOAD');
    assert.match(err.message, /^signed manifest check failed: /);
    assert.match(err.message, reason);
    return true;
  });
}

describe('signVersion / verifyVersion', () => {
  it('verifies an untouched version and keeps the model bytes exactly as hashed', async () => {
    const dir = await signed('intact');
    const v = await verifyVersion(dir, {
      model: 'intact',
      version: 1,
      trustedPublicKeys: trusted,
      keep: ['model.onnx'],
    });
    const onDisk = readFileSync(join(dir, 'model.onnx'));
    const sha = createHash('sha256').update(onDisk).digest('hex');
    assert.equal(v.files.get('model.onnx'), sha);
    assert.deepEqual(Buffer.from(v.kept.get('model.onnx')!), onDisk);
    assert.ok(v.kept.get('model.onnx')!.buffer instanceof SharedArrayBuffer, 'kept bytes are shareable with workers');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.format, 'infergate-manifest/1');
    assert.deepEqual(
      manifest.files.map((f: { path: string }) => f.path),
      ['model.onnx'],
    );
  });

  it('refuses a model file with one byte flipped, naming the file', async () => {
    const dir = await signed('flip');
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    await refused(dir, 'flip', 1, /file changed: 'model\.onnx'/);
  });

  it('refuses a file added after signing, naming it', async () => {
    const dir = await signed('added');
    writeFileSync(join(dir, 'extra.bin'), 'not signed');
    await refused(dir, 'added', 1, /file added: 'extra\.bin'/);
  });

  it('refuses a file removed after signing, naming it', async () => {
    const dir = await signed('removed', 1, (d) => writeFileSync(join(d, 'labels.txt'), 'a\nb\n'));
    rmSync(join(dir, 'labels.txt'));
    await refused(dir, 'removed', 1, /file removed: 'labels\.txt'/);
  });

  it('refuses swapped external data (same sizes, contents exchanged)', async () => {
    const dir = await signed('swap', 1, (d) => {
      writeFileSync(join(d, 'model.onnx'), externalModel({ location: 'a.bin' }));
      writeFileSync(join(d, 'a.bin'), floats(1, 2, 3, 4));
      writeFileSync(join(d, 'b.bin'), floats(5, 6, 7, 8));
    });
    renameSync(join(dir, 'a.bin'), join(dir, 'tmp.bin'));
    renameSync(join(dir, 'b.bin'), join(dir, 'a.bin'));
    renameSync(join(dir, 'tmp.bin'), join(dir, 'b.bin'));
    await refused(dir, 'swap', 1, /file changed: 'a\.bin'/);
  });

  it('refuses a manifest signed by a key that is not trusted', async () => {
    const dir = await signed('wrongkey');
    await refused(dir, 'wrongkey', 1, /not signed by a trusted key/, [stranger.publicKey]);
  });

  it('refuses a manifest edited after signing (signature no longer matches)', async () => {
    const dir = await signed('edited');
    const path = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8'));
    m.files[0].sha256 = createHash('sha256').update('other').digest('hex');
    writeFileSync(path, JSON.stringify(m));
    await refused(dir, 'edited', 1, /manifest or its signature was altered/);
  });

  it('refuses a valid signature for another model name', async () => {
    const dir = writeVersion(root, 'victim', 1, 1);
    await signVersion(dir, { model: 'attacker', version: 1, privateKeyPem: signer.privateKeyPem });
    await refused(dir, 'victim', 1, /manifest is for model 'attacker', not 'victim'/);
  });

  it('refuses a valid signature for another version (a signed version copied to a new number)', async () => {
    const v1 = await signed('renumbered', 1);
    const v2 = join(root, 'renumbered', '2');
    cpSync(v1, v2, { recursive: true });
    await refused(v2, 'renumbered', 2, /manifest is for version 1, not 2/);
  });

  it('refuses a version without a manifest, and a symlink inside the version', async () => {
    const unsigned = writeVersion(root, 'unsigned', 1, 1);
    await refused(unsigned, 'unsigned', 1, /no manifest\.json .*not signed/);
    const dir = await signed('linked');
    symlinkSync('/etc/hostname', join(dir, 'link.bin'));
    await refused(dir, 'linked', 1, /symlink 'link\.bin' in the version directory is not allowed/);
  });

  it('refuses a signature that is not base64 Ed25519', async () => {
    const dir = await signed('badsig');
    writeFileSync(join(dir, 'manifest.sig'), 'not a signature');
    await refused(dir, 'badsig', 1, /manifest\.sig is not an Ed25519 signature/);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level, so key order in the file never changes the signed bytes', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }] }), '{"a":[{"c":"x","d":2}],"b":1}');
  });
});
