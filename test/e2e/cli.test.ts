// The CLI against a running server: --help everywhere, `models` lists states, `infer` sends a
// JSON request file or a .npy array and prints the outputs; errors are one readable line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer, type TestServer } from './server.js';

const run = promisify(execFile);
const BIN = resolve('bin/infergate.js');
const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { timeout: 60_000 });

let s: TestServer;
let dir: string;
before(async () => {
  s = await startTestServer({ controlMode: 'explicit', loadModels: ['simple', 'identity_fp32'] });
  dir = mkdtempSync(join(tmpdir(), 'infergate-cli-'));
});
after(() => s.close());

/** A .npy file (format 1.0) holding a little-endian float32 array. */
function npyFloat32(shape: number[], values: number[]): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(new Float32Array(values).buffer)]);
}

test('--help is available for the program and every command', async () => {
  const top = await cli('--help');
  for (const c of ['serve', 'models', 'infer', 'optimize']) assert.match(top.stdout, new RegExp(`\\b${c}\\b`));
  for (const c of ['serve', 'models', 'infer']) {
    const { stdout } = await cli(c, '--help');
    assert.match(stdout, /Usage: infergate/);
  }
});

test('models lists the loaded models with their state', async () => {
  const { stdout } = await cli('models', '--url', s.httpAddress, '--json');
  const rows = JSON.parse(stdout) as Array<{ name: string; state?: string }>;
  assert.equal(rows.find((r) => r.name === 'simple')?.state, 'READY');
  const table = await cli('models', '--url', s.httpAddress);
  assert.match(table.stdout, /simple.*READY/);
});

test('infer sends a JSON request file and prints the outputs', async () => {
  const file = join(dir, 'req.json');
  const data = Array.from({ length: 16 }, (_, i) => i);
  writeFileSync(
    file,
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(1) },
      ],
    }),
  );
  const { stdout } = await cli('infer', 'simple', file, '--url', s.httpAddress);
  assert.match(stdout, /OUTPUT0 INT32 \[1, 16\]/);
  assert.match(stdout, /\[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\]/);
});

test('infer sends a .npy array as the first input', async () => {
  const file = join(dir, 'x.npy');
  writeFileSync(file, npyFloat32([1, 3], [1.5, 2.5, 3.5]));
  const { stdout } = await cli('infer', 'identity_fp32', file, '--url', s.httpAddress);
  assert.match(stdout, /OUTPUT0 FP32 \[1, 3\]/);
  assert.match(stdout, /\[1\.5,2\.5,3\.5\]/);
});

test('infer against an unknown model fails with one readable line and exit code 1', async () => {
  const file = join(dir, 'x2.npy');
  writeFileSync(file, npyFloat32([1], [1]));
  await assert.rejects(cli('infer', 'nope', file, '--url', s.httpAddress), (e: { code: number; stderr: string }) => {
    assert.equal(e.code, 1);
    assert.match(e.stderr, /Request for unknown model: 'nope' is not found/);
    assert.doesNotMatch(e.stderr, /\n\s+at /);
    return true;
  });
});
