/**
 * The audit trail as a JSON-lines file, one hash-chained row per line (registry/audit-chain.ts),
 * with the chain's head kept beside it in `<file>.head`: an edited or deleted line breaks the
 * chain, a cut tail no longer matches the head (`infergate audit verify --file`). Appends are
 * queued and written in order with O_APPEND; a write failure is reported, never thrown at a caller.
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { type AuditBody, auditHash, GENESIS, verifyChain } from '../registry/audit-chain.js';
import type { AuditEntry, AuditVerdict } from '../registry/types.js';
import { type AuditSink, type SecurityEvent, toAuditBody } from './types.js';

interface Head {
  seq: number;
  hash: string;
}

export class FileAuditLog implements AuditSink {
  private head: Head;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.head = readHead(path);
  }

  record(e: SecurityEvent): void {
    const body: AuditBody = { ...toAuditBody(e), seq: this.head.seq + 1, at: new Date(this.now()).toISOString() };
    const stored = JSON.parse(JSON.stringify(body)) as AuditBody;
    const hash = auditHash(this.head.hash, stored);
    const line = `${JSON.stringify({ ...stored, prevHash: this.head.hash, hash })}\n`;
    this.head = { seq: body.seq, hash };
    const head = JSON.stringify(this.head);
    this.queue = this.queue
      .then(async () => {
        await appendFile(this.path, line, { mode: 0o600 });
        await writeFile(`${this.path}.head.tmp`, head);
        await rename(`${this.path}.head.tmp`, `${this.path}.head`);
      })
      .catch(this.onError);
  }

  flush(): Promise<void> {
    return this.queue;
  }

  close(): Promise<void> {
    return this.queue;
  }
}

/** The head recorded beside the file (or, for a file without one, its last line; GENESIS for none). */
function readHead(path: string): Head {
  if (existsSync(`${path}.head`)) return JSON.parse(readFileSync(`${path}.head`, 'utf8')) as Head;
  if (!existsSync(path)) return { seq: 0, hash: GENESIS };
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n').filter(Boolean);
  const last = lines.at(-1);
  return last ? (({ seq, hash }) => ({ seq, hash }))(JSON.parse(last) as AuditEntry) : { seq: 0, hash: GENESIS };
}

/** Re-checks a file's chain against its recorded head; unparsable lines are named too. */
export async function verifyAuditFile(path: string): Promise<AuditVerdict> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const rows: AuditEntry[] = [];
  const problems: AuditVerdict['problems'] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as AuditEntry);
    } catch {
      problems.push({ seq: -(i + 1), problem: `line ${i + 1} is not JSON` });
    }
  }
  const head = existsSync(`${path}.head`)
    ? (JSON.parse(await readFile(`${path}.head`, 'utf8')) as Head)
    : { seq: rows.at(-1)?.seq ?? 0, hash: rows.at(-1)?.hash ?? GENESIS };
  problems.push(...verifyChain(rows, head));
  return { ok: problems.length === 0, rows: rows.length, head: head.hash, problems };
}
