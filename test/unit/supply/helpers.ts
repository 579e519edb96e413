// Model folders for the supply-chain tests, built with the project's ONNX builder.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  ModelProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataLocation,
} from '../../../src/gen/onnx-ml_pb.js';
import { buildModelProto, GraphBuilder } from '../../../src/onnx/index.js';
import { addConstModel } from '../../e2e/models.js';

export { addConstModel };

/** A fresh temporary folder. */
export function tempDir(prefix = 'infergate-supply-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An Ed25519 pair: the private key as PEM (what `sign` takes) and the public KeyObject. */
export function signingPair(): { privateKeyPem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

/** Writes `<root>/<model>/<version>/model.onnx` (y = x + c) and returns the version directory. */
export function writeVersion(root: string, model: string, version: number, c: number): string {
  const dir = join(root, model, String(version));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), addConstModel(c));
  return dir;
}

/** External-data entries of the add-const model's initializer `c` (4 floats = 16 bytes). */
export interface ExternalSpec {
  location: string;
  offset?: string;
  length?: string;
}

/** y = x + c with `c` stored in an external file described by `ext` (nothing is written for it). */
export function externalModel(ext: ExternalSpec): Uint8Array {
  const g = new GraphBuilder('add_external')
    .input('x', 'FP32', ['batch', 4])
    .initializer('c', 'FP32', [4], new Float32Array(4))
    .node('Add', ['x', 'c'], ['y'])
    .output('y', 'FP32', ['batch', 4]);
  const proto = buildModelProto(g);
  const t = proto.graph!.initializer[0]!;
  t.rawData = new Uint8Array();
  t.floatData = [];
  t.dataLocation = TensorProto_DataLocation.EXTERNAL;
  const entry = (key: string, value: string) => create(StringStringEntryProtoSchema, { key, value });
  t.externalData = [entry('location', ext.location)];
  if (ext.offset !== undefined) t.externalData.push(entry('offset', ext.offset));
  if (ext.length !== undefined) t.externalData.push(entry('length', ext.length));
  return toBinary(ModelProtoSchema, proto);
}

/** 4 float32 values as the bytes of an external-data file. */
export function floats(...v: number[]): Buffer {
  return Buffer.from(new Float32Array(v).buffer);
}
