// The rollout controller on an embedded store with a hand clock and a fake repository: it leads
// only with the lease, starts a step when the canary is warm, aborts when the canary failed to
// load, rolls back when it stops serving, decides only at interval boundaries, and makes no
// decision (the weights hold) while the store is unreachable.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { InferError } from '../../../src/core/index.js';
import { openSqliteStore } from '../../../src/registry/sqlite.js';
import type { RegistryStore } from '../../../src/registry/types.js';
import type { VersionStatus } from '../../../src/repository/types.js';
import { RolloutController } from '../../../src/rollout/controller.js';
import { emptyHistogram, observe, type ReplicaObservation } from '../../../src/rollout/observations.js';
import { RolloutService } from '../../../src/rollout/service.js';
import type { RolloutState } from '../../../src/rollout/state.js';

let wall = Date.UTC(2026, 11, 7, 12);
const clock = { now: () => wall, wallMs: () => wall };
let store: RegistryStore;
let service: RolloutService;
const states = new Map<number, VersionStatus['state']>();
const reasons = new Map<number, string>();
const repository = {
  modelVersions: (model: string, version?: string | number): VersionStatus[] => [
    {
      model,
      version: Number(version),
      state: states.get(Number(version)) ?? 'READY',
      reason: reasons.get(Number(version)),
    },
  ],
};
const logger = { info: () => undefined, warn: () => undefined };

beforeEach(async () => {
  store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'ig-ctl-')), 'registry.db'), clock);
  for (let i = 0; i < 3; i++)
    await store.registerVersion({ model: 'm', sourceUri: 'file:///m', format: 'onnx', files: [] }, 't');
  await store.setAlias({ model: 'm', alias: 'production', version: 1 }, 't');
  service = new RolloutService(store, { clock });
  states.clear();
  reasons.clear();
});
afterEach(() => store.close());

const controller = (holder = 'a', s: Pick<RegistryStore, 'acquireLease' | 'listObservations' | 'snapshot'> = store) =>
  new RolloutController({ store: s, service, repository, holder, clock, logger });
const status = async () => ((await service.get('m'))?.state as RolloutState | undefined)?.status;

function row(
  id: string,
  step: number,
  arms: Record<number, { requests: number; errors: number; ms: number }>,
): ReplicaObservation {
  const out: ReplicaObservation = { rollout: id, step, at: '', arms: {}, diffs: [] };
  for (const [v, a] of Object.entries(arms)) {
    const latency = emptyHistogram();
    for (let i = 0; i < a.requests; i++) observe(latency, a.ms);
    out.arms[v] = { requests: a.requests, errors: a.errors, latency };
  }
  return out;
}

// With 0 errors on both arms, a 1% error gate needs ~300+ calls per arm before its upper bound is
// under 1%: the counts below are large enough to promote.
test('only the lease holder decides; the canary warm → step 0; clean evidence at the interval → next step', async () => {
  const r = await service.start(
    { model: 'm', to: 2, steps: [10, 50, 100], intervalMs: 60_000, gates: { minSamples: 100 } },
    't',
  );
  const a = controller('a');
  const b = controller('b');
  await a.tick();
  await b.tick(); // b is not the leader: nothing it does counts
  assert.equal(await status(), 'running');
  const running = (await service.get('m'))!;
  assert.equal(running.state.step, 0);
  await store.putObservation(
    'm',
    'r1',
    row(r.id, 0, { 1: { requests: 3000, errors: 0, ms: 4 }, 2: { requests: 1000, errors: 0, ms: 4 } }) as never,
  );
  wall += 30_000;
  await a.tick();
  assert.equal((await service.get('m'))!.state.step, 0, 'not before the interval');
  wall += 31_000;
  await a.tick();
  assert.equal((await service.get('m'))!.state.step, 1);
  wall += 61_000;
  await store.putObservation(
    'm',
    'r1',
    row(r.id, 1, { 1: { requests: 1500, errors: 0, ms: 4 }, 2: { requests: 1500, errors: 0, ms: 4 } }) as never,
  );
  await a.tick();
  assert.equal(await status(), 'promoted', 'the step to 100% moves the alias');
  assert.equal((await store.listAliases('m')).find((x) => x.alias === 'production')?.version, 2);
});

test('a canary that failed to load aborts the rollout; one that stops serving rolls it back', async () => {
  states.set(2, 'UNAVAILABLE');
  reasons.set(2, 'failed to load model: bad file');
  await service.start({ model: 'm', to: 2, intervalMs: 60_000 }, 't');
  await controller().tick();
  assert.equal(await status(), 'aborted');
  assert.deepEqual(await store.listTraffic(), [], 'the baseline serves alone');
  states.clear();
  await service.start({ model: 'm', to: 3, intervalMs: 60_000 }, 't');
  await controller().tick();
  assert.equal(await status(), 'running');
  states.set(3, 'UNAVAILABLE');
  await controller().tick();
  assert.equal(await status(), 'rolled-back');
});

test('too few samples hold, and maxHolds holds roll back as inconclusive', async () => {
  await service.start(
    { model: 'm', to: 2, steps: [10, 100], intervalMs: 1000, gates: { minSamples: 1000 }, maxHolds: 2 },
    't',
  );
  const c = controller();
  await c.tick();
  wall += 1001;
  await c.tick();
  assert.equal((await service.get('m'))!.state.holds, 1);
  wall += 1001;
  await c.tick();
  assert.equal(await status(), 'rolled-back');
  assert.match((await service.get('m'))!.state.decisions.at(-1)!.reason, /inconclusive after 2 intervals: collecting/);
});

test('an unreachable store: no decision, the state and weights hold; it goes on when the store is back', async () => {
  await service.start({ model: 'm', to: 2, steps: [10, 100], intervalMs: 1000, gates: { minSamples: 10 } }, 't');
  const c0 = controller();
  await c0.tick();
  const before = (await service.get('m'))!;
  let down = true;
  const flaky = {
    acquireLease: (...a: Parameters<RegistryStore['acquireLease']>) =>
      down ? Promise.reject(new InferError('IG_ERR_STORE_UNAVAILABLE', 'down')) : store.acquireLease(...a),
    listObservations: (m: string) => store.listObservations(m),
    snapshot: () => store.snapshot(),
  };
  const c = controller('a', flaky);
  wall += 5000;
  await c.tick();
  assert.deepEqual((await service.get('m'))!.seq, before.seq, 'nothing written while the store is down');
  down = false;
  await store.putObservation(
    'm',
    'r',
    row(before.id, 0, { 1: { requests: 1500, errors: 0, ms: 3 }, 2: { requests: 1500, errors: 0, ms: 3 } }) as never,
  );
  await c.tick();
  assert.equal(await status(), 'promoted');
});
