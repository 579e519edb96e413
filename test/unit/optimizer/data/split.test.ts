import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { registerOptimizeCommand } from '../../../../src/cli/optimize/index.js';
import { CALIBRATION_SPLIT_POLICY, calibrationSplit, shuffleSplit } from '../../../../src/optimizer/data/split.js';
import type { ValidationSet } from '../../../../src/optimizer/data/validation-set.js';

/** Rows whose single value is their index, labelled by index too (a file sorted by class looks like this). */
function rows(n: number): ValidationSet {
  return {
    input: 'x',
    rowShape: [1],
    rows: Array.from({ length: n }, (_, i) => Float32Array.of(i)),
    labels: Array.from({ length: n }, (_, i) => i),
  };
}
const values = (s: ValidationSet) => s.rows.map((r) => r[0]);

describe('calibration/validation split policy', () => {
  it('calibrates on the first n rows in file order and validates on the rest, labels following their rows', () => {
    const { calib, val, heldOut } = calibrationSplit(rows(10), 4);
    assert.equal(heldOut, true);
    assert.deepEqual(values(calib), [0, 1, 2, 3]);
    assert.deepEqual(calib.labels, [0, 1, 2, 3]);
    assert.deepEqual(values(val), [4, 5, 6, 7, 8, 9]);
    assert.deepEqual(val.labels, [4, 5, 6, 7, 8, 9]);
  });

  it('holds nothing out under 2n rows: both use every row', () => {
    const set = rows(7);
    const { calib, val, heldOut } = calibrationSplit(set, 4);
    assert.equal(heldOut, false);
    assert.equal(calib, set);
    assert.equal(val, set);
    assert.equal(calibrationSplit(rows(8), 4).heldOut, true, 'exactly 2n rows split');
  });

  it('is what quantize and auto say in --help', () => {
    const program = new Command();
    registerOptimizeCommand(program);
    const optimize = program.commands.find((c) => c.name() === 'optimize')!;
    for (const name of ['quantize', 'auto']) {
      const help = optimize.commands
        .find((c) => c.name() === name)!
        .helpInformation()
        .replace(/\s+/g, ' ');
      assert.ok(help.includes(CALIBRATION_SPLIT_POLICY), `${name} --help states the policy`);
    }
  });

  it("keeps distillation's hold-out a seeded shuffle: same seed, same rows; every row once", () => {
    const [a, b] = shuffleSplit(rows(20), 0.25, 3);
    assert.deepEqual(values(shuffleSplit(rows(20), 0.25, 3)[1]), values(b));
    assert.equal(b.rows.length, 5);
    assert.deepEqual(
      [...values(a), ...values(b)].sort((x, y) => x! - y!),
      values(rows(20)),
    );
    assert.notDeepEqual(values(a), [...Array(15).keys()], 'shuffled, not the first rows');
  });
});
