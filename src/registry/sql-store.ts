/**
 * The RegistryStore over SQL, one implementation for SQLite and PostgreSQL (kysely compiles the
 * same queries for both; `sqlite.ts` and `postgres.ts` open the connection and differ only in
 * how other processes learn about changes).
 *
 * Every mutation runs in one transaction that first takes the audit head row (an UPDATE: a row
 * lock on PostgreSQL, the write lock on SQLite), so mutations are serialized across processes,
 * compare-and-set checks read the committed state, and the audit rows chain without gaps.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { type Clock, InferError } from '../core/index.js';
import { verifyChain } from './audit-chain.js';
import { checkAliasName, checkFilePath, checkModelName, quoteName } from './names.js';
import { aliasRecord, auditEntry, modelRecord, versionRecord, versionRow, versionSummary } from './rows.js';
import type { Dialect, RegistryTables } from './schema.js';
import {
  AuditAppender,
  checkExpected,
  findAlias,
  findVersion,
  merge,
  mustFindVersion,
  readHead,
} from './sql-queries.js';
import {
  readObservations,
  readRollouts,
  readTraffic,
  takeLease,
  upsertObservation,
  writeRollout,
  writeTraffic,
} from './sql-traffic.js';
import { storeError } from './store-errors.js';
import type {
  Actor,
  AliasChange,
  AliasRecord,
  AuditEntry,
  AuditQuery,
  AuditVerdict,
  ModelRecord,
  NewVersion,
  ObservationRecord,
  RolloutRecord,
  TrafficPolicy,
  TrafficRecord,
  RegistrySnapshot,
  RegistryStore,
  ValidationRecord,
  VersionRecord,
} from './types.js';

type Db = Kysely<RegistryTables>;
type Tx = Transaction<RegistryTables>;

export interface SqlStoreOptions {
  db: Db;
  dialect: Dialect;
  location: string;
  clock: Clock;
  /** Change hints from other processes (PostgreSQL LISTEN); absent for SQLite. */
  watch?: (onChange: () => void) => () => void;
  /** Extra cleanup after the database is closed (the LISTEN connection). */
  onClose?: () => Promise<void>;
  /**
   * Runs a mutation exclusively among this process's stores on the same database. SQLite needs it:
   * better-sqlite3 waits for a lock synchronously, so two connections of one process would block
   * the thread that has to commit the first (PostgreSQL waits asynchronously: absent).
   */
  exclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** PostgreSQL's NOTIFY channel; the payload is the new revision. */
export const NOTIFY_CHANNEL = 'infergate_registry';

export class SqlRegistryStore implements RegistryStore {
  readonly location: string;

  constructor(private readonly o: SqlStoreOptions) {
    this.location = o.location;
  }

  revision(): Promise<number> {
    return this.read(async (db) => (await readHead(db)).seq);
  }

  listModels(): Promise<ModelRecord[]> {
    return this.read(async (db) =>
      (await db.selectFrom('models').selectAll().orderBy('name').execute()).map(modelRecord),
    );
  }

  getModel(name: string): Promise<ModelRecord | undefined> {
    return this.read(async (db) => {
      const row = await db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirst();
      return row && modelRecord(row);
    });
  }

  listVersions(model: string): Promise<VersionRecord[]> {
    return this.read(async (db) =>
      (await db.selectFrom('versions').selectAll().where('model', '=', model).orderBy('version').execute()).map(
        versionRecord,
      ),
    );
  }

  getVersion(model: string, version: number): Promise<VersionRecord | undefined> {
    return this.read((db) => findVersion(db, model, version));
  }

  async registerVersion(v: NewVersion, actor: Actor): Promise<VersionRecord> {
    checkModelName(v.model);
    for (const f of v.files) checkFilePath(f.path);
    return this.mutate(async (tx, log) => {
      if (!(await tx.selectFrom('models').select('name').where('name', '=', v.model).executeTakeFirst())) {
        await tx
          .insertInto('models')
          .values({ name: v.model, created_at: log.at, created_by: actor, description: '' })
          .execute();
        log.append({ actor, action: 'model.create', model: v.model, after: { name: v.model } });
      }
      const max = await tx
        .selectFrom('versions')
        .select((eb) => eb.fn.max('version').as('max'))
        .where('model', '=', v.model)
        .executeTakeFirst();
      const number = v.version ?? Number(max?.max ?? 0) + 1;
      if (v.version !== undefined && (await findVersion(tx, v.model, v.version)))
        throw new InferError('IG_ERR_CONFLICT', `model ${quoteName(v.model)} version ${v.version} already exists`);
      await tx
        .insertInto('versions')
        .values(versionRow(v, number, log.at, actor))
        .execute();
      const record = (await findVersion(tx, v.model, number)) as VersionRecord;
      log.append({ actor, action: 'version.register', model: v.model, version: number, after: versionSummary(record) });
      return record;
    });
  }

