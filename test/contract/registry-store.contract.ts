/**
 * The RegistryStore contract, run against every store (architecture rule 3): SQLite in
 * test/unit/registry/sqlite-store.test.ts and a real PostgreSQL in
 * test/integration/registry-postgres.test.ts. What registering, aliases with compare-and-set,
 * validation, snapshots, the hash-chained audit log, migrations and change visibility mean,
 * whatever the database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Clock, InferError } from '../../src/core/index.js';
import type { NewVersion, RegistryStore, ValidationRecord } from '../../src/registry/types.js';

/** A store under test and raw access to its database. */
export interface StoreHarness {
  store: RegistryStore;
  /** Opens a second store on the same database (another process, as far as the store knows). */
  reopen(): Promise<RegistryStore>;
  /** Runs raw SQL against the database (tampering, schema edits). */
  exec(sql: string): Promise<void>;
  /** True when `watch` fires for another instance's changes (PostgreSQL). */
  notifies: boolean;
  cleanup(): Promise<void>;
}

/** A clock whose wall time the test sets. */
export function fixedClock(start = Date.UTC(2026, 11, 7, 10, 0, 0)): Clock & { set(ms: number): void } {
  let wall = start;
  return { now: () => performance.now(), wallMs: () => wall, set: (ms) => (wall = ms) };
}

const file = (path: string, n: number) => ({ path, sha256: n.toString(16).padStart(64, '0'), size: 100 + n });

