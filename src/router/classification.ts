import { elementCount, isBigIntType, isBytesData, invalidArg, type Tensor } from '../core/index.js';

const enc = new TextEncoder();

/**
 * Formats as Triton does (std::to_string): floating-point values in C's "%f" (six decimals, e.g.
 * "1.000000", "nan", "-inf"), integers as they are. Clients compare these strings.
 */
function formatValue(v: number | bigint, float: boolean): string {
  if (typeof v === 'bigint' || !float) return v.toString();
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  // toFixed switches to exponent notation from 1e21 on; %f never does.
  const fixed = Math.abs(v) < 1e21 ? v.toFixed(6) : `${BigInt(v)}.000000`;
  // toFixed drops the sign of values that round to zero; %f keeps it ("-0.000000").
  return v < 0 || Object.is(v, -0) ? (fixed.startsWith('-') ? fixed : `-${fixed}`) : fixed;
}

/**
 * Classification extension: replaces an output by the top-K "value:index[:label]" strings per batch
 * item (shape [batch, min(K, n)] when batched, else [min(K, n)]). Pure.
 */
export function classify(t: Tensor, k: number, batched: boolean, labels?: string[]): Tensor {
  if (isBytesData(t.data) || t.datatype === 'FP16' || t.datatype === 'BF16' || t.datatype === 'BOOL')
    throw invalidArg(`classification is not supported for output '${t.name}' of type ${t.datatype}`);
  const data = t.data;
  const items = batched ? (t.shape[0] ?? 1) : 1;
  const per = items === 0 ? 0 : elementCount(t.shape) / items;
  const top = Math.min(k, per);
  const out: Uint8Array[] = [];
  const big = isBigIntType(t.datatype);
  const float = t.datatype === 'FP32' || t.datatype === 'FP64';
  for (let b = 0; b < items; b++) {
    const idx = Array.from({ length: per }, (_, i) => i);
    const at = (i: number) => data[b * per + i]!;
    idx.sort((x, y) => (big ? (at(y) > at(x) ? 1 : at(y) < at(x) ? -1 : 0) : Number(at(y)) - Number(at(x))) || x - y);
    for (let j = 0; j < top; j++) {
      const i = idx[j]!;
      const label = labels?.[i];
      out.push(enc.encode(`${formatValue(at(i), float)}:${i}${label !== undefined ? `:${label}` : ''}`));
    }
  }
  return { name: t.name, datatype: 'BYTES', shape: batched ? [items, top] : [top], data: out };
}
