// Acceptance: the digit classifier, served over HTTP-binary and gRPC, classifies >= 95% of the
// 1,000 held-out digits (never seen in training) correctly, end to end through the real server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { heldOutDigits } from '../../examples/digits/dataset.js';
import type { Tensor } from '../../src/core/index.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ controlMode: 'explicit', loadModels: ['digits'] });
});
after(() => s.close());

/** Batches of up to 50 digits as one FP32 [n, 784] input. */
function batches(): Array<{ input: Tensor; labels: number[] }> {
  const digits = heldOutDigits();
  assert.equal(digits.length, 1000);
  const out = [];
  for (let i = 0; i < digits.length; i += 50) {
    const part = digits.slice(i, i + 50);
    const data = new Float32Array(part.length * 784);
    for (const [j, d] of part.entries()) data.set(d.pixels, j * 784);
    out.push({
      input: { name: 'input', datatype: 'FP32', shape: [part.length, 784], data } as Tensor,
      labels: part.map((d) => d.label),
    });
  }
  return out;
}

function correct(probs: Float32Array, labels: number[]): number {
  let n = 0;
  labels.forEach((label, i) => {
    const row = probs.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === label) n++;
  });
  return n;
}

test('digits over HTTP binary: >= 95% of 1,000 held-out digits correct', async () => {
  let ok = 0;
  for (const b of batches()) {
    const r = await s.http.infer('digits', [b.input], { binary: true });
    const out = r.outputs.find((o) => o.name === 'probabilities')!;
    assert.deepEqual(out.shape, [b.labels.length, 10]);
    ok += correct(out.data as Float32Array, b.labels);
  }
  assert.ok(ok >= 950, `accuracy ${ok / 10}% is below 95%`);
});

test('digits over gRPC: >= 95% of 1,000 held-out digits correct', async () => {
  let ok = 0;
  for (const b of batches()) {
    const r = await s.grpc.infer('digits', [b.input]);
    ok += correct(r.outputs[0]!.data as Float32Array, b.labels);
  }
  assert.ok(ok >= 950, `accuracy ${ok / 10}% is below 95%`);
});

test('digits over HTTP JSON, one digit per request, agrees with the binary answer', async () => {
  const b = batches()[0]!;
  const one: Tensor = { ...b.input, shape: [1, 784], data: (b.input.data as Float32Array).slice(0, 784) };
  const [j, bin] = await Promise.all([
    s.http.infer('digits', [one], { binary: false }),
    s.http.infer('digits', [one], { binary: true }),
  ]);
  const a = j.outputs[0]!.data as Float32Array;
  const c = bin.outputs[0]!.data as Float32Array;
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(a[i]! - c[i]!) < 1e-6);
});