function newVersion(model: string, extra: Partial<NewVersion> = {}): NewVersion {
  return {
    model,
    sourceUri: `file:///models/${model}`,
    format: 'onnx',
    files: [file('model.onnx', 1)],
    ...extra,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, text?: RegExp): Promise<InferError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof InferError, `expected an InferError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (text) assert.match(err.message, text);
    return err;
  }
  assert.fail(`expected ${code}`);
}

export function registryStoreContract(name: string, open: () => Promise<StoreHarness | undefined>): void {
  describe(`RegistryStore contract: ${name}`, () => {
    let h: StoreHarness | undefined;
    let store: RegistryStore;
    before(async () => {
      h = await open();
      if (h) store = h.store;
    });
    after(async () => {
      await h?.cleanup();
    });
    // Each case uses its own model names, so the cases share one database.
    const live = () => h !== undefined;

    it('starts empty at revision 0', async (t) => {
      if (!live()) return t.skip('store unavailable');
      assert.equal(await store.revision(), 0);
      assert.deepEqual(await store.listModels(), []);
      assert.equal(await store.getModel('nope'), undefined);
      assert.deepEqual(await store.audit(), []);
      const v = await store.verifyAudit();
      assert.equal(v.ok, true);
      assert.equal(v.rows, 0);
    });

    it('registers versions 1, 2… and round-trips every field', async (t) => {
      if (!live()) return t.skip('store unavailable');
      const before = await store.revision();
      const v1 = await store.registerVersion(
        newVersion('rt', {
          signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [] },
          config: { file: 'config.pbtxt', text: 'max_batch_size: 8\n' },
          tags: { team: 'vision' },
          metrics: { accuracy: 0.91 },
          lineage: { transform: 'fp16', parameters: { keep_io: true }, parent: { model: 'rt', version: 7 } },
          files: [file('model.onnx', 1), file('sub/weights.bin', 2)],
        }),
        'cli:alice',
      );
      assert.equal(v1.version, 1);
      assert.equal(v1.createdBy, 'cli:alice');
      assert.equal(v1.pinned, false);
      const v2 = await store.registerVersion(newVersion('rt'), 'cli:bob');
      assert.equal(v2.version, 2);
      const got = await store.getVersion('rt', 1);
      assert.deepEqual(got, v1);
      assert.deepEqual(
        got?.files.map((f) => f.path),
        ['model.onnx', 'sub/weights.bin'],
      );
      assert.deepEqual(got?.lineage.parameters, { keep_io: true });
      assert.equal(got?.config?.text, 'max_batch_size: 8\n');
      assert.deepEqual(
        (await store.listVersions('rt')).map((v) => v.version),
        [1, 2],
      );
      assert.equal((await store.getModel('rt'))?.createdBy, 'cli:alice');
      // model.create + two version.register rows.
      assert.equal(await store.revision(), before + 3);
    });

    it('refuses a version number that is taken, and bad names or paths', async (t) => {
      if (!live()) return t.skip('store unavailable');
      await store.registerVersion(newVersion('taken', { version: 5 }), 'a');
      await rejectsWith(
        store.registerVersion(newVersion('taken', { version: 5 }), 'a'),
        'IG_ERR_CONFLICT',
        /version 5/,
      );
      assert.equal((await store.registerVersion(newVersion('taken'), 'a')).version, 6);
      for (const bad of ['..', '../x', 'a/b', '/abs', 'x\u0000', ' ..', 'a\\b', 'x'.repeat(300), 'a\u2024b'])
        await rejectsWith(store.registerVersion(newVersion(bad), 'a'), 'IG_ERR_INVALID_ARG');
      for (const path of ['../etc/passwd', '/abs', 'a/../b', 'a\\b', '', 'a//b'])
        await rejectsWith(
          store.registerVersion(newVersion('paths', { files: [file(path, 1)] }), 'a'),
          'IG_ERR_INVALID_ARG',
          /file path/,
        );
      assert.equal(await store.getModel('paths'), undefined);
    });

    it('moves aliases by compare-and-set; the loser learns the current target', async (t) => {
      if (!live()) return t.skip('store unavailable');
      for (let i = 0; i < 3; i++) await store.registerVersion(newVersion('cas'), 'a');
      const a = await store.setAlias({ model: 'cas', alias: 'production', version: 1, expected: null }, 'alice');
      assert.equal(a.version, 1);
      assert.equal(a.protected, false);
      await rejectsWith(
        store.setAlias({ model: 'cas', alias: 'production', version: 2, expected: null }, 'bob'),
        'IG_ERR_CONFLICT',
        /names version 1/,
      );
      await rejectsWith(
        store.setAlias({ model: 'cas', alias: 'production', version: 2, expected: 3 }, 'bob'),
        'IG_ERR_CONFLICT',
        /names version 1, not 3/,
      );
      const moved = await store.setAlias(
        { model: 'cas', alias: 'production', version: 2, expected: 1, protected: true, reason: 'passed' },
        'bob',
      );
      assert.deepEqual([moved.version, moved.protected, moved.updatedBy], [2, true, 'bob']);
      // Protection is kept when a later move does not say.
      assert.equal((await store.setAlias({ model: 'cas', alias: 'production', version: 3 }, 'c')).protected, true);
      await rejectsWith(
        store.setAlias({ model: 'cas', alias: 'production', version: 9 }, 'c'),
        'IG_ERR_NOT_FOUND',
        /no version 9/,
      );
      await rejectsWith(store.setAlias({ model: 'ghost', alias: 'x', version: 1 }, 'c'), 'IG_ERR_NOT_FOUND', /ghost/);
      for (const bad of ['7', '1x', '', 'a/b', '..', 'x'.repeat(65)])
        await rejectsWith(store.setAlias({ model: 'cas', alias: bad, version: 1 }, 'c'), 'IG_ERR_INVALID_ARG');
      assert.deepEqual(
        (await store.listAliases('cas')).map((r) => [r.alias, r.version]),
        [['production', 3]],
      );
    });

    it('two concurrent moves from the same expected target: exactly one wins', async (t) => {
      if (!live()) return t.skip('store unavailable');
      for (let i = 0; i < 3; i++) await store.registerVersion(newVersion('race'), 'a');
      await store.setAlias({ model: 'race', alias: 'staging', version: 1 }, 'a');
      const other = await h!.reopen();
      try {
        const results = await Promise.allSettled([
          store.setAlias({ model: 'race', alias: 'staging', version: 2, expected: 1 }, 'one'),
          other.setAlias({ model: 'race', alias: 'staging', version: 3, expected: 1 }, 'two'),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, JSON.stringify(results));
        assert.equal(lost.length, 1);
        assert.equal((lost[0]!.reason as InferError).code, 'IG_ERR_CONFLICT');
        const winner = (won[0] as PromiseFulfilledResult<{ version: number }>).value.version;
        assert.match((lost[0]!.reason as InferError).message, new RegExp(`names version ${winner}`));
      } finally {
        await other.close();
      }
    });

    it('deletes aliases with the same compare', async (t) => {
      if (!live()) return t.skip('store unavailable');
      await store.registerVersion(newVersion('del'), 'a');
      await rejectsWith(store.deleteAlias('del', 'canary', undefined, 'a'), 'IG_ERR_NOT_FOUND', /no alias 'canary'/);
      await store.setAlias({ model: 'del', alias: 'canary', version: 1 }, 'a');
      await rejectsWith(store.deleteAlias('del', 'canary', 2, 'a'), 'IG_ERR_CONFLICT');
      await store.deleteAlias('del', 'canary', 1, 'a', 'rollout over');
      assert.deepEqual(await store.listAliases('del'), []);
    });

    it('merges tags and metrics, pins, and records validation', async (t) => {
      if (!live()) return t.skip('store unavailable');
      await store.registerVersion(newVersion('upd', { tags: { a: '1', b: '2' }, metrics: { acc: 0.5 } }), 'a');
      const u = await store.updateVersion(
        'upd',
        1,
        { tags: { b: null, c: '3' }, metrics: { p99: 4 }, pinned: true },
        'x',
      );
      assert.deepEqual(u.tags, { a: '1', c: '3' });
      assert.deepEqual(u.metrics, { acc: 0.5, p99: 4 });
      assert.equal(u.pinned, true);
      const result: ValidationRecord = {
        at: '2026-12-07T10:00:00.000Z',
        by: 'cli:alice',
        passed: false,
        checks: [{ name: 'accuracy', value: 0.8, kind: 'min', threshold: 0.9, passed: false }],
        measurements: { accuracy: 0.8, latency_p99_ms: 3.5 },
        baseline: 1,
      };
      await store.recordValidation('upd', 1, result, 'cli:alice');
      assert.deepEqual((await store.getVersion('upd', 1))?.validation, result);
      await rejectsWith(store.updateVersion('upd', 2, { pinned: true }, 'x'), 'IG_ERR_NOT_FOUND');
    });

    it('snapshots aliases and the versions serving needs, at one revision', async (t) => {
      if (!live()) return t.skip('store unavailable');
      for (let i = 0; i < 4; i++) await store.registerVersion(newVersion('snap'), 'a');
      await store.setAlias({ model: 'snap', alias: 'production', version: 2 }, 'a');
      await store.updateVersion('snap', 4, { pinned: true }, 'a');
      const s = await store.snapshot();
      assert.equal(s.revision, await store.revision());
      const mine = s.versions.filter((v) => v.model === 'snap').map((v) => v.version);
      assert.deepEqual(mine, [2, 4]);
      assert.ok(s.aliases.some((a) => a.model === 'snap' && a.alias === 'production' && a.version === 2));
    });

    it('audits every mutation: who, when, what, before → after', async (t) => {
      if (!live()) return t.skip('store unavailable');
      await store.registerVersion(newVersion('aud'), 'alice');
      await store.registerVersion(newVersion('aud'), 'alice');
      await store.setAlias({ model: 'aud', alias: 'production', version: 1 }, 'bob');
      await store.setAlias({ model: 'aud', alias: 'production', version: 2, reason: 'better' }, 'carol');
      const rows = await store.audit({ model: 'aud' });
      assert.deepEqual(
        rows.map((r) => [r.action, r.actor, r.version ?? null]),
        [
          ['model.create', 'alice', null],
          ['version.register', 'alice', 1],
          ['version.register', 'alice', 2],
          ['alias.set', 'bob', 1],
          ['alias.set', 'carol', 2],
        ],
      );
      const move = rows[4]!;
      assert.deepEqual(move.before, { version: 1, protected: false });
      assert.deepEqual(move.after, { version: 2, protected: false });
      assert.equal(move.reason, 'better');
      assert.match(move.at, /^\d{4}-\d\d-\d\dT/);
      const since = await store.audit({ model: 'aud', after: rows[2]!.seq });
      assert.equal(since.length, 2);
      assert.equal((await store.audit({ model: 'aud', limit: 2 })).length, 2);
      for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.seq > rows[i - 1]!.seq);
    });

    it('verify names an edited row, a deleted row and a removed tail', async (t) => {
      if (!live()) return t.skip('store unavailable');
      assert.equal((await store.verifyAudit()).ok, true);
      const rows = await store.audit();
      const target = rows[Math.floor(rows.length / 2)]!;
      await h!.exec(`UPDATE audit SET actor = 'mallory' WHERE seq = ${target.seq}`);
      let v = await store.verifyAudit();
      assert.equal(v.ok, false);
      assert.ok(
        v.problems.some((p) => p.seq === target.seq && /edited/.test(p.problem)),
        JSON.stringify(v.problems),
      );
      await h!.exec(`UPDATE audit SET actor = '${target.actor}' WHERE seq = ${target.seq}`);
      assert.equal((await store.verifyAudit()).ok, true);
      // Delete a middle row: the next row's link and the sequence break.
      await h!.exec(`DELETE FROM audit WHERE seq = ${target.seq}`);
      v = await store.verifyAudit();
      assert.ok(
        v.problems.some((p) => /missing/.test(p.problem) && p.seq === target.seq + 1),
        JSON.stringify(v.problems),
      );
      // Put it back, then remove the last row: the recorded head catches it.
      await restoreRow(h!, target);
      assert.equal((await store.verifyAudit()).ok, true);
      const last = rows.at(-1)!;
      await h!.exec(`DELETE FROM audit WHERE seq = ${last.seq}`);
      v = await store.verifyAudit();
      assert.ok(
        v.problems.some((p) => /removed from the end/.test(p.problem)),
        JSON.stringify(v.problems),
      );
      await restoreRow(h!, last);
      assert.equal((await store.verifyAudit()).ok, true);
    });

    it('another instance sees every change (revision, and watch where the store notifies)', async (t) => {
      if (!live()) return t.skip('store unavailable');
      const other = await h!.reopen();
      let fired = 0;
      const unwatch = other.watch(() => fired++);
      try {
        await new Promise((r) => setTimeout(r, 300)); // the LISTEN connection comes up
        const base = fired;
        const rev = await other.revision();
        await store.registerVersion(newVersion('seen'), 'a');
        assert.equal(await other.revision(), rev + 2);
        assert.equal((await other.getVersion('seen', 1))?.version, 1);
        if (h!.notifies) {
          const until = Date.now() + 2000;
          while (fired === base && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
          assert.ok(fired > base, 'watch fired within 2 s');
        }
      } finally {
        unwatch();
        await other.close();
      }
    });

    it('traffic policies: versions must exist; set and clear are audited and in the snapshot', async (t) => {
      if (!live()) return t.skip('store unavailable');
      for (let i = 0; i < 3; i++) await store.registerVersion(newVersion('tr'), 'a');
      await rejectsWith(
        store.setTraffic(
          'tr',
          {
            arms: [
              { version: 1, weight: 50 },
              { version: 9, weight: 50 },
            ],
          },
          'a',
        ),
        'IG_ERR_NOT_FOUND',
        /no version 9/,
      );
      const policy = {
        arms: [
          { version: 1, weight: 90 },
          { version: 2, weight: 10 },
        ],
        shadows: [{ version: 3, percent: 5 }],
      };
      await store.setTraffic('tr', policy, 'alice', 'canary 10%');
      assert.deepEqual((await store.listTraffic()).find((x) => x.model === 'tr')?.policy, policy);
      const snap = await store.snapshot();
      assert.deepEqual(snap.traffic.find((x) => x.model === 'tr')?.policy, policy);
      assert.deepEqual(
        snap.versions.filter((v) => v.model === 'tr').map((v) => v.version),
        [1, 2, 3],
        'the versions a policy names are in the snapshot',
      );
      await store.setTraffic('tr', null, 'alice');
      assert.equal(
        (await store.listTraffic()).some((x) => x.model === 'tr'),
        false,
      );
      const rows = (await store.audit({ model: 'tr' })).filter((r) => r.action.startsWith('traffic.'));
      assert.deepEqual(
        rows.map((r) => [r.action, r.actor]),
        [
          ['traffic.set', 'alice'],
          ['traffic.clear', 'alice'],
        ],
      );
      assert.equal(rows[0]?.reason, 'canary 10%');
    });

    it('rollout state is compare-and-set on its update counter, and audited', async (t) => {
      if (!live()) return t.skip('store unavailable');
      await store.registerVersion(newVersion('ro'), 'a');
      await rejectsWith(
        store.putRollout('ro', { id: 'r1', state: { status: 'running' } }, 1, 'a'),
        'IG_ERR_CONFLICT',
        /no rollout/,
      );
      const first = await store.putRollout('ro', { id: 'r1', state: { status: 'running', step: 0 } }, undefined, 'cli');
      assert.equal(first.seq, 1);
      await rejectsWith(
        store.putRollout('ro', { id: 'r2', state: { status: 'running' } }, undefined, 'cli'),
        'IG_ERR_CONFLICT',
        /changed meanwhile \(now at update 1, status running\)/,
      );
      const other = await h!.reopen();
      try {
        const results = await Promise.allSettled([
          store.putRollout('ro', { id: 'r1', state: { status: 'running', step: 1 } }, 1, 'leader-a'),
          other.putRollout('ro', { id: 'r1', state: { status: 'paused', step: 0 } }, 1, 'cli'),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one writer wins');
      } finally {
        await other.close();
      }
      const now = await store.getRollout('ro');
      assert.equal(now?.seq, 2);
      const audited = (await store.audit({ model: 'ro' })).filter((r) => r.action === 'rollout.update');
      assert.equal(audited.length, 2);
      assert.equal((await store.snapshot()).rollouts.find((r) => r.model === 'ro')?.seq, 2);
    });

    it('observations are upserts per replica that never move the revision; leases have one holder', async (t) => {
      if (!live()) return t.skip('store unavailable');
      const rev = await store.revision();
      await store.putObservation('obs', 'replica-a', { requests: 1 });
      await store.putObservation('obs', 'replica-b', { requests: 2 });
      await store.putObservation('obs', 'replica-a', { requests: 3 });
      assert.deepEqual(
        (await store.listObservations('obs')).map((o) => [o.replica, o.data.requests]),
        [
          ['replica-a', 3],
          ['replica-b', 2],
        ],
      );
      assert.equal(await store.revision(), rev);
      const t0 = 1_000_000;
      assert.equal(await store.acquireLease('rollout-leader', 'a', 5000, t0), true);
      assert.equal(await store.acquireLease('rollout-leader', 'b', 5000, t0 + 1000), false, 'held by a');
      assert.equal(await store.acquireLease('rollout-leader', 'a', 5000, t0 + 2000), true, 'a renews');
      assert.equal(await store.acquireLease('rollout-leader', 'b', 5000, t0 + 8000), true, 'expired: b takes it');
      assert.equal(await store.acquireLease('rollout-leader', 'a', 5000, t0 + 9000), false);
    });

    it('reopening keeps the data; a newer schema is refused naming both versions', async (t) => {
      if (!live()) return t.skip('store unavailable');
      const again = await h!.reopen();
      assert.ok((await again.listModels()).some((m) => m.name === 'rt'));
      await again.close();
      await h!.exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`);
      try {
        await assert.rejects(h!.reopen(), (err: Error) => {
          assert.match(err.message, /schema version 99, newer than this infergate understands \(2\)/);
          return true;
        });
      } finally {
        await h!.exec(`UPDATE meta SET value = '2' WHERE key = 'schema_version'`);
      }
    });

    it('a closed store answers IG_ERR_STORE_UNAVAILABLE naming the store', async (t) => {
      if (!live()) return t.skip('store unavailable');
      const other = await h!.reopen();
      await other.close();
      const err = await rejectsWith(other.listModels(), 'IG_ERR_STORE_UNAVAILABLE');
      assert.ok(err.message.includes(other.location), err.message);
      assert.doesNotMatch(other.location, /:[^@/]*@/, 'no password in the location');
    });
  });
}

/** Re-inserts an audit row exactly as it was. */
async function restoreRow(h: StoreHarness, r: import('../../src/registry/types.js').AuditEntry): Promise<void> {
  const q = (v: unknown) => (v === undefined ? 'NULL' : `'${String(v).replaceAll("'", "''")}'`);
  const j = (v: unknown) => (v === undefined ? 'NULL' : q(JSON.stringify(v)));
  await h.exec(
    `INSERT INTO audit (seq, at, actor, action, model, version, alias, before, after, reason, prev_hash, hash) VALUES (${r.seq}, ${q(r.at)}, ${q(r.actor)}, ${q(r.action)}, ${q(r.model)}, ${r.version ?? 'NULL'}, ${q(r.alias)}, ${j(r.before)}, ${j(r.after)}, ${q(r.reason)}, ${q(r.prevHash)}, ${q(r.hash)})`,
  );
}
