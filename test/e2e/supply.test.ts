// The model supply chain through a real server (reliability.md S11, issue #14 item 6):
// --require-signed with a trusted key, a tampered version refused while another serves, the
// verified bytes being the loaded bytes when the file is rewritten between verification and
// load, and encrypted models decrypted in memory only.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Tensor } from '../../src/core/index.js';
import { encryptFile, generateModelKey, parseModelKey } from '../../src/supply/encrypt.js';
import { PUBLIC_KEY_FILE, PRIVATE_KEY_FILE, writeSigningPair } from '../../src/supply/keys.js';
import { signVersion } from '../../src/supply/manifest.js';
import { supplyTestHooks, type VerifiedFile } from '../../src/supply/policy.js';
import { addConstModel, addModel, tempRepo } from './models.js';
import { startTestServer, type TestServer } from './server.js';

process.env['INFERGATE_TEST_HOOKS'] = '1';

const ALL_VERSIONS = 'version_policy: { all: {} }\n';
// A constant no other model uses: its float bytes mark the encrypted model's plaintext.
const SEALED_C = 5.123;
const SEALED_MARK = Buffer.from(new Float32Array(4).fill(SEALED_C).buffer);

const started = Date.now();
const repo = tempRepo();
const keys = join(tempRepo(), 'keys');
let s: TestServer;
const verified: VerifiedFile[] = [];
let manifestSha = '';

async function sign(model: string, version: number): Promise<void> {
  const privateKeyPem = readFileSync(join(keys, PRIVATE_KEY_FILE));
  await signVersion(join(repo, model, String(version)), { model, version, privateKeyPem });
}

/** Writes `<model>/1/model.onnx.enc` (c = SEALED_C) under `key`; the plaintext file is removed. */
async function sealed(model: string, keyText: string): Promise<void> {
  addModel(repo, model, 1, addConstModel(SEALED_C));
  const plain = join(repo, model, '1', 'model.onnx');
  await encryptFile(plain, `${plain}.enc`, parseModelKey(keyText, 'key'));
  rmSync(plain);
}

before(async () => {
  await writeSigningPair(keys);
  const modelKey = generateModelKey();
  writeFileSync(join(keys, 'model.key'), modelKey);

  // Two signed versions; version 2 gets one byte flipped after signing.
  addModel(repo, 'signed', 1, addConstModel(1), ALL_VERSIONS);
  addModel(repo, 'signed', 2, addConstModel(2));
  await sign('signed', 1);
  await sign('signed', 2);
  const v2 = join(repo, 'signed', '2', 'model.onnx');
  const bytes = readFileSync(v2);
  bytes[bytes.length - 2]! ^= 0x01;
  writeFileSync(v2, bytes);

  // Rewritten between verification and load by the test seam below.
  addModel(repo, 'toctou', 1, addConstModel(1));
  await sign('toctou', 1);
  manifestSha = JSON.parse(readFileSync(join(repo, 'toctou', '1', 'manifest.json'), 'utf8')).files[0].sha256;
  supplyTestHooks.afterVerify = (f) => {
    verified.push(f);
    if (f.model === 'toctou') writeFileSync(f.path, addConstModel(99));
  };

  // Encrypted: with the server's key, with another key, and with the right key but altered.
  await sealed('sealed', modelKey);
  await sign('sealed', 1);
  await sealed('sealed-wrong-key', generateModelKey());
  await sign('sealed-wrong-key', 1);
  await sealed('sealed-altered', modelKey);
  const enc = join(repo, 'sealed-altered', '1', 'model.onnx.enc');
  const sealedBytes = readFileSync(enc);
  sealedBytes[40]! ^= 0x01;
  writeFileSync(enc, sealedBytes);
  await sign('sealed-altered', 1); // signed after the change: only the envelope can tell

  addModel(repo, 'unsigned', 1, addConstModel(7));

  s = await startTestServer({
    repository: repo,
    requireSigned: true,
    trustedKeys: [join(keys, PUBLIC_KEY_FILE)],
    modelKeyFile: join(keys, 'model.key'),
  });
});

