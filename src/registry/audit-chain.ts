/**
 * The audit log's hash chain, pure: each row's hash is sha256 over the previous row's hash and the
 * row's own fields in a canonical JSON form (keys sorted, absent fields omitted). Editing a row
 * breaks its hash; deleting or inserting one breaks the next row's link or the seq sequence;
 * deleting the tail is caught against the head recorded beside the log. Both stores use this file.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry } from './types.js';

/** The `prevHash` of the first row. */
export const GENESIS = '0'.repeat(64);

/** JSON with object keys sorted at every level; undefined members dropped (as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The hashed content of a row: everything but the hashes themselves. */
export type AuditBody = Omit<AuditEntry, 'hash' | 'prevHash'>;

export function auditHash(prevHash: string, body: AuditBody): string {
  const content: Record<string, unknown> = {
    seq: body.seq,
    at: body.at,
    actor: body.actor,
    action: body.action,
    model: body.model,
    version: body.version,
    alias: body.alias,
    before: body.before,
    after: body.after,
    reason: body.reason,
  };
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(content)).digest('hex');
}

/** Walks rows in seq order; `head` is the {seq, hash} recorded beside the log at the last append. */
export function verifyChain(
  rows: readonly AuditEntry[],
  head: { seq: number; hash: string },
): Array<{ seq: number; problem: string }> {
  const problems: Array<{ seq: number; problem: string }> = [];
  let prev = GENESIS;
  let expectSeq = 1;
  for (const row of rows) {
    if (row.seq !== expectSeq)
      problems.push({
        seq: row.seq,
        problem:
          row.seq > expectSeq ? `rows ${expectSeq}..${row.seq - 1} are missing (deleted)` : 'sequence out of order',
      });
    if (row.prevHash !== prev) problems.push({ seq: row.seq, problem: 'link to the previous row is broken' });
    if (auditHash(row.prevHash, row) !== row.hash)
      problems.push({ seq: row.seq, problem: 'content does not match its hash (edited)' });
    prev = row.hash;
    expectSeq = row.seq + 1;
  }
  const last = rows.at(-1);
  if ((last?.seq ?? 0) !== head.seq || (last?.hash ?? GENESIS) !== head.hash)
    problems.push({
      seq: head.seq,
      problem: `the log ends at row ${last?.seq ?? 0} but its recorded head is row ${head.seq} (rows removed from the end, or the head edited)`,
    });
  return problems;
}
