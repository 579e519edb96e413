// The validation gate's runner against real onnxruntime: versions pushed into a SQLite registry
// are served from a temp repository, row by row through the Router, and the measurements feed
// the pure gate (gateChecks + validationRecord) as `registry validate` will.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InferError, systemClock } from '../../src/core/index.js';
import { buildModel, GraphBuilder } from '../../src/onnx/index.js';
import { ArtifactStore } from '../../src/registry/artifacts.js';
import { gateChecks, gateRefusal, validationRecord } from '../../src/registry/gate.js';
import { pushVersion } from '../../src/registry/push.js';
import { resolveLocal } from '../../src/registry/sources/local.js';
import type { SqlRegistryStore } from '../../src/registry/sql-store.js';
import { openSqliteStore } from '../../src/registry/sqlite.js';
import type { VersionRecord } from '../../src/registry/types.js';
import { measureVersion, type ValidateInput } from '../../src/validation/run.js';
import { npyBytes, npzBytes } from '../fixtures-gen/npz-write.js';

const ROWS = 20;
/** Class scores = x · W over 4 features; class i wins where feature i is largest. */
const IDENTITY_W = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
/** Classes 0 and 1 swapped: agrees with IDENTITY_W only on rows of class 2. */
const SWAPPED_W = [0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0];

/** x [batch, 4] (x's datatype) → probs = softmax-free scores x·W, FP32 [batch, 3]. */
function classifier(w: number[], inputType: 'FP32' | 'INT64' = 'FP32'): Uint8Array {
  const g = new GraphBuilder('clf').input('x', inputType, ['batch', 4]);
  g.initializer('w', 'FP32', [4, 3], new Float32Array(w));
  if (inputType === 'INT64') g.node('Cast', ['x'], ['xf'], { to: 1 });
  g.node('MatMul', [inputType === 'INT64' ? 'xf' : 'x', 'w'], ['probs']);
  g.output('probs', 'FP32', ['batch', 3]);
  return buildModel(g);
}

/** A regressor: y = x · (scale · [1, 2, 3, 4]), FP32 [batch, 1] (one value per row, not class scores). */
function regressor(scale: number): Uint8Array {
  const g = new GraphBuilder('reg').input('x', 'FP32', ['batch', 4]);
  g.initializer(
    'w',
    'FP32',
    [4, 1],
    Float32Array.from([1, 2, 3, 4], (x) => x * scale),
  );
  g.node('MatMul', ['x', 'w'], ['y']);
  g.output('y', 'FP32', ['batch', 1]);
  return buildModel(g);
}

/** Row i: the feature (i % 3) is 3 + i, the others small and distinct, the fourth feature noise. */
function rows(): Float32Array {
  const x = new Float32Array(ROWS * 4);
  for (let i = 0; i < ROWS; i++) {
    x.set([1, 2, 0, 7], i * 4);
    x[i * 4 + (i % 3)] = 3 + i;
  }
  return x;
}

/** Labels: the true class, except every fifth row (0, 5, 10, 15) which is labelled one class off. */
const LABELS = Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? (i + 1) % 3 : i % 3));

/** .npy bytes of int64 labels (what numpy writes for an integer array). */
function int64Npy(values: number[]): Buffer {
  let header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${values.length},), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(BigInt64Array.from(values, BigInt).buffer)]);
}

let dir: string;
let store: SqlRegistryStore;
let artifacts: ArtifactStore;
const v: Record<'base' | 'copy' | 'swapped' | 'int64' | 'reg' | 'regNear' | 'regFar', VersionRecord> = {} as never;
const files = { data: '', labels: '', shortLabels: '', wrongShape: '', npz: '' };

