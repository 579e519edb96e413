/**
 * Tiny ONNX models for backend tests, made with the shared builder in src/onnx (no binary fixtures).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataType } from '../../../src/core/index.js';
import { buildModel as build, GraphBuilder } from '../../../src/onnx/index.js';

/** A graph input/output: numbers are fixed dims, strings symbolic ones. */
export interface IoDef {
  name: string;
  datatype: DataType;
  shape: Array<number | string>;
}

interface GraphDef {
  inputs: IoDef[];
  outputs: IoDef[];
  nodes: Array<{ op: string; inputs: string[]; outputs: string[] }>;
  initializers?: Array<{ name: string; dims: number[]; data: Float32Array }>;
}

/** Serialises a single-graph model (opset 17). */
export function buildModel(def: GraphDef): Uint8Array {
  const g = new GraphBuilder('test');
  for (const io of def.inputs) g.input(io.name, io.datatype, io.shape);
  for (const t of def.initializers ?? []) g.initializer(t.name, 'FP32', t.dims, t.data);
  for (const n of def.nodes) g.node(n.op, n.inputs, n.outputs);
  for (const io of def.outputs) g.output(io.name, io.datatype, io.shape);
  return build(g);
}

/** y = Identity(x) for one datatype, shape [N, ...dims] with a symbolic batch. */
export function identityModel(datatype: DataType, dims: number[] = [3]): Uint8Array {
  const shape: Array<number | string> = ['N', ...dims];
  return buildModel({
    inputs: [{ name: 'x', datatype, shape }],
    outputs: [{ name: 'y', datatype, shape }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}

/** y = x + 1 (FP32), shape [N, width]. */
export function addOneModel(width = 4): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', width] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['N', width] }],
    nodes: [{ op: 'Add', inputs: ['x', 'one'], outputs: ['y'] }],
    initializers: [{ name: 'one', dims: [], data: new Float32Array([1]) }],
  });
}

/** y = x · W with a random [size, size] FP32 initializer; input [N, size]. */
export function matMulModel(size: number): Uint8Array {
  const w = new Float32Array(size * size);
  for (let i = 0; i < w.length; i++) w[i] = Math.random() - 0.5;
  return buildModel({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['N', size] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: ['N', size] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', dims: [size, size], data: w }],
  });
}

/** Writes model bytes into a fresh temp directory and returns the file's absolute path. */
export function writeModel(bytes: Uint8Array, name = 'model.onnx'): string {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-backend-'));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
