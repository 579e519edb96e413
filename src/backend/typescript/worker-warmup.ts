/**
 * The config's `model_warmup` samples, made inside a TypeScript model's worker: zero, random or
 * file data (raw little-endian elements, or length-prefixed BYTES elements), as the ORT backend
 * reads them (../ort/warmup.ts builds the plans from the version spec on the event-loop side).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { arrayCtor, decodeBytesElements, elementCount, elementSize, numericFromBytes } from '../../core/index.js';
import type { WarmupInputPlan } from '../ort/messages.js';
import type { Tensor, Tensors } from './api.js';

const encoder = new TextEncoder();

/** A warm-up sample that cannot be made; its message names the input. */
export class WarmupRefusal extends Error {}

/** The bytes of a sample's data file. */
function readSampleFile(p: WarmupInputPlan): Uint8Array {
  try {
    return readFileSync(p.file ?? '');
  } catch {
    throw new WarmupRefusal(`warm-up data file '${basename(p.file ?? '')}' for input '${p.name}' cannot be read`);
  }
}

/** Element i of a random sample: a small value of the datatype's kind. */
function randomValue(datatype: WarmupInputPlan['datatype']): number | bigint {
  const r = Math.random();
  if (datatype === 'FP32' || datatype === 'FP64') return r;
  if (datatype === 'BOOL') return r < 0.5 ? 0 : 1;
  const n = Math.floor(r * 100);
  return datatype === 'INT64' || datatype === 'UINT64' ? BigInt(n) : n;
}

/** One input of a warm-up sample. */
function sampleInput(p: WarmupInputPlan): Tensor {
  const { datatype, shape } = p;
  const n = elementCount(shape);
  if (p.kind === 'file') {
    const bytes = readSampleFile(p);
    if (datatype === 'BYTES') {
      const items = decodeBytesElements(bytes, n);
      if (typeof items === 'string') throw new WarmupRefusal(`warm-up data for input '${p.name}' ${items}`);
      return { datatype, shape, data: items };
    }
    if (bytes.byteLength !== n * elementSize(datatype))
      throw new WarmupRefusal(
        `warm-up data for input '${p.name}' holds ${bytes.byteLength} bytes, expected ${n * elementSize(datatype)}`,
      );
    return { datatype, shape, data: numericFromBytes(datatype, bytes) };
  }
  if (datatype === 'BYTES') {
    const element = () => encoder.encode(p.kind === 'random' ? Math.random().toString(36).slice(2, 8) : '');
    return { datatype, shape, data: Array.from({ length: n }, element) };
  }
  const data = new (arrayCtor(datatype))(n);
  if (p.kind === 'random') for (let i = 0; i < n; i++) data[i] = randomValue(datatype);
  return { datatype, shape, data };
}

/** A sample's inputs, by name. */
export function warmupInputs(inputs: readonly WarmupInputPlan[]): Tensors {
  const out: Tensors = {};
  for (const p of inputs) out[p.name] = sampleInput(p);
  return out;
}
