/**
 * Byte-level mutations of valid seeds for the fuzz tests (reliability.md S8(c), S22), in the
 * spirit of zzuf/AFL's havoc stage: flips, random bytes, interesting values, insertions, deletions,
 * truncation, duplicated chunks. Deterministic from a seed, so a failure names its iteration and
 * can be replayed with INFERGATE_FUZZ_SEED.
 */
import { seededRandom } from '../../src/core/index.js';

/** The project's seeded generator (mulberry32): the same seed gives the same mutations. */
export const rng = seededRandom;

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x22, 0x5c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x2d, 0x30];

/** One to four mutations of `seed`, drawn with `r`. */
export function mutate(seed: Uint8Array, r: () => number): Uint8Array {
  // A copy (Buffer.prototype.slice would be a view, and the seed would drift with every mutation).
  let out: Uint8Array = new Uint8Array(seed);
  const n = 1 + Math.floor(r() * 4);
  const at = (len: number) => Math.floor(r() * Math.max(1, len));
  for (let i = 0; i < n; i++) {
    const op = Math.floor(r() * 8);
    if (out.length === 0 && op !== 4) continue;
    switch (op) {
      case 0: // flip one bit
        {
          const p = at(out.length);
          out[p] = (out[p] as number) ^ (1 << Math.floor(r() * 8));
        }
        break;
      case 1: // a random byte
        out[at(out.length)] = Math.floor(r() * 256);
        break;
      case 2: // an interesting byte (delimiters, varint edges, NUL, newline)
        out[at(out.length)] = INTERESTING[Math.floor(r() * INTERESTING.length)] as number;
        break;
      case 3: {
        // delete a run
        const p = at(out.length);
        const len = 1 + at(16);
        out = concat(out.subarray(0, p), out.subarray(p + len));
        break;
      }
      case 4: {
        // insert random bytes
        const p = at(out.length + 1);
        const ins = Uint8Array.from({ length: 1 + at(16) }, () => Math.floor(r() * 256));
        out = concat(out.subarray(0, p), ins, out.subarray(p));
        break;
      }
      case 5: // truncate
        out = out.slice(0, at(out.length));
        break;
      case 6: {
        // duplicate a chunk in place (repeated fields, repeated headers)
        const p = at(out.length);
        const len = 1 + at(32);
        out = concat(out.subarray(0, p + len), out.subarray(p, p + len), out.subarray(p + len));
        break;
      }
      default: {
        // a digit run: long numbers, huge varints' text twins
        const p = at(out.length + 1);
        const digits = new TextEncoder().encode('9'.repeat(1 + at(24)));
        out = concat(out.subarray(0, p), digits, out.subarray(p));
      }
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Iterations per target: INFERGATE_FUZZ_ITERATIONS (the nightly sizes of S8/S22), else `ci`. */
export function iterations(ci: number): number {
  const n = Number(process.env.INFERGATE_FUZZ_ITERATIONS);
  return Number.isSafeInteger(n) && n > 0 ? n : ci;
}

export const FUZZ_SEED = Number(process.env.INFERGATE_FUZZ_SEED ?? 20261207);
