import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { saveModel } from '../../../../src/optimizer/model/io.js';
import { buildIfModel, buildIfNet, rng } from '../models.js';
import { npyBytes } from '../../../fixtures-gen/npz-write.js';
import { cli } from '../run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-qsub-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeNpy(path: string, shape: number[], data: Float32Array): void {
  writeFileSync(path, npyBytes(shape, data));
}

// n rows of `len` values in [lo, hi).
function values(n: number, len: number, lo: number, hi: number, seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n * len }, () => lo + (hi - lo) * next());
}

describe('optimize quantize --mode static on subgraph models (CLI)', () => {
  it('quantizes inside both If branches, prints what happened per subgraph, and validates on --data', async () => {
    const src = join(dir, 'ifnet', '1', 'model.onnx');
    saveModel(buildIfNet(), src);
    // Half the rows above the branch threshold (then), half below (else); calibration batches of 32.
    const x = new Float32Array(128 * 16);
    x.set(values(32, 16, 0.45, 1, 1), 0);
    x.set(values(32, 16, 0, 0.55, 2), 32 * 16);
    x.set(values(64, 16, 0, 1, 3), 64 * 16);
    writeNpy(join(dir, 'ifnet.npy'), [128, 16], x);
    const out = await cli(
      'quantize',
      src,
      '--mode',
      'static',
      '--data',
      join(dir, 'ifnet.npy'),
      '--calib-samples',
      '64',
      '--model-dir',
      join(dir, 'ifnet'),
    );
    assert.match(out, /quantized 4 node\(s\)/);
    assert.match(out, /subgraph main\/route\.then_branch: 2 node\(s\) QDQ int8, 0 dynamic int8, 0 float/);
    assert.match(out, /subgraph main\/route\.else_branch: 2 node\(s\) QDQ int8/);
    assert.match(out, /fused int8 kernels .*QLinearConv/);
    const report = JSON.parse(readFileSync(join(dir, 'ifnet', '2', 'report.json'), 'utf8'));
    assert.ok(report.variants[1].accuracy.maxAbsErr < 0.2, 'validated against the float model');
  });

  it('fills another input with --feed and records it in the lineage', async () => {
    const src = join(dir, 'ifm', '1', 'model.onnx');
    saveModel(buildIfModel(8, 4), src);
    writeNpy(join(dir, 'ifm.npy'), [32, 8], values(32, 8, -1, 1, 4));
    const base = ['quantize', src, '--mode', 'static', '--calib-data', join(dir, 'ifm.npy')];
    await assert.rejects(cli(...base, '--out', join(dir, 'no.onnx')), /also needs inputs cond.*--feed NAME=VALUE/);
    const out = await cli(...base, '--feed', 'cond=1', '--model-dir', join(dir, 'ifm'));
    assert.match(out, /quantized 2 node\(s\)/, 'both branches read x, whose range the main graph gives');
    const lineage = JSON.parse(readFileSync(join(dir, 'ifm', '2', 'lineage.json'), 'utf8'));
    assert.deepEqual(lineage.parameters.calibration.feed, ['cond=1']);
    await assert.rejects(cli(...base, '--feed', 'cond', '--out', join(dir, 'no.onnx')), /expected NAME=NUMBER/);
    await assert.rejects(cli(...base, '--feed', 'c=1', '--out', join(dir, 'no.onnx')), /no input "c"/);
  });
});
