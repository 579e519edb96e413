import { type DescField, type DescMessage, fromJson, type JsonValue } from '@bufbuild/protobuf';
import { isMap, isSeq, type LineCounter, type Node, type Pair } from 'yaml';

/** A line (when known) and a field path an error points at. */
export interface JsonLocation {
  line?: number;
  field?: string;
}

type Ctx = { lines: LineCounter };

function lineOf(node: unknown, ctx: Ctx): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? ctx.lines.linePos(range[0]).line : undefined;
}

function js(node: unknown): unknown {
  return node && typeof (node as { toJSON?: unknown }).toJSON === 'function'
    ? (node as { toJSON(): unknown }).toJSON()
    : node;
}

function decodes(desc: DescMessage, key: string, value: unknown): boolean {
  try {
    fromJson(desc, { [key]: value } as JsonValue);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the deepest mapping key whose value makes `fromJson` fail, testing one field at a time
 * against the message schema; returns its line (from the YAML source) and field path.
 */
export function locateJsonError(desc: DescMessage, node: unknown, lines: LineCounter, path = ''): JsonLocation {
  return walkMap(desc, node, { lines }, path) ?? { line: lineOf(node, { lines }) ?? 1, field: path || undefined };
}

function walkMap(desc: DescMessage, node: unknown, ctx: Ctx, path: string): JsonLocation | undefined {
  if (!isMap(node)) return undefined;
  for (const pair of node.items as Pair<unknown, unknown>[]) {
    const key = String(js(pair.key));
    const here = path ? `${path}.${key}` : key;
    const line = lineOf(pair.key, ctx);
    const f = desc.fields.find((x) => x.name === key || x.jsonName === key);
    if (!f) return { line, field: here };
    if (decodes(desc, key, js(pair.value))) continue;
    return walkValue(desc, f, key, pair.value, ctx, here) ?? { line, field: here };
  }
  return undefined;
}

function walkValue(
  desc: DescMessage,
  f: DescField,
  key: string,
  value: unknown,
  ctx: Ctx,
  here: string,
): JsonLocation | undefined {
  if (f.fieldKind === 'message') return walkMap(f.message, value, ctx, here);
  if (f.fieldKind === 'list' && isSeq(value)) {
    for (const [i, item] of (value.items as Node[]).entries()) {
      if (decodes(desc, key, [js(item)])) continue;
      const inner = f.listKind === 'message' ? walkMap(f.message, item, ctx, `${here}[${i}]`) : undefined;
      return inner ?? { line: lineOf(item, ctx), field: `${here}[${i}]` };
    }
  }
  if (f.fieldKind === 'map' && isMap(value)) {
    for (const pair of value.items as Pair<unknown, unknown>[]) {
      const k = String(js(pair.key));
      if (decodes(desc, key, { [k]: js(pair.value) })) continue;
      const inner = f.mapKind === 'message' ? walkMap(f.message, pair.value, ctx, `${here}[${k}]`) : undefined;
      return inner ?? { line: lineOf(pair.key, ctx), field: `${here}[${k}]` };
    }
  }
  return undefined;
}