async function push(model: string, bytes: Uint8Array, name: string): Promise<VersionRecord> {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, bytes);
  return pushVersion(store, artifacts, await resolveLocal(path), { model }, 'test:validate');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ig-validate-'));
  store = await openSqliteStore(join(dir, 'registry.db'), systemClock);
  artifacts = new ArtifactStore(join(dir, 'artifacts'));
  v.base = await push('clf', classifier(IDENTITY_W), 'base');
  v.copy = await push('clf', classifier(IDENTITY_W), 'copy');
  v.swapped = await push('clf', classifier(SWAPPED_W), 'swapped');
  v.int64 = await push('clf-int', classifier(IDENTITY_W, 'INT64'), 'int64');
  v.reg = await push('reg', regressor(1), 'reg');
  v.regNear = await push('reg', regressor(1 + 1e-5), 'reg-near');
  v.regFar = await push('reg', regressor(1.01), 'reg-far');
  const write = (name: string, bytes: Buffer) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };
  files.data = write('rows.npy', npyBytes([ROWS, 4], rows()));
  files.labels = write('labels.npy', int64Npy(LABELS));
  files.shortLabels = write('short.npy', int64Npy(LABELS.slice(1)));
  files.wrongShape = write('wide.npy', npyBytes([4, 5], new Float32Array(20)));
  const y = { shape: [ROWS], data: Float32Array.from(LABELS) };
  files.npz = write('set.npz', npzBytes({ x: { shape: [ROWS, 4], data: rows() }, labels: y }, true));
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const measure = (o: Partial<ValidateInput> & Pick<ValidateInput, 'candidate'>) =>
  measureVersion({ artifacts, data: files.data, labels: files.labels, warmupRows: 2, ...o });

test('an identical copy: hand-computed accuracy, agreement 1, positive latencies, gate passes', async () => {
  const { measurements: m, context } = await measure({ candidate: v.copy, baseline: v.base });
  // IDENTITY_W predicts i % 3 on every row; only the 4 mislabelled rows (0, 5, 10, 15) miss.
  assert.equal(m.samples, ROWS);
  assert.equal(m.accuracy, 16 / 20);
  assert.equal(m.baseline_accuracy, 16 / 20);
  assert.equal(m.agreement, 1);
  for (const [p50, p99] of [
    [m.latency_p50_ms, m.latency_p99_ms],
    [m.baseline_latency_p50_ms, m.baseline_latency_p99_ms],
  ]) {
    assert.ok(p50 !== undefined && p99 !== undefined && p50 > 0 && p99 >= p50, `p50 ${p50}, p99 ${p99}`);
  }
  assert.equal(context.data, 'rows.npy');
  assert.equal(context.labels, 'labels.npy');
  assert.equal(context.rows, '20');
  assert.equal(context.runtime, 'onnxruntime-node 1.30.0');
  assert.equal(context.node, process.version);
  assert.equal(context.baseline, `clf v${v.base.version}`);
  assert.ok(context.cpu);

  // Latency ratios between two equal tiny models are noise; the other defaults apply.
  const checks = gateChecks(m, { maxP50Ratio: null });
  assert.deepEqual(
    checks.map((c) => [c.name, c.passed]),
    [
      ['accuracy', true],
      ['agreement', true],
    ],
  );
  const record = validationRecord(m, checks, { at: new Date().toISOString(), by: 'test', baseline: 1, context });
  assert.equal(record.passed, true);
  assert.equal(record.measurements.agreement, 1);

  const strict = gateChecks(m, { minAccuracy: 0.9, maxP50Ratio: null });
  const failed = validationRecord(m, strict, { at: new Date().toISOString(), by: 'test', context });
  assert.equal(failed.passed, false);
  assert.deepEqual(
    failed.checks.filter((c) => !c.passed).map((c) => c.name),
    ['accuracy'],
  );
  await store.recordValidation('clf', v.copy.version, failed, 'test:validate');
  const stored = await store.getVersion('clf', v.copy.version);
  assert.match(gateRefusal(stored!) ?? '', /accuracy 0\.8 < 0\.9/);
});

test('a different model: agreement below 1, its own accuracy, the gate names agreement', async () => {
  const { measurements: m } = await measure({ candidate: v.swapped, baseline: v.base });
  // SWAPPED_W turns class 0 into 1 and 1 into 0: it agrees with the baseline on class-2 rows only.
  const class2 = LABELS.filter((_, i) => i % 3 === 2).length;
  assert.equal(m.agreement, class2 / ROWS);
  const swap = [1, 0, 2];
  const hits = LABELS.filter((label, i) => swap[i % 3] === label).length;
  assert.equal(m.accuracy, hits / ROWS);
  assert.equal(m.baseline_accuracy, 16 / 20);
  const checks = gateChecks(m, { maxP50Ratio: null });
  const record = validationRecord(m, checks, { at: new Date().toISOString(), by: 'test' });
  assert.equal(record.passed, false);
  assert.ok(record.checks.some((c) => c.name === 'agreement' && !c.passed));
});

