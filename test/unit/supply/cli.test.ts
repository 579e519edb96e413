// `infergate keygen | sign | verify | encrypt` as a user runs them: exit codes and one-line messages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { decrypt, loadModelKey } from '../../../src/supply/encrypt.js';
import { tempDir, writeVersion } from './helpers.js';

const run = promisify(execFile);
const BIN = resolve('bin/infergate.js');
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { timeout: 60_000 });
/** Runs a command expected to fail; returns its stderr (asserting exit code 1). */
async function cliFails(...args: string[]): Promise<string> {
  try {
    await cli(...args);
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    assert.equal(e.code, 1);
    return e.stderr ?? '';
  }
  assert.fail(`infergate ${args.join(' ')} succeeded`);
}

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

test('keygen, sign every version of a model, verify; a change fails verify naming the file', async () => {
  const keys = join(dir, 'keys');
  await cli('keygen', '--out', keys);
  assert.equal(statSync(join(keys, 'private.pem')).mode & 0o777, 0o600);
  const repo = join(dir, 'repo');
  writeVersion(repo, 'm', 1, 1);
  writeVersion(repo, 'm', 2, 2);
  const signed = await cli('sign', join(repo, 'm'), '--key', join(keys, 'private.pem'));
  assert.match(signed.stdout, /signed m\/1: 1 files/);
  assert.match(signed.stdout, /signed m\/2: 1 files/);
  const ok = await cli('verify', join(repo, 'm'), '--trusted-key', join(keys, 'public.pem'));
  assert.match(ok.stdout, /ok m\/1/);
  assert.match(ok.stdout, /ok m\/2/);

  writeFileSync(join(repo, 'm', '2', 'notes.txt'), 'added later');
  const err = await cliFails('verify', join(repo, 'm', '2'), '--trusted-key', join(keys, 'public.pem'));
  assert.match(err, /^infergate verify: m\/2: signed manifest check failed: file added: 'notes\.txt'\n$/);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack');
});

test('sign refuses a model whose external data escapes its folder', async () => {
  const keys = join(dir, 'keys2');
  await cli('keygen', '--out', keys);
  const { externalModel } = await import('./helpers.js');
  const v = writeVersion(join(dir, 'repo2'), 'x', 1, 1);
  writeFileSync(join(v, 'model.onnx'), externalModel({ location: '../../etc/passwd' }));
  const err = await cliFails('sign', v, '--key', join(keys, 'private.pem'));
  assert.match(err, /external data of tensor 'c' refused: location '\.\.\/\.\.\/etc\/passwd' has a '\.\.' segment/);
});

test('keygen --aes and encrypt write a key (0600) and MODEL_FILE.enc that decrypts to the model', async () => {
  const keyFile = join(dir, 'model.key');
  await cli('keygen', '--aes', '--out', keyFile);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const v = writeVersion(join(dir, 'repo3'), 'e', 1, 3);
  const model = join(v, 'model.onnx');
  await cli('encrypt', model, '--key-file', keyFile);
  const key = (await loadModelKey(keyFile))!;
  assert.deepEqual(decrypt(readFileSync(`${model}.enc`), key), readFileSync(model));
  assert.match(
    await cliFails('encrypt', `${model}.enc`, '--key-file', keyFile, '--out', join(dir, 'x.enc')),
    /already encrypted/,
  );
});
