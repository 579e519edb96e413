import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModel, saveModel } from '../../../../src/optimizer/model/io.js';
import { sha256File } from '../../../../src/optimizer/report/lineage.js';
import { npyBytes } from '../../../fixtures-gen/npz-write.js';
import { cli } from '../run-cli.js';
import { buildMlp, rng } from '../models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeNpy(path: string, shape: number[], data: Float32Array): void {
  writeFileSync(path, npyBytes(shape, data));
}

describe('optimize CLI', () => {
  const modelDir = join(dir, 'mlp');
  const src = join(modelDir, '1', 'model.onnx');
  saveModel(buildMlp([16, 32, 4]), src);

  it('inspects a model', async () => {
    const out = await cli('inspect', src, '--shape', 'x=8x16');
    assert.match(out, /IR 8, opsets ai\.onnx 17/);
    assert.match(out, /quantize --mode dynamic: 2 MatMul/);
    assert.match(out, /FLOPs for x=\[8,16\]/);
  });

  it('quantizes into the next version with lineage and a report', async () => {
    const next = rng(5);
    writeNpy(
      join(dir, 'x.npy'),
      [20, 16],
      Float32Array.from({ length: 320 }, () => next()),
    );
    const report = join(dir, 'report.json');
    const out = await cli(
      'quantize',
      src,
      '--model-dir',
      modelDir,
      '--data',
      join(dir, 'x.npy'),
      '--report',
      report,
      '--batches',
      '1,4',
    );
    assert.match(out, /onnxruntime fused int8 kernels/);
    const lineage = JSON.parse(readFileSync(join(modelDir, '2', 'lineage.json'), 'utf8'));
    assert.equal(lineage.parent.sha256, sha256File(src));
    assert.equal(lineage.transform, 'quantize-dynamic');
    assert.equal(lineage.summary.accuracy.samples, 20);
    assert.ok(loadModel(join(modelDir, '2', 'model.onnx')).model.graph!.node.some((n) => n.opType === 'MatMulInteger'));
    const saved = JSON.parse(readFileSync(report, 'utf8'));
    assert.deepEqual(
      saved.variants[1].latency.map((l: { batch: number }) => l.batch),
      [1, 4],
    );
  });

  it('quantizes statically with entropy calibration, writing JSON and HTML reports beside the variant', async () => {
    const next = rng(9);
    writeNpy(
      join(dir, 'calib.npy'),
      [64, 16],
      Float32Array.from({ length: 64 * 16 }, () => next()),
    );
    const out = join(dir, 'static.onnx');
    const text = await cli(
      'quantize',
      src,
      '--mode',
      'static',
      '--calibration',
      'entropy',
      '--data',
      join(dir, 'calib.npy'),
      '--calib-samples',
      '32',
      '--out',
      out,
      '--batches',
      '1,4',
    );
    assert.match(text, /quantized 2 node\(s\)/);
    assert.match(text, /on 32 row\(s\) with entropy \/ KL divergence \(2048 bins, floor at the 99.9th percentile\)/);
    assert.match(text, /onnxruntime fused int8 kernels at level 'extended': 2 QGemm/);
    const report = JSON.parse(readFileSync(join(dir, 'static.report.json'), 'utf8'));
    assert.equal(report.variants[1].accuracy.samples, 32, 'validated on the rows calibration did not see');
    const html = readFileSync(join(dir, 'static.report.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script|<link|src="http/);
  });

  it('keeps nodes in float for mixed-precision static int8 and lists them', async () => {
    const out = join(dir, 'mixed.onnx');
    const args = ['quantize', src, '--mode', 'static', '--data', join(dir, 'calib.npy'), '--calib-samples', '32'];
    const text = await cli(
      ...args,
      '--keep-float',
      'last',
      '--auto-exclude',
      '1',
      '--error-budget',
      '100%',
      '--out',
      out,
    );
    assert.match(text, /quantized 1 node\(s\)/);
    assert.match(text, /kept in float: fc1\n/);
    assert.match(text, /sensitivity pass: 1 node\(s\) tried/);
    await assert.rejects(cli(...args, '--error-budget', '1%', '--out', out), /--error-budget needs --auto-exclude/);
    await assert.rejects(cli(...args, '--keep-float', 'middle', '--out', out), /--keep-float "middle"/);
  });

  it('converts to fp16 and says it brings no CPU speed', async () => {
    const out = join(dir, 'half.onnx');
    const text = await cli('fp16', src, '--out', out);
    assert.match(text, /no speed on CPU/);
    assert.ok(loadModel(out).model.graph!.initializer.every((t) => t.dataType === 10));
  });

  it("saves onnxruntime's graph optimizations and refuses level all", async () => {
    const out = join(dir, 'graph.onnx');
    assert.match(await cli('graph', src, '--level', 'basic', '--out', out), /onnxruntime 'basic'/);
    assert.ok(existsSync(out));
    await assert.rejects(
      cli('graph', src, '--level', 'all', '--out', join(dir, 'g2.onnx')),
      /machine-specific|this machine/,
    );
    assert.equal(existsSync(join(dir, 'g2.onnx')), false);
  });

  it('refuses a missing output and static mode without data, writing nothing', async () => {
    await assert.rejects(cli('quantize', src), /--out FILE or --model-dir/);
    await assert.rejects(
      cli('quantize', src, '--mode', 'static', '--out', join(dir, 'q.onnx')),
      /needs calibration rows/,
    );
    assert.equal(existsSync(join(dir, 'q.onnx')), false);
  });

  it('names the input and both shapes when calibration data does not fit', async () => {
    writeNpy(join(dir, 'bad.npy'), [8, 12], new Float32Array(96));
    await assert.rejects(
      cli('quantize', src, '--mode', 'static', '--data', join(dir, 'bad.npy'), '--out', join(dir, 'q.onnx')),
      /input "x": rows are \[N,12\] but the model expects \[batch,16\]/,
    );
    assert.equal(existsSync(join(dir, 'q.onnx')), false);
  });
});
