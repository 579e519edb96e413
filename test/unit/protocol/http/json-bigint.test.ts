// The exact re-read of long integers (json-bigint.ts): only integer tokens of 16+ digits outside
// strings become ExactInt; floats, exponents, strings and short integers are JSON.parse's as usual.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExactInt, parseWithExactIntegers } from '../../../../src/protocol/http/json-bigint.js';

test('long integers outside strings are read from their digits, everything else as JSON.parse reads it', () => {
  const doc = parseWithExactIntegers(
    '{"a":[18446744073709551615,-9223372036854775808,12,1.5,12345678901234567.5,1234567890123456e3],' +
      '"s":"99999999999999999999","e":"\\"123456789012345678"}',
  ) as { a: unknown[]; s: string; e: string };
  assert.deepEqual(doc.a, [
    new ExactInt(18446744073709551615n),
    new ExactInt(-9223372036854775808n),
    12,
    1.5,
    // Floats stay JSON.parse's (rounded) doubles.
    Number('12345678901234567.5'),
    Number('1234567890123456e3'),
  ]);
  assert.equal(doc.s, '99999999999999999999');
  assert.equal(doc.e, '"123456789012345678');
});

test('text that is not JSON is refused naming the parse failure', () => {
  assert.throws(() => parseWithExactIntegers('{"a":[12345678901234567,]}'), /failed to parse the request JSON buffer/);
});
