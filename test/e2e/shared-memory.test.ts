// Triton's system shared-memory extension through the official Python client (tritonclient) over
// HTTP and gRPC, against the real server and the example 'simple' model: regions made by
// tritonclient.utils.shared_memory under /dev/shm, register / status / unregister, inference with
// inputs and outputs in shared memory, the reuse_infer_objects pattern, and bad input (unknown
// region, out-of-bounds ranges, symlinked and escaping keys) answered with Triton's texts. Each
// check in python/shm_checks.py runs as its own test; a missing Python or client fails them.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { clientPython, runPythonCheck } from './python-env.js';
import { startTestServer, type TestServer } from './server.js';

const SCRIPT = resolve('test/e2e/python/shm_checks.py');
const CHECKS = ['system_http', 'system_grpc', 'cross_protocol', 'reuse_infer_objects', 'errors'];

let s: TestServer;
let python: string;
before(async () => {
  python = clientPython();
  s = await startTestServer({ controlMode: 'explicit', loadModels: ['simple'] });
});
after(() => s.close());

for (const check of CHECKS) {
  test(`tritonclient shared memory: ${check}`, () => runPythonCheck(python, SCRIPT, check, s));
}

test('every region is unregistered and closed at the end', async () => {
  const res = await fetch(`http://${s.httpAddress}/v2/systemsharedmemory/status`);
  assert.deepEqual(await res.json(), []);
});
