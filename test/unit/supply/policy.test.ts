// The supply policy's decisions per version: per-model require_signed, encryption settings, other
// backends untouched, and a signed model with external data loading from its verified bytes.
import assert from 'node:assert/strict';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OrtBackend } from '../../../src/backend/ort/backend.js';
import type { OrtInstance } from '../../../src/backend/ort/instance.js';
import type { InstanceEvent } from '../../../src/backend/types.js';
import { encryptFile, generateModelKey, parseModelKey } from '../../../src/supply/encrypt.js';
import { signVersion } from '../../../src/supply/manifest.js';
import { SupplyPolicy, type SupplyFileRef } from '../../../src/supply/policy.js';
import { contractSpec } from '../../contract/backend.contract.js';
import { externalModel, floats, signingPair, tempDir, writeVersion } from './helpers.js';

process.env['INFERGATE_TEST_HOOKS'] = '1';

const root = tempDir();
after(() => rmSync(root, { recursive: true, force: true }));
const signer = signingPair();
let n = 0;

/** A fresh version (y = x + 1) and the reference the repository would pass for it. */
function ref(parameters: Record<string, string> = {}, backend = 'onnxruntime'): SupplyFileRef {
  const model = `p${++n}`;
  const versionDir = writeVersion(root, model, 1, 1);
  return { model, version: 1, backend, versionDir, path: join(versionDir, 'model.onnx'), parameters };
}

const sign = (f: SupplyFileRef) =>
  signVersion(f.versionDir, { model: f.model, version: 1, privateKeyPem: signer.privateKeyPem });

describe('SupplyPolicy', () => {
  const perModel = new SupplyPolicy({ trustedPublicKeys: [signer.publicKey] });

  it('loads an unsigned plain model from its path, and leaves other backends alone', async () => {
    assert.equal(await perModel.open(ref()), undefined);
    const other = ref({}, 'fake');
    writeFileSync(other.path, 'not onnx at all, with a location key');
    assert.equal(await perModel.open(other), undefined);
  });

  it("per model (require_signed: 'true'): refuses the unsigned version, loads the signed one from bytes", async () => {
    await assert.rejects(
      perModel.open(ref({ require_signed: 'true' })),
      /failed to load model 'p\d+' version 1: .*not signed/,
    );
    const f = ref({ require_signed: 'true' });
    await sign(f);
    const opened = await perModel.open(f);
    assert.deepEqual(Buffer.from(opened!.bytes), readFileSync(f.path));
    assert.equal(opened!.key, undefined);
  });

  it('names a bad parameter value and a missing trusted key', async () => {
    await assert.rejects(
      perModel.open(ref({ require_signed: 'maybe' })),
      /parameter 'require_signed' must be a boolean/,
    );
    await assert.rejects(
      new SupplyPolicy().open(ref({ require_signed: '1' })),
      /a signed manifest is required but no trusted key is configured/,
    );
  });

  it('refuses a model configured as encrypted that is not, and an encrypted one without a key', async () => {
    await assert.rejects(
      perModel.open(ref({ model_encrypted: 'true' })),
      /configured as encrypted but the file has no IGENC1/,
    );
    const f = ref();
    await encryptFile(f.path, `${f.path}.enc`, parseModelKey(generateModelKey(), 'k'));
    await assert.rejects(perModel.open({ ...f, path: `${f.path}.enc` }), /encrypted but no model key is configured/);
  });
});

describe('a signed model with external data', () => {
  const backend = new OrtBackend();
  after(() => backend.close());

  it('loads from its verified bytes, onnxruntime reading the external file inside the version folder', async () => {
    const f = ref();
    writeFileSync(f.path, externalModel({ location: 'weights.bin', offset: '0', length: '16' }));
    writeFileSync(join(f.versionDir, 'weights.bin'), floats(1, 2, 3, 4));
    await sign(f);
    const opened = await new SupplyPolicy({ requireSigned: true, trustedPublicKeys: [signer.publicKey] }).open(f);
    assert.equal(opened?.externalDataDir, f.versionDir);
    const io = await backend.inspect('not used: the bytes load', opened);
    assert.deepEqual(
      io.inputs.map((i) => i.name),
      ['x'],
    );
  });

  it('accepts a hardlinked external file only when its content was verified by the manifest', async () => {
    const outside = join(root, 'blob.bin');
    writeFileSync(outside, floats(1, 2, 3, 4));
    const f = ref();
    writeFileSync(f.path, externalModel({ location: 'weights.bin' }));
    linkSync(outside, join(f.versionDir, 'weights.bin'));
    await assert.rejects(new SupplyPolicy().open(f), /is a hardlink/);
    await sign(f);
    const signedPolicy = new SupplyPolicy({ requireSigned: true, trustedPublicKeys: [signer.publicKey] });
    assert.equal((await signedPolicy.open(f))?.externalDataDir, f.versionDir);
  });
});

describe('a version loaded from bytes', () => {
  const backend = new OrtBackend({ restartDelaysMs: [0, 30] });
  after(() => backend.close());

  it('restarts a crashed instance from the same verified bytes, even with the file gone', async () => {
    const f = ref();
    await sign(f);
    const source = await new SupplyPolicy({ requireSigned: true, trustedPublicKeys: [signer.publicKey] }).open(f);
    const events: InstanceEvent[] = [];
    const m = await backend.load({ ...contractSpec('add-one', f.path), source }, { onEvent: (e) => events.push(e) });
    try {
      rmSync(f.path);
      (m.instances[0] as OrtInstance).crashForTest();
      for (let i = 0; i < 200 && !events.some((e) => e.type === 'restart'); i++)
        await new Promise((r) => setTimeout(r, 25));
      assert.ok(
        events.some((e) => e.type === 'restart'),
        JSON.stringify(events),
      );
      const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) };
      const r = await m.instances[0]!.execute([x]);
      assert.deepEqual([...(r.outputs[0]!.data as Float32Array)], [1, 1, 1, 1]);
    } finally {
      await m.dispose();
    }
  });
});
