// The digit classifier behind a TypeScript step that accepts an image (examples/models/digits_png):
// the held-out digits encoded as PNG classify as well as their raw pixels, the same digits drawn
// large, dark on white, as JPEG still classify, and bytes that are no image get a 400 naming the
// step. Real server, real onnxruntime, the TypeScript step in its worker thread.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { heldOutDigits } from '../../examples/digits/dataset.js';
import { ServerError } from '../../src/client/http-client.js';
import type { Tensor } from '../../src/core/index.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ controlMode: 'explicit', loadModels: ['digits', 'digits_png_decode', 'digits_png'] });
});
after(() => s?.close());

/** 28×28 pixels (0 background .. 1 ink) as a greyscale PNG, or scaled `k` times, dark ink on white. */
function png(pixels: Float32Array, k = 1, invert = false): Uint8Array {
  const side = 28 * k;
  const img = new PNG({ width: side, height: side, colorType: 0 });
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const v = pixels[Math.floor(y / k) * 28 + Math.floor(x / k)]!;
      const g = Math.round((invert ? 1 - v : v) * 255);
      const i = (y * side + x) * 4;
      img.data[i] = g;
      img.data[i + 1] = g;
      img.data[i + 2] = g;
      img.data[i + 3] = 255;
    }
  return new Uint8Array(PNG.sync.write(img, { colorType: 0 }));
}

function jpegOf(pixels: Float32Array, k: number): Uint8Array {
  const side = 28 * k;
  const data = Buffer.alloc(side * side * 4);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const g = Math.round((1 - pixels[Math.floor(y / k) * 28 + Math.floor(x / k)]!) * 255);
      data.fill(g, (y * side + x) * 4, (y * side + x) * 4 + 3);
      data[(y * side + x) * 4 + 3] = 255;
    }
  return new Uint8Array(jpeg.encode({ data, width: side, height: side }, 95).data);
}

const images = (items: Uint8Array[]): Tensor => ({
  name: 'IMAGE',
  datatype: 'BYTES',
  shape: [items.length, 1],
  data: items,
});
const argmax = (probs: Float32Array, row: number) => {
  const r = probs.subarray(row * 10, row * 10 + 10);
  return r.indexOf(Math.max(...r));
};

test('1,000 held-out digits as PNG: >= 95% correct, over HTTP binary and gRPC', async () => {
  const digits = heldOutDigits();
  let http = 0;
  let grpc = 0;
  for (let i = 0; i < digits.length; i += 50) {
    const part = digits.slice(i, i + 50);
    const batch = () => images(part.map((d) => png(d.pixels)));
    const h = await s.http.infer('digits_png', [batch()], { binary: true });
    const g = await s.grpc.infer('digits_png', [batch()]);
    const hp = h.outputs.find((o) => o.name === 'probabilities')!.data as Float32Array;
    const gp = g.outputs.find((o) => o.name === 'probabilities')!.data as Float32Array;
    part.forEach((d, j) => {
      if (argmax(hp, j) === d.label) http++;
      if (argmax(gp, j) === d.label) grpc++;
    });
  }
  assert.ok(http >= 950, `HTTP: ${http / 10}% correct`);
  assert.ok(grpc >= 950, `gRPC: ${grpc / 10}% correct`);
});

test('the same digits drawn 4x larger, dark on white, as PNG and JPEG: >= 90% correct', async () => {
  const digits = heldOutDigits().filter((_, i) => i % 5 === 0);
  let ok = 0;
  let total = 0;
  for (const encode of [(p: Float32Array) => png(p, 4, true), (p: Float32Array) => jpegOf(p, 4)])
    for (let i = 0; i < digits.length; i += 20) {
      const part = digits.slice(i, i + 20);
      const r = await s.http.infer('digits_png', [images(part.map((d) => encode(d.pixels)))], { binary: true });
      const probs = r.outputs[0]!.data as Float32Array;
      part.forEach((d, j) => {
        total++;
        if (argmax(probs, j) === d.label) ok++;
      });
    }
  assert.ok(ok >= total * 0.9, `${ok} of ${total} correct`);
});

test('bytes that are no image: 400 naming the step and the row; the server keeps serving', async () => {
  const bad = new TextEncoder().encode('definitely not a PNG');
  await assert.rejects(s.http.infer('digits_png', [images([bad])], { binary: true }), (e: unknown) => {
    assert.ok(e instanceof ServerError);
    assert.equal(e.status, 400);
    assert.match(e.message, /in ensemble 'digits_png', step 1 \(model 'digits_png_decode'\)/);
    assert.match(e.message, /IMAGE row 0: not an image file/);
    assert.doesNotMatch(e.message, /\/work\/|\/tmp\/|at .*\.ts:\d+/);
    return true;
  });
  const truncated = png(heldOutDigits()[0]!.pixels).subarray(0, 60);
  await assert.rejects(s.http.infer('digits_png', [images([truncated])], { binary: true }), (e: unknown) => {
    assert.ok(e instanceof ServerError && e.status === 400, String(e));
    return true;
  });
  const r = await s.http.infer('digits_png', [images([png(heldOutDigits()[0]!.pixels)])], { binary: true });
  assert.equal(argmax(r.outputs[0]!.data as Float32Array, 0), heldOutDigits()[0]!.label);
});
