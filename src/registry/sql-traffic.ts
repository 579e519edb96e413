/**
 * The SQL store's traffic policies, rollout state, replica observations and leases (#13). The
 * mutations run inside the store's serialized, audited transaction (sql-store.ts `mutate`);
 * observations and leases are plain upserts outside the audit log, so they never move the
 * revision replicas poll.
 */
import type { Kysely, Transaction } from 'kysely';
import { InferError } from '../core/index.js';
import { quoteName } from './names.js';
import type { RegistryTables } from './schema.js';
import type { AuditAppender } from './sql-queries.js';
import { findVersion } from './sql-queries.js';
import type { Actor, ObservationRecord, RolloutRecord, TrafficPolicy, TrafficRecord } from './types.js';

type Db = Kysely<RegistryTables>;
type Tx = Transaction<RegistryTables>;

export async function readTraffic(db: Db | Tx): Promise<TrafficRecord[]> {
  const rows = await db.selectFrom('traffic').selectAll().orderBy('model').execute();
  return rows.map((r) => ({
    model: r.model,
    policy: JSON.parse(r.policy) as TrafficPolicy,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  }));
}

export async function readRollouts(db: Db | Tx, model?: string): Promise<RolloutRecord[]> {
  let q = db.selectFrom('rollouts').selectAll();
  if (model !== undefined) q = q.where('model', '=', model);
  const rows = await q.orderBy('model').execute();
  return rows.map((r) => ({
    model: r.model,
    id: r.id,
    seq: Number(r.seq),
    state: JSON.parse(r.state),
    updatedAt: r.updated_at,
  }));
}

export async function writeTraffic(
  tx: Tx,
  log: AuditAppender,
  model: string,
  policy: TrafficPolicy | null,
  actor: Actor,
  reason?: string,
) {
  const before = (await readTraffic(tx)).find((t) => t.model === model)?.policy;
  if (policy === null) {
    if (!before) return;
    await tx.deleteFrom('traffic').where('model', '=', model).execute();
    log.append({ actor, action: 'traffic.clear', model, before, reason });
    return;
  }
  const named = [...policy.arms.map((a) => a.version), ...(policy.shadows ?? []).map((s) => s.version)];
  for (const v of new Set(named))
    if (!(await findVersion(tx, model, v)))
      throw new InferError('IG_ERR_NOT_FOUND', `model ${quoteName(model)} has no version ${v}`);
  const values = { policy: JSON.stringify(policy), updated_at: log.at, updated_by: actor };
  await tx
    .insertInto('traffic')
    .values({ model, ...values })
    .onConflict((oc) => oc.column('model').doUpdateSet(values))
    .execute();
  log.append({ actor, action: 'traffic.set', model, before, after: policy, reason });
}

export async function writeRollout(
  tx: Tx,
  log: AuditAppender,
  model: string,
  rollout: { id: string; state: Record<string, unknown> },
  expectedSeq: number | undefined,
  actor: Actor,
  reason?: string,
): Promise<RolloutRecord> {
  const [current] = await readRollouts(tx, model);
  if (current?.seq !== expectedSeq)
    throw new InferError(
      'IG_ERR_CONFLICT',
      current
        ? `the rollout of model ${quoteName(model)} changed meanwhile (now at update ${current.seq}, status ${String(current.state.status)})`
        : `model ${quoteName(model)} has no rollout`,
    );
  const seq = (current?.seq ?? 0) + 1;
  const values = { id: rollout.id, seq, state: JSON.stringify(rollout.state), updated_at: log.at };
  await tx
    .insertInto('rollouts')
    .values({ model, ...values })
    .onConflict((oc) => oc.column('model').doUpdateSet(values))
    .execute();
  log.append({
    actor,
    action: 'rollout.update',
    model,
    before: current && { id: current.id, status: current.state.status, step: current.state.step },
    after: { id: rollout.id, status: rollout.state.status, step: rollout.state.step },
    reason,
  });
  return { model, id: rollout.id, seq, state: rollout.state, updatedAt: log.at };
}

export async function upsertObservation(
  db: Db,
  model: string,
  replica: string,
  data: Record<string, unknown>,
  at: string,
) {
  const values = { data: JSON.stringify(data), updated_at: at };
  await db
    .insertInto('observations')
    .values({ model, replica, ...values })
    .onConflict((oc) => oc.columns(['model', 'replica']).doUpdateSet(values))
    .execute();
}

export async function readObservations(db: Db, model: string): Promise<ObservationRecord[]> {
  const rows = await db.selectFrom('observations').selectAll().where('model', '=', model).orderBy('replica').execute();
  return rows.map((r) => ({ model: r.model, replica: r.replica, data: JSON.parse(r.data), updatedAt: r.updated_at }));
}

/** Takes the lease when it is free or expired, renews it when `holder` has it; one statement, so atomic. */
export async function takeLease(db: Db, name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean> {
  const expires = Math.floor(nowMs + ttlMs);
  await db
    .insertInto('leases')
    .values({ name, holder, expires_at: expires })
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet({ holder, expires_at: expires })
        .where((eb) => eb.or([eb('leases.expires_at', '<', Math.floor(nowMs)), eb('leases.holder', '=', holder)])),
    )
    .execute();
  const row = await db.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst();
  return row?.holder === holder;
}
