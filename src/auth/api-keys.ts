/**
 * API keys: `igk_<prefix>_<secret>`. The key file keeps, per key, only the prefix (its public id,
 * shown in lists, logs and the audit trail), a random salt and sha256(salt ‖ secret): a leaked
 * file does not leak keys, and a full key is shown once, when created. Keys are 240-bit random, so
 * one fast hash is enough (slow password hashes are for guessable secrets) and verification stays
 * within the ≤ 20 µs budget. Revocation and expiry are checked on every call; the file is re-read
 * when it changes (at most once a second), so `infergate auth key revoke` takes effect without a
 * restart.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Principal, Scope } from '../core/index.js';
import { LRUCache } from 'lru-cache';
import { InferError } from '../core/index.js';

export interface StoredKey {
  /** Public id: 8 lowercase base32 characters. */
  prefix: string;
  name: string;
  salt: string;
  hash: string;
  scopes: Scope[];
  tenant?: string;
  models?: string[];
  rateLimit?: { rate: number; burst: number };
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
}

interface KeyFile {
  format: 'infergate-api-keys/1';
  keys: StoredKey[];
}

const KEY = /^igk_([a-z2-7]{8})_([A-Za-z0-9_-]{40})$/;
const SCOPES: readonly Scope[] = ['infer', 'read', 'admin'];
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

function digest(salt: string, secret: string): Buffer {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(secret).digest();
}

export function checkScopes(scopes: readonly string[]): Scope[] {
  for (const s of scopes)
    if (!SCOPES.includes(s as Scope))
      throw new InferError('IG_ERR_INVALID_ARG', `unknown scope '${s.slice(0, 32)}': use ${SCOPES.join(', ')}`);
  return [...new Set(scopes)] as Scope[];
}

/** Why a presented key was refused, for the log and the audit trail (never for the client). */
export type KeyRefusal = 'malformed' | 'unknown' | 'wrong-secret' | 'revoked' | 'expired';

export class ApiKeyStore {
  private keys = new Map<string, StoredKey>();
  /**
   * Keys whose secret was already checked, by the presented string: the hash runs once per key
   * and process (measured ~20 µs in a busy server), not per request. Emptied on every reload;
   * expiry and revocation are still checked on every call.
   */
  private readonly verified = new LRUCache<string, Principal>({ max: 10_000 });
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    this.reload(true);
  }

  /** A principal for a presented key, or the reason it was refused. */
  verify(presented: string): Principal | KeyRefusal {
    this.reload(false);
    const hit = this.verified.get(presented);
    if (hit) {
      const stored = this.keys.get(hit.id.slice(4)) as StoredKey;
      return this.state(stored) ?? hit;
    }
    const m = KEY.exec(presented);
    if (!m) return 'malformed';
    const stored = this.keys.get(m[1] as string);
    if (!stored) return 'unknown';
    const expected = Buffer.from(stored.hash, 'hex');
    const actual = digest(stored.salt, m[2] as string);
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return 'wrong-secret';
    const refusal = this.state(stored);
    if (refusal) return refusal;
    const principal: Principal = {
      id: `key:${stored.prefix}`,
      kind: 'api-key',
      scopes: stored.scopes,
      tenant: stored.tenant,
      models: stored.models,
      rateLimit: stored.rateLimit,
    };
    this.verified.set(presented, principal);
    return principal;
  }

  /** Revoked or expired now; undefined when the key is usable. */
  private state(stored: StoredKey): 'revoked' | 'expired' | undefined {
    if (stored.revokedAt) return 'revoked';
    if (stored.expiresAt && Date.parse(stored.expiresAt) <= this.now()) return 'expired';
    return undefined;
  }

  list(): StoredKey[] {
    this.reload(true);
    return [...this.keys.values()];
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  create(spec: Omit<StoredKey, 'prefix' | 'salt' | 'hash' | 'createdAt'>): { key: string; record: StoredKey } {
    this.reload(true);
    checkScopes(spec.scopes);
    let prefix: string;
    do prefix = [...randomBytes(8)].map((b) => B32[b & 31]).join('');
    while (this.keys.has(prefix));
    const secret = randomBytes(30).toString('base64url');
    const salt = randomBytes(16).toString('hex');
    const record: StoredKey = {
      ...spec,
      prefix,
      salt,
      hash: digest(salt, secret).toString('hex'),
      createdAt: new Date(this.now()).toISOString(),
    };
    this.keys.set(prefix, record);
    this.save();
    return { key: `igk_${prefix}_${secret}`, record };
  }

  revoke(prefix: string): StoredKey {
    this.reload(true);
    const k = this.keys.get(prefix);
    if (!k) throw new InferError('IG_ERR_NOT_FOUND', `no API key with prefix '${prefix.slice(0, 16)}'`);
    k.revokedAt ??= new Date(this.now()).toISOString();
    this.verified.clear();
    this.save();
    return k;
  }

  private reload(force: boolean): void {
    const t = this.now();
    if (!force && t - this.checkedAt < 1000) return;
    this.checkedAt = t;
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (!st) {
      this.keys = new Map();
      this.verified.clear();
      this.mtimeMs = -1;
      return;
    }
    if (st.mtimeMs === this.mtimeMs && !force) return;
    const doc = JSON.parse(readFileSync(this.path, 'utf8')) as KeyFile;
    if (doc.format !== 'infergate-api-keys/1') throw new Error(`${this.path} is not an infergate API key file`);
    this.keys = new Map(doc.keys.map((k) => [k.prefix, k]));
    this.verified.clear();
    this.mtimeMs = st.mtimeMs;
  }

  private save(): void {
    const doc: KeyFile = { format: 'infergate-api-keys/1', keys: [...this.keys.values()] };
    const temp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(temp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temp, 0o600);
    renameSync(temp, this.path);
    this.mtimeMs = statSync(this.path).mtimeMs;
  }
}