  updateVersion(
    model: string,
    version: number,
    patch: { tags?: Record<string, string | null>; metrics?: Record<string, number | null>; pinned?: boolean },
    actor: Actor,
  ): Promise<VersionRecord> {
    return this.mutate(async (tx, log) => {
      const current = await mustFindVersion(tx, model, version);
      const tags = merge(current.tags, patch.tags);
      const metrics = merge(current.metrics, patch.metrics);
      const pinned = patch.pinned ?? current.pinned;
      await tx
        .updateTable('versions')
        .set({ tags: JSON.stringify(tags), metrics: JSON.stringify(metrics), pinned: pinned ? 1 : 0 })
        .where('model', '=', model)
        .where('version', '=', version)
        .execute();
      log.append({
        actor,
        action: 'version.update',
        model,
        version,
        before: { tags: current.tags, metrics: current.metrics, pinned: current.pinned },
        after: { tags, metrics, pinned },
      });
      return { ...current, tags, metrics, pinned };
    });
  }

  recordValidation(model: string, version: number, result: ValidationRecord, actor: Actor): Promise<void> {
    return this.mutate(async (tx, log) => {
      const current = await mustFindVersion(tx, model, version);
      await tx
        .updateTable('versions')
        .set({ validation: JSON.stringify(result) })
        .where('model', '=', model)
        .where('version', '=', version)
        .execute();
      const summary = (r: ValidationRecord | undefined) =>
        r && { passed: r.passed, checks: r.checks.map((c) => `${c.name} ${c.passed ? 'passed' : 'failed'}`) };
      log.append({
        actor,
        action: 'version.validate',
        model,
        version,
        before: summary(current.validation),
        after: { ...summary(result), measurements: result.measurements, baseline: result.baseline },
      });
    });
  }

  listAliases(model?: string): Promise<AliasRecord[]> {
    return this.read(async (db) => {
      let q = db.selectFrom('aliases').selectAll();
      if (model !== undefined) q = q.where('model', '=', model);
      return (await q.orderBy('model').orderBy('alias').execute()).map(aliasRecord);
    });
  }

  async setAlias(change: AliasChange, actor: Actor): Promise<AliasRecord> {
    checkModelName(change.model);
    checkAliasName(change.alias);
    return this.mutate(async (tx, log) => {
      await mustFindVersion(tx, change.model, change.version);
      const current = await findAlias(tx, change.model, change.alias);
      checkExpected(change.model, change.alias, current, change.expected);
      const record: AliasRecord = {
        model: change.model,
        alias: change.alias,
        version: change.version,
        protected: change.protected ?? current?.protected ?? false,
        updatedAt: log.at,
        updatedBy: actor,
      };
      const values = {
        version: record.version,
        protected: record.protected ? 1 : 0,
        updated_at: record.updatedAt,
        updated_by: actor,
      };
      await tx
        .insertInto('aliases')
        .values({ model: record.model, alias: record.alias, ...values })
        .onConflict((oc) => oc.columns(['model', 'alias']).doUpdateSet(values))
        .execute();
      log.append({
        actor,
        action: 'alias.set',
        model: change.model,
        version: change.version,
        alias: change.alias,
        before: current && { version: current.version, protected: current.protected },
        after: { version: record.version, protected: record.protected },
        reason: change.reason,
      });
      return record;
    });
  }

