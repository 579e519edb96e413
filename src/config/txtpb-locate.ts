import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { fromText } from '@bufbuild/protobuf/txtpb';
import type { TxtField, TxtValue } from './txtpb-scan.js';

/** A line and a field path (`input[1].data_type`) that an error points at. */
export interface TxtLocation {
  line: number;
  field: string;
}

/** True when the text parses as (part of) the message — used to test one field in isolation. */
function parses(desc: DescMessage, text: string): boolean {
  try {
    fromText(desc, text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the first field occurrence that makes `fromText` fail, descending into nested blocks
 * so the deepest offending field is named. Cross-field rules (repeated singular field, two
 * members of one oneof) are checked here because they cannot be seen one field at a time.
 */
export function locateTxtError(
  desc: DescMessage,
  fields: TxtField[],
  text: string,
  path = '',
): TxtLocation | undefined {
  const seen = new Set<string>();
  const oneofs = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const node of fields) {
    const here = path ? `${path}.${node.name}` : node.name;
    const f = desc.fields.find((x) => x.name === node.name);
    if (!f) return { line: node.line, field: here };
    const singular = f.fieldKind !== 'list' && f.fieldKind !== 'map';
    if (singular && (seen.has(f.name) || node.list)) return { line: node.line, field: here };
    seen.add(f.name);
    if (f.oneof) {
      const prev = oneofs.get(f.oneof.name);
      if (prev !== undefined && prev !== f.name) return { line: node.line, field: here };
      oneofs.set(f.oneof.name, f.name);
    }
    const base = counts.get(f.name) ?? 0;
    counts.set(f.name, base + node.values.length);
    if (parses(desc, text.slice(node.start, node.end))) continue;
    return locateInValues(desc, f, node, here, base, text) ?? { line: node.line, field: here };
  }
  return undefined;
}

function locateInValues(
  desc: DescMessage,
  f: DescField,
  node: TxtField,
  here: string,
  base: number,
  text: string,
): TxtLocation | undefined {
  for (const [i, v] of node.values.entries()) {
    const p = f.fieldKind === 'list' ? `${here}[${base + i}]` : here;
    // Each value alone, in the parent's context: a good one is skipped.
    if (parses(desc, `${node.name}: ${text.slice(v.start, v.end)}`)) continue;
    if (v.kind === 'scalar') return { line: v.line, field: p };
    const inner = f.fieldKind === 'map' ? locateInMapEntry(f, v, here, text) : locateInMessage(f, v, p, text);
    return inner ?? { line: v.line, field: p };
  }
  return undefined;
}

function locateInMessage(f: DescField, v: TxtValue, p: string, text: string): TxtLocation | undefined {
  const msg = f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message') ? f.message : undefined;
  return msg && v.fields ? locateTxtError(msg, v.fields, text, p) : undefined;
}

function locateInMapEntry(f: DescField, v: TxtValue, here: string, text: string): TxtLocation | undefined {
  if (f.fieldKind !== 'map') return undefined;
  const entry = v.fields ?? [];
  const bad = entry.find((n) => n.name !== 'key' && n.name !== 'value');
  if (bad) return { line: bad.line, field: `${here}.${bad.name}` };
  const keyNode = entry.find((n) => n.name === 'key')?.values[0];
  const key = keyNode ? text.slice(keyNode.start, keyNode.end) : '?';
  const valueNode = entry.find((n) => n.name === 'value');
  const value = valueNode?.values[0];
  if (f.mapKind === 'message' && value?.kind === 'msg' && value.fields)
    return locateTxtError(f.message, value.fields, text, `${here}[${key}]`);
  return { line: (valueNode ?? keyNode ?? v).line, field: `${here}[${key}]` };
}
