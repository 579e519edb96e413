/**
 * Small synthetic models for the example repository, one per row of the table in
 * examples/README.md. They exist to exercise datatypes, batching and config formats end to end,
 * so each is a few Identity/Add/Sub nodes; their configs live beside them under examples/models.
 */
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { DATATYPES, type DataType } from '../../src/core/index.js';

/** A synthetic model: the folder name under examples/models and a function making its bytes. */
export interface SyntheticModel {
  name: string;
  build: () => Uint8Array;
}

/** Datatypes carried by `identity_all` (every protocol type onnxruntime-node can feed; not BF16). */
export const IDENTITY_ALL_TYPES: readonly DataType[] = DATATYPES.filter((t) => t !== 'BF16');

/** OUTPUT0 = INPUT0 + INPUT1 and OUTPUT1 = INPUT0 - INPUT1, for any numeric type and row width. */
function addSub(name: string, type: DataType, width: number): Uint8Array {
  const dims = ['batch', width];
  const g = new GraphBuilder(name).input('INPUT0', type, dims).input('INPUT1', type, dims);
  g.node('Add', ['INPUT0', 'INPUT1'], ['OUTPUT0']).node('Sub', ['INPUT0', 'INPUT1'], ['OUTPUT1']);
  return buildModel(g.output('OUTPUT0', type, dims).output('OUTPUT1', type, dims));
}

/** INPUT0 → OUTPUT0 unchanged, [batch, n]. */
function identity(name: string, type: DataType): Uint8Array {
  const dims = ['batch', 'n'];
  const g = new GraphBuilder(name).input('INPUT0', type, dims).node('Identity', ['INPUT0'], ['OUTPUT0']);
  return buildModel(g.output('OUTPUT0', type, dims));
}

/** One Identity per datatype: INPUT_<TYPE> [n] → OUTPUT_<TYPE> [n], no batch dimension. */
function identityAll(): Uint8Array {
  const g = new GraphBuilder('identity_all');
  for (const t of IDENTITY_ALL_TYPES) {
    g.input(`INPUT_${t}`, t, [`n_${t}`]).node('Identity', [`INPUT_${t}`], [`OUTPUT_${t}`]);
    g.output(`OUTPUT_${t}`, t, [`n_${t}`]);
  }
  return buildModel(g);
}

/** Every synthetic model of the example repository. */
export const SYNTHETIC_MODELS: readonly SyntheticModel[] = [
  { name: 'simple', build: () => addSub('simple', 'INT32', 16) },
  { name: 'add_sub_fp32', build: () => addSub('add_sub_fp32', 'FP32', 4) },
  { name: 'identity_fp32', build: () => identity('identity_fp32', 'FP32') },
  { name: 'identity_bytes', build: () => identity('identity_bytes', 'BYTES') },
  { name: 'identity_all', build: identityAll },
];
