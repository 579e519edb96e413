// `infergate registry …` as an operator uses it, on an embedded registry: push with lineage, the
// gate refusing an unvalidated promotion, validate on the serving runtime (passing and failing),
// a forced promotion recorded with its reason, history, show, verify catching a tampered row,
// and one-line errors for bad input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { npyBytes } from '../fixtures-gen/npz-write.js';
import { constModelDir } from './registry-helpers.js';

const run = promisify(execFile);
const BIN = resolve('bin/infergate.js');
const dir = mkdtempSync(join(tmpdir(), 'ig-cli-registry-'));
const registry = join(dir, 'registry');

/** Runs the CLI; never throws: answers exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, 'registry', ...args, '--registry', registry, '--actor', 'cli:tester'], {
      timeout: 120_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const json = (s: string) => JSON.parse(s);

test('push → gate → validate → promote → history → verify, through the CLI', async () => {
  // Rows of zeros: every version (y = x + c) puts all four scores equal, so argmax is class 0.
  const data = join(dir, 'rows.npy');
  const labels = join(dir, 'labels.npy');
  writeFileSync(data, npyBytes([20, 4], new Float32Array(80)));
  writeFileSync(labels, npyBytes([20], new Float32Array(20)));

  const v1 = await cli(
    'push',
    'm',
    constModelDir('m', 1),
    '--tag',
    'team=vision',
    '--metric',
    'accuracy=0.9',
    '--json',
  );
  assert.equal(v1.code, 0, v1.stderr);
  assert.equal(json(v1.stdout).version, 1);
  const v2 = await cli(
    'push',
    'm',
    constModelDir('m', 2),
    '--parent',
    'm:1',
    '--transform',
    'fp16',
    '--alias',
    'staging',
    '--json',
  );
  assert.equal(v2.code, 0, v2.stderr);
  assert.equal(json(v2.stdout).alias.alias, 'staging');

  const refused = await cli('promote', 'm', '1');
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^infergate registry promote: alias 'production' is protected: version 1 of 'm' has not been validated/,
  );
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack');

  const passed = await cli('validate', 'm', '1', '--data', data, '--labels', labels);
  assert.equal(passed.code, 0, passed.stderr + passed.stdout);
  assert.match(passed.stdout, /m version 1: PASSED/);
  assert.equal((await cli('promote', 'm', '1', '--reason', 'first release')).code, 0);

  const failed = await cli(
    'validate',
    'm',
    'staging',
    '--data',
    data,
    '--labels',
    labels,
    '--min-accuracy',
    '1.01',
    '--json',
  );
  assert.equal(failed.code, 1);
  const record = json(failed.stdout);
  assert.equal(record.passed, false);
  assert.equal(record.baseline, 1, 'measured against production');
  assert.equal(record.measurements.agreement, 1);
  assert.ok(record.measurements.latency_p99_ms > 0);
  const gate = await cli('promote', 'm', '2');
  assert.equal(gate.code, 1);
  assert.match(gate.stderr, /failed validation .*accuracy 1 < 1\.01/);
  const forced = await cli('promote', 'm', '2', '--force', '--reason', 'hotfix', '--expected', '1', '--json');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(json(forced.stdout).version, 2);

  const history = json((await cli('history', 'm', '--json')).stdout) as Array<{
    alias: string;
    version: number;
    reason?: string;
    actor: string;
  }>;
  assert.deepEqual(
    history.map((h) => [h.alias, h.version]),
    [
      ['staging', 2],
      ['production', 1],
      ['production', 2],
    ],
  );
  assert.match(history[2]!.reason ?? '', /forced past the gate: .*accuracy 1 < 1\.01.*; hotfix$/);
  assert.equal(history[2]!.actor, 'cli:tester');

  const shown = json((await cli('show', 'm', '2', '--json')).stdout);
  assert.deepEqual(shown.lineage.parent, { model: 'm', version: 1 });
  assert.equal(shown.lineage.transform, 'fp16');
  assert.deepEqual(shown.signature.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
  assert.equal(shown.validation.passed, false);
  const table = await cli('show', 'm');
  assert.match(table.stdout, /production/);

  const ok = await cli('verify');
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /audit log intact: \d+ rows/);
  const db = new Database(join(registry, 'registry.db'));
  db.prepare("UPDATE audit SET actor = 'mallory' WHERE seq = 3").run();
  db.close();
  const tampered = await cli('verify');
  assert.equal(tampered.code, 1);
  assert.match(tampered.stdout, /row 3: content does not match its hash \(edited\)/);
});

test('bad input: one readable line and exit 1, nothing registered', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['push', '../x', constModelDir('x', 1)], /model name '\.\.\/x' is not valid/],
    [['push', 'x', join(dir, 'missing')], /source '.*missing' does not exist/],
    [['push', 'x', 'gopher://127.0.0.1/x'], /scheme 'gopher' is not supported/],
    [['alias', 'm', 'canary', '99'], /no version 99|not in the registry/],
    [['alias', 'm', '7up', '1'], /alias '7up' is not valid/],
    [['show', 'nope'], /'nope' is not in the registry/],
    [['push', 'x', constModelDir('x', 1), '--as-version', '0'], /version '0' is not a positive integer/],
    [['audit', '--limit', 'many'], /--limit must be a non-negative integer/],
  ];
  for (const [args, text] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, text, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  }
  const list = json((await cli('list', '--json')).stdout) as Array<{ name: string }>;
  assert.ok(!list.some((m) => m.name === 'x'), 'nothing registered');
  const noRegistry = await run(process.execPath, [BIN, 'registry', 'list'], {
    env: { ...process.env, INFERGATE_REGISTRY: '' },
  }).catch((e) => e as { stderr: string });
  assert.match(noRegistry.stderr, /say where the registry is: --registry/);
});
