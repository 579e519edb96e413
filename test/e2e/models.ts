// Small model repositories for end-to-end tests, built with our ONNX builder in a temp folder.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, dense, GraphBuilder } from '../../src/onnx/index.js';

/** A fresh empty repository folder. */
export function tempRepo(): string {
  return mkdtempSync(join(tmpdir(), 'infergate-e2e-'));
}

/** Writes `<repo>/<name>/<version>/model.onnx` (and config.pbtxt when given). */
export function addModel(repo: string, name: string, version: number, bytes: Uint8Array, config?: string): void {
  mkdirSync(join(repo, name, String(version)), { recursive: true });
  writeFileSync(join(repo, name, String(version), 'model.onnx'), bytes);
  if (config !== undefined) writeFileSync(join(repo, name, 'config.pbtxt'), config);
}

/** y = x + c, FP32 [batch, 4]: the version number is visible in the answer. */
export function addConstModel(c: number): Uint8Array {
  const g = new GraphBuilder('add_const')
    .input('x', 'FP32', ['batch', 4])
    .initializer('c', 'FP32', [4], new Float32Array(4).fill(c))
    .node('Add', ['x', 'c'], ['y'])
    .output('y', 'FP32', ['batch', 4]);
  return buildModel(g);
}

/** A compute-heavy MLP (layers × [width × width] MatMuls), about 2·batch·width²·layers FLOPs per run. */
export function heavyModel(width = 1024, layers = 8): Uint8Array {
  const g = new GraphBuilder('heavy').input('x', 'FP32', ['batch', width]);
  let h = 'x';
  const w = new Float32Array(width * width).map((_, i) => ((i % 7) - 3) / (width * 4));
  for (let i = 0; i < layers; i++) h = dense(g, h, { inFeatures: width, outFeatures: width, weights: w }, `l${i}`);
  g.node('Identity', [h], ['y']);
  g.output('y', 'FP32', ['batch', width]);
  return buildModel(g);
}