after(async () => {
  delete supplyTestHooks.afterVerify;
  await s?.close();
  rmSync(repo, { recursive: true, force: true });
  rmSync(join(keys, '..'), { recursive: true, force: true });
});

const x: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) };

async function answer(model: string, version?: string): Promise<number[]> {
  const r = await s.http.infer(model, [x], version === undefined ? {} : { version });
  return Array.from(r.outputs[0]!.data as Float32Array);
}

async function index(): Promise<Array<{ name: string; version?: string; state?: string; reason?: string }>> {
  return (await s.http.json('POST', '/v2/repository/index')) as Array<{
    name: string;
    version?: string;
    state?: string;
    reason?: string;
  }>;
}

test('a signed version serves; the same model with one byte flipped in another version does not load', async () => {
  const rows = (await index()).filter((r) => r.name === 'signed');
  const v1 = rows.find((r) => r.version === '1');
  const v2 = rows.find((r) => r.version === '2');
  assert.equal(v1?.state, 'READY');
  assert.equal(v2?.state, 'UNAVAILABLE');
  assert.match(v2?.reason ?? '', /signed manifest check failed: file changed: 'model\.onnx'/);
  assert.doesNotMatch(v2?.reason ?? '', /\/tmp\//, 'no absolute path in the reason');
  assert.deepEqual(await answer('signed'), [1, 1, 1, 1], 'version 1 keeps serving');
  assert.equal(await s.http.status('/v2/models/signed/versions/2/ready'), 400);
});

test('an unsigned model is refused under --require-signed', async () => {
  const row = (await index()).find((r) => r.name === 'unsigned');
  assert.equal(row?.state, 'UNAVAILABLE');
  assert.match(row?.reason ?? '', /no manifest\.json in the version directory \(the version is not signed\)/);
});

test('TOCTOU: a file rewritten between verification and load still loads the verified bytes', async () => {
  const seen = verified.filter((f) => f.model === 'toctou');
  assert.equal(seen.length, 1, 'verified once, then inspected and loaded from the same bytes');
  assert.equal(seen[0]!.sha256, manifestSha, 'the bytes handed on hash to the manifest entry');
  const onDisk = createHash('sha256')
    .update(readFileSync(join(repo, 'toctou', '1', 'model.onnx')))
    .digest('hex');
  assert.notEqual(onDisk, manifestSha, 'the file on disk was replaced');
  assert.deepEqual(await answer('toctou'), [1, 1, 1, 1], 'the signed model answers, not the replacement (99)');
});

test('an encrypted model serves with the right key and fails with a clear reason otherwise', async () => {
  const c = Math.fround(SEALED_C);
  assert.deepEqual(await answer('sealed'), [c, c, c, c]);
  const by = new Map((await index()).map((r) => [r.name, r]));
  assert.equal(by.get('sealed-wrong-key')?.state, 'UNAVAILABLE');
  assert.match(
    by.get('sealed-wrong-key')?.reason ?? '',
    /encrypted with a different key than the configured model key/,
  );
  assert.equal(by.get('sealed-altered')?.state, 'UNAVAILABLE');
  assert.match(by.get('sealed-altered')?.reason ?? '', /does not authenticate: it was altered or truncated/);
  assert.deepEqual(await answer('signed'), [1, 1, 1, 1], 'other models keep serving');
});

/** Files under `dir` changed since the test began (what the server could have written). */
function recentFiles(dir: string, depth = 6): string[] {
  if (depth < 0) return [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    const st = (() => {
      try {
        return statSync(p);
      } catch {
        return undefined;
      }
    })();
    if (st === undefined || st.mtimeMs < started - 1000) return [];
    if (st.isDirectory()) return recentFiles(p, depth - 1);
    return st.isFile() && st.size < 64 << 20 ? [p] : [];
  });
}

test('no plaintext of an encrypted model appears on disk (repository and tmp dir)', () => {
  const files = [...new Set([...recentFiles(repo), ...recentFiles(tmpdir())])];
  assert.ok(files.length > 0);
  const leaked = files.filter((f) => {
    try {
      return readFileSync(f).indexOf(SEALED_MARK) >= 0;
    } catch {
      return false;
    }
  });
  assert.deepEqual(leaked, []);
});
