/**
 * The shared store: PostgreSQL through a small `pg` pool, for several replicas. Besides the pool,
 * one dedicated connection LISTENs on the registry channel so replicas hear of an alias move in
 * milliseconds; it reconnects with back-off when the server goes away (readers also poll
 * `revision()`, so a lost notification only delays a change, never loses it).
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Clock } from '../core/index.js';
import { migrate, type RegistryTables, SchemaTooNewError } from './schema.js';
import { NOTIFY_CHANNEL, SqlRegistryStore } from './sql-store.js';
import { storeError } from './store-errors.js';

/** `postgres://user@host:port/db`: the URL without its password or query. */
export function safePostgresLocation(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `postgres://${user}${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export async function openPostgresStore(url: string, clock: Clock): Promise<SqlRegistryStore> {
  const location = safePostgresLocation(url);
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 3000, idleTimeoutMillis: 10_000 });
  // An idle client's connection dropping must not crash the process: the next query reports it.
  pool.on('error', () => undefined);
  const db = new Kysely<RegistryTables>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db, 'postgres');
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw err instanceof SchemaTooNewError ? err : storeError(location, err);
  }
  const listener = new NotifyListener(url);
  return new SqlRegistryStore({
    db,
    dialect: 'postgres',
    location,
    clock,
    watch: (fn) => listener.add(fn),
    onClose: () => listener.close(),
  });
}

/** One LISTEN connection shared by every watcher; started on the first, reconnecting on loss. */
class NotifyListener {
  private readonly fns = new Set<() => void>();
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private backoffMs = 250;

  constructor(private readonly url: string) {}

  add(fn: () => void): () => void {
    this.fns.add(fn);
    if (!this.client && !this.timer) void this.connect();
    return () => this.fns.delete(fn);
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.closed || this.fns.size === 0) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 3000 });
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.channel === NOTIFY_CHANNEL) this.fire();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      this.backoffMs = 250;
      // Anything may have changed while we were not listening.
      this.fire();
    } catch {
      lost();
    }
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => void this.connect(), this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
  }

  private fire(): void {
    for (const fn of this.fns) {
      try {
        fn();
      } catch {
        // A watcher's failure is its own.
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