  deleteAlias(model: string, alias: string, expected: number | undefined, actor: Actor, reason?: string) {
    return this.mutate(async (tx, log) => {
      const current = await findAlias(tx, model, alias);
      if (!current)
        throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no alias ${quoteName(alias)}`);
      checkExpected(model, alias, current, expected);
      await tx.deleteFrom('aliases').where('model', '=', model).where('alias', '=', alias).execute();
      log.append({
        actor,
        action: 'alias.delete',
        model,
        version: current.version,
        alias,
        before: { version: current.version, protected: current.protected },
        reason,
      });
    });
  }

  audit(query: AuditQuery = {}): Promise<AuditEntry[]> {
    return this.read(async (db) => {
      let q = db
        .selectFrom('audit')
        .selectAll()
        .where('seq', '>', query.after ?? 0);
      if (query.model !== undefined) q = q.where('model', '=', query.model);
      if (query.limit !== undefined) q = q.limit(query.limit);
      return (await q.orderBy('seq').execute()).map(auditEntry);
    });
  }

  appendAudit(entry: Pick<AuditEntry, 'actor' | 'action' | 'model' | 'after' | 'reason'>): Promise<void> {
    return this.mutate(async (_tx, log) => log.append(entry));
  }

  verifyAudit(): Promise<AuditVerdict> {
    return this.read(async (db) => {
      const head = await readHead(db);
      const rows = (await db.selectFrom('audit').selectAll().orderBy('seq').execute()).map(auditEntry);
      const problems = verifyChain(rows, head);
      return { ok: problems.length === 0, rows: rows.length, head: head.hash, problems };
    });
  }

  snapshot(): Promise<RegistrySnapshot> {
    const run = async (tx: Tx): Promise<RegistrySnapshot> => {
      const revision = (await readHead(tx)).seq;
      const aliases = (await tx.selectFrom('aliases').selectAll().orderBy('model').orderBy('alias').execute()).map(
        aliasRecord,
      );
      const rows = await tx
        .selectFrom('versions')
        .selectAll('versions')
        .where((eb) =>
          eb.or([
            eb('pinned', '=', 1),
            eb.exists(
              eb.selectFrom('traffic').select('traffic.model').whereRef('traffic.model', '=', 'versions.model'),
            ),
            eb.exists(
              eb
                .selectFrom('aliases')
                .select('aliases.alias')
                .whereRef('aliases.model', '=', 'versions.model')
                .whereRef('aliases.version', '=', 'versions.version'),
            ),
          ]),
        )
        .orderBy('model')
        .orderBy('version')
        .execute();
      const traffic = await readTraffic(tx);
      const rollouts = await readRollouts(tx);
      // A traffic policy names versions inside its JSON: keep those of its model that it names.
      const named = new Map(traffic.map((t) => [t.model, trafficVersions(t.policy)]));
      const versions = rows
        .map(versionRecord)
        .filter(
          (v) =>
            v.pinned ||
            aliases.some((a) => a.model === v.model && a.version === v.version) ||
            named.get(v.model)?.has(v.version),
        );
      return { revision, aliases, versions, traffic, rollouts };
    };
    // One consistent read: PostgreSQL's default isolation re-snapshots per statement.
    const trx = this.o.db.transaction();
    return this.guard((this.o.dialect === 'postgres' ? trx.setIsolationLevel('repeatable read') : trx).execute(run));
  }

  listTraffic(): Promise<TrafficRecord[]> {
    return this.read((db) => readTraffic(db));
  }

  setTraffic(model: string, policy: TrafficPolicy | null, actor: Actor, reason?: string): Promise<void> {
    checkModelName(model);
    return this.mutate((tx, log) => writeTraffic(tx, log, model, policy, actor, reason));
  }

  async getRollout(model: string): Promise<RolloutRecord | undefined> {
    return (await this.read((db) => readRollouts(db, model)))[0];
  }

  putRollout(
    model: string,
    rollout: { id: string; state: Record<string, unknown> },
    expectedSeq: number | undefined,
    actor: Actor,
    reason?: string,
  ): Promise<RolloutRecord> {
    checkModelName(model);
    return this.mutate((tx, log) => writeRollout(tx, log, model, rollout, expectedSeq, actor, reason));
  }

  putObservation(model: string, replica: string, data: Record<string, unknown>): Promise<void> {
    return this.read((db) =>
      upsertObservation(db, model, replica, data, new Date(this.o.clock.wallMs()).toISOString()),
    );
  }

  listObservations(model: string): Promise<ObservationRecord[]> {
    return this.read((db) => readObservations(db, model));
  }

  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean> {
    const take = () => takeLease(this.o.db, name, holder, ttlMs, nowMs);
    return this.guard(this.o.exclusive ? this.o.exclusive(take) : take());
  }

  watch(onChange: () => void): () => void {
    return this.o.watch ? this.o.watch(onChange) : () => undefined;
  }

  async close(): Promise<void> {
    await this.o.db.destroy();
    await this.o.onClose?.();
  }

  private read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    return this.guard(fn(this.o.db));
  }

  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw storeError(this.location, err);
    }
  }

  /** One serialized transaction whose audit rows are chained and written with it. */
  private mutate<T>(fn: (tx: Tx, log: AuditAppender) => Promise<T>): Promise<T> {
    const at = new Date(this.o.clock.wallMs()).toISOString();
    const run = () =>
      this.o.db.transaction().execute(async (tx) => {
        await tx.updateTable('meta').set({ value: sql<string>`value` }).where('key', '=', 'audit_head').execute();
        const log = new AuditAppender(await readHead(tx), at);
        const out = await fn(tx, log);
        if (log.rows.length > 0) {
          await tx.insertInto('audit').values(log.rows).execute();
          await tx
            .updateTable('meta')
            .set({ value: JSON.stringify(log.head) })
            .where('key', '=', 'audit_head')
            .execute();
          if (this.o.dialect === 'postgres')
            await sql`select pg_notify(${NOTIFY_CHANNEL}, ${String(log.head.seq)})`.execute(tx);
        }
        return out;
      });
    return this.guard(this.o.exclusive ? this.o.exclusive(run) : run());
  }
}

function trafficVersions(p: TrafficPolicy): Set<number> {
  return new Set([...p.arms.map((a) => a.version), ...(p.shadows ?? []).map((x) => x.version)]);
}
