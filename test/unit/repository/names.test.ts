import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isSafeModelName, parseRequestedVersion, parseVersionDir } from '../../../src/repository/names.js';

describe('model names', () => {
  it('rejects separators, NUL and dot-only traversal tricks', () => {
    for (const bad of ['', '.', '..', ' ..', '.. ', ' . ', '...', 'a/b', '../x', 'a\\b', 'a\0b', 'x\n'])
      assert.equal(isSafeModelName(bad), false, JSON.stringify(bad));
    for (const good of ['simple', 'my.model', 'a..b', 'resnet-50_v1', '..x'])
      assert.equal(isSafeModelName(good), true, good);
  });
});

describe('version directory names', () => {
  it('accepts positive integers without a leading zero only', () => {
    assert.equal(parseVersionDir('1'), 1);
    assert.equal(parseVersionDir('120'), 120);
    for (const bad of ['0', '01', '-1', '1.0', ' 1', 'v1', '', '1e3', '99999999999999999999'])
      assert.equal(parseVersionDir(bad), undefined, bad);
  });

  it('round-trips every positive safe integer (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => parseVersionDir(String(n)) === n),
    );
  });

  it('never accepts a string that is not the canonical decimal of its value (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const v = parseVersionDir(s);
        return v === undefined || (String(v) === s && v > 0);
      }),
    );
  });

  it('parses requested versions: default, digits, or nothing', () => {
    assert.equal(parseRequestedVersion(undefined), undefined);
    assert.equal(parseRequestedVersion(''), undefined);
    assert.equal(parseRequestedVersion('3'), 3);
    assert.equal(parseRequestedVersion(2), 2);
    assert.equal(parseRequestedVersion('abc'), null);
    assert.equal(parseRequestedVersion('0'), null);
  });
});
