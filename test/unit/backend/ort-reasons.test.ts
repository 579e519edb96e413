import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientExecutionMessage } from '../../../src/backend/ort/reasons.js';

test('onnxruntime messages with internals become a generic text; plain statements about the request pass', () => {
  const internal = [
    '[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : /onnxruntime_src/onnxruntime/core/framework/tensorprotoutils.cc:434 x',
    "Non-zero status code returned while running Add node. Name:'/layer1/Add' Status Message: shape mismatch",
    '/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool) Failed to allocate memory',
    'SafeIntException: safeint.h:17 Integer overflow',
  ];
  for (const m of internal) {
    const out = clientExecutionMessage(m);
    assert.doesNotMatch(out, /\.cc|\.h:|onnxruntime::|bfc_arena|layer1|Name:/, out);
    assert.match(out, /server log has the details under its request id/);
  }
  const plain = 'Got invalid dimensions for input: x for the following indices index: 1 Got: 3 Expected: 4';
  assert.equal(clientExecutionMessage(plain), `onnxruntime execution failed: ${plain}`);
});
