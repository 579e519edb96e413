// The official Triton Python client (tritonclient[all]) against the real server, over HTTP and
// gRPC: each check in python/client_checks.py runs as its own test. Python and the client are
// required: a missing one fails these tests, it never skips them.
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { clientPython, runPythonCheck } from './python-env.js';
import { startTestServer, type TestServer } from './server.js';

const SCRIPT = resolve('test/e2e/python/client_checks.py');
const CHECKS = [
  'health',
  'metadata',
  'infer_binary',
  'infer_json',
  'outputs_subset',
  'statistics',
  'errors',
  'grpc_stream',
  'cuda_shared_memory_declined',
  'repository',
  'ensemble',
];

let s: TestServer;
let python: string;
before(async () => {
  python = clientPython();
  // explicit mode so the repository check may unload and load models
  s = await startTestServer({ controlMode: 'explicit', loadModels: ['*'] });
});
after(() => s.close());

for (const check of CHECKS) {
  test(`tritonclient: ${check}`, () => runPythonCheck(python, SCRIPT, check, s));
}
