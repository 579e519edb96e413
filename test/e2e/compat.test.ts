// Triton compatibility round 2 (issue #21) through the official tritonclient, HTTP and gRPC, on
// models generated here: a string model that casts its inputs to numbers loads and serves, INT64
// at ±2^63 in JSON comes back exact, classification prints Triton's "1.000000:1", an output
// `reshape` with variable dims answers in the config's shape, and a broken `config` override
// fails with "failed to load". Python and the client are required: a missing one fails, never skips.
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { addModel, tempRepo } from './models.js';
import { clientPython, runPythonCheck } from './python-env.js';
import { startTestServer, type TestServer } from './server.js';

const SCRIPT = resolve('test/e2e/python/compat_checks.py');
const CHECKS = [
  'string_cast_model',
  'int64_json_exact',
  'classification_text',
  'output_reshape',
  'config_override_text',
];

function identity(datatype: 'INT64' | 'FP32', width: number): Uint8Array {
  return buildModel(
    new GraphBuilder('identity')
      .input('x', datatype, ['N', width])
      .node('Identity', ['x'], ['y'])
      .output('y', datatype, ['N', width]),
  );
}

let s: TestServer;
let python: string;
before(async () => {
  python = clientPython();
  const repo = tempRepo();
  const cast = buildModel(
    new GraphBuilder('cast')
      .input('x', 'BYTES', ['N', 2])
      .node('Cast', ['x'], ['y'], { to: 7 })
      .output('y', 'INT64', ['N', 2]),
  );
  addModel(repo, 'cast_string', 1, cast, 'max_batch_size: 8\n');
  addModel(repo, 'echo_int64', 1, identity('INT64', 3), 'max_batch_size: 8\n');
  addModel(repo, 'scores', 1, identity('FP32', 3), 'max_batch_size: 8\n');
  addModel(
    repo,
    'reshaped',
    1,
    identity('FP32', 4),
    [
      'max_batch_size: 8',
      'input [{ name: "x", data_type: TYPE_FP32, dims: [4] }]',
      'output [{ name: "y", data_type: TYPE_FP32, dims: [1, -1, 1], reshape: { shape: [-1] } }]',
      '',
    ].join('\n'),
  );
  s = await startTestServer({ repository: repo, controlMode: 'explicit', loadModels: ['*'] });
});
after(() => s.close());

for (const check of CHECKS) {
  test(`tritonclient: ${check}`, () => runPythonCheck(python, SCRIPT, check, s));
}
