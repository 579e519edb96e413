import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TensorProto_DataLocation } from '../../../../src/gen/onnx-ml_pb.js';
import { decodeModel, encodeModel, loadModel, saveModel } from '../../../../src/optimizer/model/io.js';
import { tensorToFloat32 } from '../../../../src/optimizer/model/tensor-data.js';
import { buildIfModel, buildMlp } from '../models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Appends field 99 (length-delimited) to a message: a field this schema does not know.
function withUnknownField(bytes: Uint8Array): Uint8Array {
  const tag = [(99 << 3) | 2];
  const varint = (n: number) => (n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
  const payload = Buffer.from('future-onnx-field');
  return new Uint8Array([...bytes, ...varint(tag[0]!), ...varint(payload.length), ...payload]);
}

describe('optimizer io', () => {
  it('round-trips a built model byte for byte', () => {
    const bytes = encodeModel(buildMlp([8, 16, 4], { constantWeights: true }));
    assert.deepEqual(encodeModel(decodeModel(bytes)), bytes);
  });

  it('keeps unknown fields through decode, edit and encode', () => {
    const bytes = withUnknownField(encodeModel(buildMlp([4, 3])));
    const model = decodeModel(bytes);
    model.producerName = 'edited';
    const again = encodeModel(model);
    assert.ok(Buffer.from(again).includes(Buffer.from('future-onnx-field')));
    assert.equal(decodeModel(again).producerName, 'edited');
  });

  it('saves atomically and reloads subgraphs intact', () => {
    const path = join(dir, 'if', 'model.onnx');
    const model = buildIfModel(4, 3);
    saveModel(model, path);
    assert.deepEqual(readFileSync(path), Buffer.from(encodeModel(model)));
    assert.deepEqual(readdirSync(join(dir, 'if')), ['model.onnx']);
  });

  it('writes large tensors as external data and reads them back', () => {
    const model = buildMlp([32, 64, 4]);
    const w0 = tensorToFloat32(model.graph!.initializer[0]!);
    const path = join(dir, 'ext', 'model.onnx');
    saveModel(model, path, { externalizeAbove: 1024 });
    assert.equal(model.graph!.initializer[0]!.rawData.length, w0.byteLength, 'caller model is left unchanged');
    const loaded = loadModel(path);
    const t = loaded.model.graph!.initializer[0]!;
    assert.equal(t.dataLocation, TensorProto_DataLocation.EXTERNAL);
    assert.deepEqual(tensorToFloat32(t, loaded.baseDir), w0);
    // Copying an external-data model elsewhere keeps both the model bytes and the data.
    const copy = join(dir, 'ext2', 'model.onnx');
    saveModel(loaded.model, copy, { sourceDir: loaded.baseDir });
    assert.deepEqual(readFileSync(copy), readFileSync(path));
    assert.deepEqual(
      readFileSync(join(dir, 'ext2', 'model.onnx.data')),
      readFileSync(join(dir, 'ext', 'model.onnx.data')),
    );
  });

  it('rejects files that are not ONNX or are truncated, naming the file', () => {
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'hello, not a model');
    assert.throws(() => loadModel(junk), /junk\.onnx: not (a valid )?ONNX/);
    const cut = join(dir, 'cut.onnx');
    const bytes = encodeModel(buildMlp([16, 8]));
    writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
    assert.throws(() => loadModel(cut), /cut\.onnx: not/);
  });
});
