import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerOptimizeCommand } from '../../../src/cli/optimize.js';
import { loadModel, saveModel } from '../../../src/optimizer/io.js';
import { sha256File } from '../../../src/optimizer/lineage.js';
import { buildMlp, rng } from './models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A float32 .npy file with the given shape.
function writeNpy(path: string, shape: number[], data: Float32Array): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

async function cli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerOptimizeCommand(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  const write = process.stderr.write;
  process.stderr.write = () => true;
  try {
    await program.parseAsync(['node', 'infergate', 'optimize', ...args]);
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
  return lines.join('\n');
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

  it('refuses a missing output and an unimplemented mode without writing anything', async () => {
    await assert.rejects(cli('quantize', src), /--out FILE or --model-dir/);
    await assert.rejects(cli('quantize', src, '--mode', 'static', '--out', join(dir, 'q.onnx')), /not implemented yet/);
    assert.equal(existsSync(join(dir, 'q.onnx')), false);
  });
});