test('an INT64-input model, no baseline, data and labels from one .npz', async () => {
  const { measurements: m, context } = await measure({ candidate: v.int64, data: files.npz, labels: undefined });
  assert.equal(m.accuracy, 16 / 20);
  assert.equal(m.agreement, undefined);
  assert.equal(m.baseline_latency_p99_ms, undefined);
  assert.ok((m.latency_p99_ms ?? 0) >= (m.latency_p50_ms ?? Number.NaN));
  assert.equal(context.data, 'set.npz');
  assert.equal(context.baseline, undefined);
  assert.equal(
    gateChecks(m, { minAccuracy: 0.8 }).every((c) => c.passed),
    true,
  );
});

test('regressors: agreement within 1e-3 relative per element; accuracy is not measured', async () => {
  const near = await measure({ candidate: v.regNear, baseline: v.reg });
  assert.equal(near.measurements.agreement, 1);
  assert.equal(near.measurements.accuracy, undefined);
  assert.match(near.context.accuracy ?? '', /output 'y' is not class scores/);
  // 1 % off: every row's value (≥ 20) differs by far more than 1e-3 of it.
  const far = await measure({ candidate: v.regFar, baseline: v.reg, labels: undefined });
  assert.equal(far.measurements.agreement, 0);
  assert.equal(far.context.accuracy, undefined);
});

/** Threads of this process (Linux): worker threads and their onnxruntime pools are among them. */
const threads = () => readdirSync('/proc/self/task').length;

test('maxRows bounds the rows measured; no thread outlives the run', async () => {
  const before = threads();
  const { measurements: m } = await measure({ candidate: v.base, maxRows: 5, warmupRows: 0 });
  assert.equal(threads(), before);
  assert.equal(m.samples, 5);
  assert.equal(m.accuracy, 4 / 5); // rows 0..4: only row 0 is mislabelled
});

/** The call is refused with IG_ERR_INVALID_ARG and a message matching `re`. */
async function refused(o: Partial<ValidateInput>, re: RegExp): Promise<void> {
  await assert.rejects(measure({ candidate: v.copy, baseline: v.base, warmupRows: 0, ...o }), (err: unknown) => {
    assert.ok(err instanceof InferError, String(err));
    assert.equal(err.code, 'IG_ERR_INVALID_ARG');
    assert.match(err.message, re);
    assert.doesNotMatch(err.message, /\n\s+at /); // a message, not a stack
    return true;
  });
}

test('bad input: a data file that does not exist', async () => {
  await refused({ data: join(dir, 'missing.npy') }, /validation data '.*missing\.npy': does not exist/);
});

test('bad input: rows whose shape does not fit the input', async () => {
  await refused(
    { data: files.wrongShape, labels: undefined },
    /rows have shape \[5\] but input 'x' .* takes rows of shape \[4\]/,
  );
});

test('bad input: labels of the wrong length', async () => {
  await refused({ labels: files.shortLabels }, /short\.npy' hold 19 labels for 20 validation rows/);
});

test('bad input: a data file that is not .npy', async () => {
  const junk = join(dir, 'junk.npy');
  writeFileSync(junk, 'not numpy');
  await refused({ data: junk }, /cannot read validation data '.*junk\.npy': not a \.npy file/);
});

test('bad input: a fractional value for an INT64 input', async () => {
  const half = join(dir, 'half.npy');
  writeFileSync(half, npyBytes([2, 4], Float32Array.from([1, 2, 3, 4, 1, 2.5, 3, 4])));
  await refused(
    { candidate: v.int64, baseline: undefined, data: half, labels: undefined },
    /row 1 for input 'x' of clf-int v1: value 2\.5 at element 1 does not fit INT64/,
  );
});
