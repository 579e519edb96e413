/**
 * JSON infer-request decode cost (issue #21 item 5: exact INT64 must not slow the common path).
 *
 *   node --import tsx bench/json-decode.ts [--elements 200000] [--rounds 7]
 *
 * Decodes one FP32 and one INT64 (safe values) body of `elements` numbers with decodeInferRequest,
 * `rounds` times each, and prints the median ms per decode. Run it in two trees (before/after) and
 * alternate the runs: absolute figures on this shared machine move by several percent.
 */
import { parseArgs } from 'node:util';
import { decodeInferRequest } from '../src/protocol/http/infer-codec-request.js';

const { values } = parseArgs({
  options: { elements: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '7' } },
});
const n = Number(values.elements);
const rounds = Number(values.rounds);
const limits = {
  maxJsonDepth: 64,
  maxJsonElements: 10_000_000,
  maxBytesElements: 65536,
  maxJsonBytes: 1 << 30,
  maxJsonResponseElements: 10_000_000,
};

function body(datatype: string, value: (i: number) => number): Uint8Array {
  const data = Array.from({ length: n }, (_, i) => value(i));
  return Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype, shape: [1, n], data }] }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const cases: Array<[string, Uint8Array]> = [
  ['FP32', body('FP32', (i) => i * 0.37)],
  ['INT64', body('INT64', (i) => i * 1_000_003)],
];
for (const [name, b] of cases) {
  for (let i = 0; i < 2; i++) decodeInferRequest(b, undefined, 'm', undefined, limits); // warm
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    decodeInferRequest(b, undefined, 'm', undefined, limits);
    ms.push(performance.now() - t0);
  }
  console.log(`${name} ${n} elements: median ${median(ms).toFixed(2)} ms per decode`);
}
