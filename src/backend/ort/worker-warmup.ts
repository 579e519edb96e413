/** Warm-up inside the worker: generates zero/random/file data for each plan and runs it. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type * as ort from 'onnxruntime-node';
import {
  arrayCtor,
  decodeBytesElements,
  elementCount,
  elementSize,
  fromOrtType,
  type NumericArray,
  numericFromBytes,
} from '../../core/index.js';
import type { WarmupInputPlan, WarmupPlan, WireTensor } from './messages.js';
import { cleanReason, messageOf } from './reasons.js';
import { packBytes } from './wire.js';
import { LoadFailure } from './worker-session.js';
import { wireToOrt } from './worker-tensors.js';

/** Fills a numeric array with small random values of its element type. */
function randomFill(a: NumericArray, bool: boolean): void {
  for (let i = 0; i < a.length; i++) {
    const r = Math.random();
    if (a instanceof BigInt64Array || a instanceof BigUint64Array) a[i] = BigInt(Math.floor(r * 100));
    else if (a instanceof Float32Array || a instanceof Float64Array) a[i] = r;
    else a[i] = bool ? Math.round(r) : Math.floor(r * 100);
  }
}

/** Reads a warm-up data file: raw little-endian elements, or length-prefixed BYTES elements. */
function fileData(p: WarmupInputPlan, n: number): WireTensor['data'] {
  let buf: Uint8Array;
  try {
    buf = readFileSync(p.file ?? '');
  } catch {
    throw new LoadFailure(`warm-up data file '${basename(p.file ?? '')}' for input '${p.name}' cannot be read`);
  }
  if (p.datatype === 'BYTES') {
    const items = decodeBytesElements(buf, n);
    if (typeof items === 'string') throw new LoadFailure(`warm-up data for input '${p.name}' ${items}`);
    return packBytes(items);
  }
  const want = n * elementSize(p.datatype);
  if (buf.byteLength !== want)
    throw new LoadFailure(`warm-up data for input '${p.name}' holds ${buf.byteLength} bytes, expected ${want}`);
  return numericFromBytes(p.datatype, buf);
}

/** "0": a string a graph can also cast to a number (Triton's string examples do), unlike "". */
const ZERO_TEXT = new TextEncoder().encode('0');

/** Generates one warm-up input tensor (`generated`: a sample infergate made up, see WarmupPlan). */
export function warmupTensor(p: WarmupInputPlan, generated = false): WireTensor {
  const n = elementCount(p.shape);
  const base = { name: p.name, datatype: p.datatype, shape: p.shape };
  if (p.kind === 'file') return { ...base, data: fileData(p, n) };
  if (p.datatype === 'BYTES') {
    const items = new Array<Uint8Array>(n);
    const zero = generated ? ZERO_TEXT : new Uint8Array(0);
    for (let i = 0; i < n; i++) items[i] = p.kind === 'random' ? randomText() : zero;
    return { ...base, data: packBytes(items) };
  }
  const data = new (arrayCtor(p.datatype))(n);
  if (p.kind === 'random') randomFill(data, p.datatype === 'BOOL');
  return { ...base, data };
}

function randomText(): Uint8Array {
  return new TextEncoder().encode(Math.random().toString(36).slice(2, 8));
}

/** A zero sample from the session's own input metadata (batch/symbolic dims as 1). */
export function planFromSession(session: ort.InferenceSession): WarmupPlan[] {
  const inputs: WarmupInputPlan[] = [];
  for (const m of session.inputMetadata) {
    const datatype = m.isTensor ? fromOrtType(m.type) : undefined;
    if (!m.isTensor || datatype === undefined) throw new LoadFailure(`input '${m.name}' has an unsupported type`);
    inputs.push({ name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' ? d : 1)), kind: 'zero' });
  }
  return [{ name: 'generated', count: 1, inputs, generated: true }];
}

/**
 * Runs every warm-up plan `count` times. A configured sample that fails fails the load, naming the
 * sample and the reason (as in Triton); a generated one only returns a warning: the model may be
 * valid and simply not accept made-up data, and Triton would not have warmed it up at all.
 */
export async function runWarmup(session: ort.InferenceSession, plans: WarmupPlan[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const plan of plans.length > 0 ? plans : planFromSession(session)) {
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const p of plan.inputs) feeds[p.name] = wireToOrt(warmupTensor(p, plan.generated));
      for (let i = 0; i < plan.count; i++) await session.run(feeds);
    } catch (err) {
      const why = err instanceof LoadFailure ? err.message : cleanReason(messageOf(err));
      // Our own refusals (a data file that cannot be read) already say what is wrong.
      if (!plan.generated)
        throw err instanceof LoadFailure ? err : new LoadFailure(`warm-up sample '${plan.name}' failed: ${why}`);
      warnings.push(`the generated warm-up failed, so the model starts cold: ${why}`);
    }
  }
  return warnings;
}
