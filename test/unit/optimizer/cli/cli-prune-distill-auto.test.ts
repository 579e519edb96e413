import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../../../src/core/index.js';
import { loadModel, saveModel } from '../../../../src/optimizer/model/io.js';
import { ArtifactStore } from '../../../../src/registry/artifacts.js';
import { RegistryService } from '../../../../src/registry/service.js';
import { createSourceResolver, operatorFetch } from '../../../../src/registry/sources/index.js';
import { openSqliteStore } from '../../../../src/registry/sqlite.js';
import { npzBytes } from '../../../fixtures-gen/npz-write.js';
import { cli } from '../run-cli.js';
import { buildMlp, rng } from '../models.js';

const dir = mkdtempSync(join(tmpdir(), 'ig-opt-cli2-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('optimize prune / distill / auto CLI', () => {
  const modelDir = join(dir, 'mlp');
  const src = join(modelDir, '1', 'model.onnx');
  saveModel(buildMlp([16, 48, 4]), src);
  const next = rng(12);
  const data = join(dir, 'val.npz');
  writeFileSync(
    data,
    npzBytes(
      {
        x: { shape: [96, 16], data: Float32Array.from({ length: 96 * 16 }, next) },
        labels: { shape: [96], data: Float32Array.from({ length: 96 }, (_, i) => i % 4) },
      },
      true,
    ),
  );

  it('prunes structurally into the next version, with the sweep, lineage and a report', async () => {
    const out = await cli(
      'prune',
      src,
      '--data',
      data,
      '--model-dir',
      modelDir,
      '--sparsity',
      '0.25,0.5',
      '--accuracy-budget',
      '100%',
      '--batches',
      '1,4',
    );
    assert.match(out, /chose structured sparsity 50%/);
    const lineage = JSON.parse(readFileSync(join(modelDir, '2', 'lineage.json'), 'utf8'));
    assert.equal(lineage.transform, 'prune-structured');
    assert.equal(lineage.parameters.sweep.length, 2);
    const w0 = loadModel(join(modelDir, '2', 'model.onnx')).model.graph!.initializer.find((t) => t.name === 'W0')!;
    assert.deepEqual(w0.dims.map(Number), [16, 24]);
    assert.ok(existsSync(join(modelDir, '2', 'report.html')));
  });

  it('says unstructured pruning gives no speed, and fails cleanly when no sparsity fits', async () => {
    const out = await cli(
      'prune',
      src,
      '--method',
      'unstructured',
      '--data',
      data,
      '--out',
      join(dir, 'u.onnx'),
      '--sparsity',
      '0.5',
      '--accuracy-budget',
      '100%',
      '--batches',
      '1',
    );
    assert.match(out, /no speedup/);
    await assert.rejects(
      cli(
        'prune',
        src,
        '--data',
        data,
        '--out',
        join(dir, 'never.onnx'),
        '--sparsity',
        '0.9',
        '--accuracy-budget',
        '0',
      ),
      /no sparsity meets the accuracy budget of 0\.00%; tried 90%: loss/,
    );
    assert.equal(existsSync(join(dir, 'never.onnx')), false);
  });

  it('refuses malformed numeric options by name, before writing anything', async () => {
    const out = join(dir, 'bad.onnx');
    const base = ['prune', src, '--data', data, '--out', out, '--sparsity', '0.5'];
    await assert.rejects(
      cli(...base, '--channel-multiple', 'eight'),
      /--channel-multiple "eight": expected a whole number >= 1/,
    );
    await assert.rejects(cli(...base, '--threads', '0'), /--threads "0": expected a whole number >= 1/);
    const distill = ['distill', src, '--data', data, '--out', out];
    await assert.rejects(cli(...distill, '--lr', '-1'), /--lr "-1": expected a number above 0/);
    await assert.rejects(cli(...distill, '--alpha', '1.5'), /--alpha "1.5": expected a number from 0 to 1/);
    await assert.rejects(cli(...distill, '--epochs', ''), /--epochs "": expected a whole number >= 1/);
    assert.equal(existsSync(out), false);
  });

  it('distills a student and prints it beside the hard-label baseline', async () => {
    const out = await cli(
      'distill',
      src,
      '--data',
      data,
      '--hidden',
      '8',
      '--epochs',
      '2',
      '--out',
      join(dir, 's.onnx'),
      '--batches',
      '1',
    );
    assert.match(out, /transfer rows 77 \(77 labelled\)/);
    assert.match(out, /top-1: distilled .*% vs baseline .*%/);
    const report = JSON.parse(readFileSync(join(dir, 's.report.json'), 'utf8'));
    assert.deepEqual(
      report.variants.map((v: { name: string }) => v.name),
      ['fp32 (original)', 'student (distilled)', 'student (hard labels only)'],
    );
  });

  it('auto picks a variant and writes it with the full report', async () => {
    const out = await cli(
      'auto',
      src,
      '--data',
      data,
      '--out',
      join(dir, 'a.onnx'),
      '--accuracy-budget',
      '100%',
      '--calib-samples',
      '32',
      '--rounds',
      '1',
      '--batches',
      '1',
    );
    assert.match(out, /chose .* — cpu: fastest within budget/);
    assert.ok(existsSync(join(dir, 'a.onnx')));
    const report = JSON.parse(readFileSync(join(dir, 'a.report.json'), 'utf8'));
    assert.ok(report.variants.length >= 6, 'every variant tried is in the report');
  });

  it('auto --register puts the chosen variant in the registry with its measurements and parent', async () => {
    const registry = join(dir, 'registry');
    const store = await openSqliteStore(join(registry, 'registry.db'), systemClock);
    const service = new RegistryService({
      store,
      artifacts: new ArtifactStore(join(registry, 'artifacts')),
      resolveSource: createSourceResolver({ allowLocal: true, fetch: operatorFetch }),
    });
    try {
      await service.push(src, { model: 'mlp' }, 'test');
      const autoDir = join(dir, 'auto-versions');
      const out = await cli(
        'auto',
        src,
        '--data',
        data,
        '--model-dir',
        autoDir,
        '--accuracy-budget',
        '100%',
        '--calib-samples',
        '32',
        '--rounds',
        '1',
        '--batches',
        '1',
        '--register',
        'mlp',
        '--registry',
        registry,
      );
      assert.match(out, /registered mlp version 2 \(parent: version 1\)/);
      const v2 = await service.showVersion('mlp', 2);
      assert.deepEqual(v2.lineage.parent, { model: 'mlp', version: 1 });
      assert.ok(v2.lineage.transform, 'the transform is recorded');
      assert.ok(v2.metrics.speedup! > 0 && v2.metrics.gzip_bytes! > 0, JSON.stringify(v2.metrics));
      assert.ok(
        v2.files.some((f) => f.path === 'report.json'),
        'the optimizer report travels with the version',
      );
      assert.equal(v2.signature?.inputs.length, 1);
    } finally {
      await store.close();
    }
  });
});
