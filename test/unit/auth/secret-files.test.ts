// Secrets may come from files named by `*_FILE` variables (container secrets), never only inline.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAuthConfig } from '../../../src/auth/config.js';
import { secretFromEnv } from '../../../src/server/auth.js';
import { generateModelKey, loadModelKey, modelKeyId } from '../../../src/supply/encrypt.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-secret-files-'));

test('NAME_FILE wins over NAME; neither set: undefined', () => {
  writeFileSync(join(dir, 'redis-url'), 'redis://:s3cret@127.0.0.1:6379\n');
  const env = { X: 'redis://inline', X_FILE: join(dir, 'redis-url') };
  assert.equal(secretFromEnv('X', env), 'redis://:s3cret@127.0.0.1:6379');
  assert.equal(secretFromEnv('X', { X: 'redis://inline' }), 'redis://inline');
  assert.equal(secretFromEnv('X', {}), undefined);
});

test('the model key from INFERGATE_MODEL_KEY_FILE; the auth config reads rate_limits.redis_file', async () => {
  const key = generateModelKey();
  writeFileSync(join(dir, 'model.key'), `${key}\n`);
  const fromFile = await loadModelKey(undefined, { INFERGATE_MODEL_KEY_FILE: join(dir, 'model.key') });
  const inline = await loadModelKey(undefined, { INFERGATE_MODEL_KEY: key });
  assert.ok(fromFile && inline);
  assert.deepEqual(modelKeyId(fromFile), modelKeyId(inline));
  writeFileSync(join(dir, 'auth.yaml'), 'rate_limits:\n  redis_file: redis-url\n');
  assert.equal(loadAuthConfig(join(dir, 'auth.yaml')).rate_limits?.redis, 'redis://:s3cret@127.0.0.1:6379');
});
