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

/** Generates one warm-up input tensor. */
export function warmupTensor(p: WarmupInputPlan): WireTensor {
  const n = elementCount(p.shape);
  const base = { name: p.name, datatype: p.datatype, shape: p.shape };
  if (p.kind === 'file') return { ...base, data: fileData(p, n) };
  if (p.datatype === 'BYTES') {
    const items = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) items[i] = p.kind === 'random' ? randomText() : new Uint8Array(0);
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
  return [{ name: 'generated', count: 1, inputs }];
}

/** Runs every warm-up plan `count` times; a failure names the sample and the reason. */
export async function runWarmup(session: ort.InferenceSession, plans: WarmupPlan[]): Promise<void> {
  for (const plan of plans.length > 0 ? plans : planFromSession(session)) {
    const feeds: Record<string, ort.Tensor> = {};
    for (const p of plan.inputs) feeds[p.name] = wireToOrt(warmupTensor(p));
    for (let i = 0; i < plan.count; i++) {
      try {
        await session.run(feeds);
      } catch (err) {
        throw new LoadFailure(`warm-up sample '${plan.name}' failed: ${cleanReason(messageOf(err))}`);
      }
    }
  }
}
