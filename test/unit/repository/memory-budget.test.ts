// The model memory budget through the repository (fake backend and schedulers) and the router's
// on-demand policy: eviction order, pins, busy versions, the evicted state, on-demand loads.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type Clock, systemClock } from '../../../src/core/clock.js';
import { callContext } from '../../../src/core/index.js';
import { InferError } from '../../../src/core/errors.js';
import type { ModelRepository } from '../../../src/repository/repository.js';
import { ESTIMATE_FACTOR } from '../../../src/repository/residency.js';
import type { MemoryBudgetOptions } from '../../../src/repository/types.js';
import { OnDemandPolicy } from '../../../src/router/on-demand-policy.js';
import { LatestReadyPolicy } from '../../../src/router/policy.js';
import { type FakeFile, SIMPLE } from './fake-backend.js';
import { makeRepo, tempRepo, writeModel } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ root, cleanup } = await tempRepo()));
afterEach(() => cleanup());

/** A model file whose size makes the pre-load estimate exactly `bytes`; loaded, it reports `bytes` (or extra.memoryBytes). */
function sized(bytes: number, extra: Partial<FakeFile> = {}): string {
  const target = bytes / ESTIMATE_FACTOR;
  const base = JSON.stringify({ ...SIMPLE, memoryBytes: bytes, ...extra, pad: '' });
  assert.ok(Number.isInteger(target) && base.length <= target, 'pick a size divisible by 5 and large enough');
  return JSON.stringify({ ...SIMPLE, memoryBytes: bytes, ...extra, pad: 'x'.repeat(target - base.length) });
}

/** One instance: the fake backend's memoryBytes is per version, the estimate per instance. */
const ONE = 'instance_group [{ count: 1 }]';
const PINNED = `${ONE} parameters { key: "pinned" value { string_value: "true" } }`;

function setup(
  memoryBudget: MemoryBudgetOptions,
  clock: Clock = systemClock,
  mode: 'explicit' | 'registry' = 'explicit',
) {
  const r = makeRepo(root, mode, { memoryBudget, clock });
  const policy = new OnDemandPolicy(new LatestReadyPolicy(r.repo), r.repo, clock);
  /** One call's resolution, as the router's resolve stage does it. */
  const call = async (model: string, version?: string, deadline?: number) =>
    (await policy.resolve(model, version, callContext({ protocol: 'http', deadline }))).primary;
  const state = (repo: ModelRepository) =>
    Object.fromEntries(
      repo.index(false).map((row) => [row.name, row.state ? `${row.state}${row.reason ? ` ${row.reason}` : ''}` : '-']),
    );
  return { ...r, call, state: () => state(r.repo) };
}

const EVICTED = 'UNAVAILABLE evicted (memory budget)';

/** Models a and b of 1000 bytes under a budget for one: loading b evicted a. */
async function aEvictedByB(clock: Clock = systemClock) {
  for (const m of ['a', 'b']) await writeModel(root, m, { 1: sized(1000) }, ONE);
  const s = setup({ bytes: 1500 }, clock);
  await s.repo.load('a');
  await s.repo.load('b');
  return s;
}

describe('model memory budget', () => {
  it('evicts the least recently used idle version; the evicted one stays desired, readable and the server ready', async () => {
    for (const m of ['a', 'b', 'c']) await writeModel(root, m, { 1: sized(1000) }, ONE);
    const { repo, backend, events, call, state } = setup({ bytes: 2500 });
    await repo.load('a');
    await repo.load('b');
    await call('a'); // b is now the least recently used
    await repo.load('c');
    assert.deepEqual(state(), { a: 'READY', b: EVICTED, c: 'READY' });
    assert.deepEqual(
      events.filter((e) => e.type === 'evicted').map((e) => [e.model, e.version, e.bytes]),
      [['b', 1, 1000]],
    );
    assert.equal(backend.live, 2);
    assert.equal(repo.allReady(), true, 'an evicted version never takes the server out of rotation');
    assert.equal(repo.isEvicted('b', 1), true);
    const [status] = repo.modelVersions('b');
    assert.equal(status?.evicted, true);
    assert.equal(status?.spec?.source, undefined, 'no model bytes are kept while evicted');
    assert.equal(repo.modelConfig('b')['name'], 'b', 'config still answers');
    assert.deepEqual(repo.memoryReadings(), {
      budget: 2500,
      resident: [
        { model: 'a', version: 1, bytes: 1000 },
        { model: 'c', version: 1, bytes: 1000 },
      ],
    });
    await repo.stop();
  });

  it('a call for an evicted version loads it; concurrent calls share one load', async () => {
    for (const m of ['a', 'b', 'c']) await writeModel(root, m, { 1: sized(1000, { loadMs: 20 }) }, ONE);
    const { repo, backend, events, call, state } = setup({ bytes: 2500 });
    await repo.load('a');
    await repo.load('b');
    await repo.load('c'); // evicts a (never called, loaded first)
    assert.equal(state().a, EVICTED);
    const before = backend.attempts;
    const inspects = backend.inspects;
    const handles = await Promise.all(Array.from({ length: 5 }, () => call('a')));
    assert.deepEqual(
      handles.map((h) => h.version),
      [1, 1, 1, 1, 1],
    );
    assert.equal(backend.attempts - before, 1, 'one load for five calls');
    assert.equal(backend.inspects, inspects, 'unchanged file: the signature read at the last load is reused');
    assert.deepEqual(state(), { a: 'READY', b: EVICTED, c: 'READY' });
    const onDemand = events.filter((e) => e.type === 'on-demand');
    assert.equal(onDemand.length, 1);
    assert.equal(onDemand[0]?.reason, undefined);
    assert.equal((await call('a', '1')).version, 1, 'resident: served at once');
    await repo.stop();
  });

  it('never evicts pinned or busy versions: a load waits for a busy one, and is refused when none frees', async () => {
    await writeModel(root, 'a', { 1: sized(1000) }, PINNED);
    for (const m of ['b', 'c', 'd']) await writeModel(root, m, { 1: sized(1000) }, ONE);
    const { repo, schedulers, call, state } = setup({ bytes: 2500, waitMs: 300, pollMs: 5 });
    await repo.load('a');
    await repo.load('b');
    const job = (await call('b')).scheduler.submit({ inputs: [], batchSize: 1 });
    let loaded = false;
    const loading = repo.load('c').then(() => {
      loaded = true;
    });
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(loaded, false, 'a is pinned and b busy: c waits');
    assert.equal(state().b, 'READY');
    schedulers.find((s) => s.spec.model === 'b')?.releaseAll();
    await job;
    await loading;
    assert.deepEqual(state(), { a: 'READY', b: EVICTED, c: 'READY', d: '-' });
    const busy = (await call('c')).scheduler.submit({ inputs: [], batchSize: 1 });
    await assert.rejects(
      repo.load('d'),
      (e) =>
        e instanceof InferError &&
        e.code === 'IG_ERR_MODEL_LOAD' &&
        e.message ===
          "failed to load 'd': no room in the model memory budget: version 1 needs about 1000 bytes, the budget is 2500 bytes and 2000 bytes is resident (a v1 1000 bytes pinned, c v1 1000 bytes busy); pinned and busy versions are not evicted",
    );
    schedulers.find((s) => s.spec.model === 'c')?.releaseAll();
    await busy;
    await repo.stop();
  });

  it('refuses a malformed pin, and a pin that leaves no room, at once', async () => {
    await writeModel(root, 'a', { 1: sized(2000) }, PINNED);
    await writeModel(root, 'b', { 1: sized(1000) }, ONE);
    await writeModel(
      root,
      'odd',
      { 1: sized(1000) },
      `${ONE} parameters { key: "pinned" value { string_value: "maybe" } }`,
    );
    const { repo } = setup({ bytes: 2500, waitMs: 10_000 });
    await assert.rejects(repo.load('odd'), /parameter 'pinned' must be 'true' or 'false', got 'maybe'/);
    await repo.load('a');
    const t0 = Date.now();
    await assert.rejects(repo.load('b'), /no room in the model memory budget.*a v1 2000 bytes pinned/);
    assert.ok(Date.now() - t0 < 1000, 'no wait: evicting everything evictable would not be enough');
    await repo.stop();
  });

  it('refuses a version whose file is larger than the whole budget, naming both sizes', async () => {
    await writeModel(root, 'big', { 1: sized(1000) }, ONE);
    const { repo, backend, state } = setup({ bytes: 500 });
    await assert.rejects(
      repo.load('big'),
      (e) =>
        e instanceof InferError &&
        e.code === 'IG_ERR_MODEL_LOAD' &&
        e.message ===
          "failed to load 'big': version 1 needs at least 800 bytes (its model file), more than the whole model memory budget of 500 bytes",
    );
    assert.equal(backend.attempts, 0, 'refused before loading');
    assert.match(state().big ?? '', /^UNAVAILABLE failed to load 'big': version 1 needs at least 800 bytes/);
    await repo.stop();
  });

  it('a measured size above the budget (its file fit) stays loaded alone with a warning; the smallest measurement counts', async () => {
    await writeModel(root, 'a', { 1: sized(1000) }, ONE);
    await writeModel(root, 'noisy', { 1: sized(1000, { memoryBytes: 5000 }) }, ONE);
    const { repo, events, state } = setup({ bytes: 2500 });
    await repo.load('a');
    await repo.load('noisy');
    assert.deepEqual(state(), { a: EVICTED, noisy: 'READY' });
    assert.match(
      events.find((e) => e.type === 'warning')?.reason ?? '',
      /^measured 5000 bytes after loading, more than the whole model memory budget of 2500 bytes$/,
    );
    // The next measurement is smaller (noise only adds): the version counts for that from now on.
    await writeFile(join(root, 'noisy', '1', 'model.onnx'), sized(1000));
    await repo.load('noisy');
    assert.deepEqual(repo.memoryReadings()?.resident, [{ model: 'noisy', version: 1, bytes: 1000 }]);
    await writeFile(join(root, 'noisy', '1', 'model.onnx'), sized(1000, { memoryBytes: 5000 }));
    await repo.load('noisy');
    assert.deepEqual(repo.memoryReadings()?.resident, [{ model: 'noisy', version: 1, bytes: 1000 }]);
    await repo.stop();
  });

  it('an explicit unload ends an evicted version for good: a call does not load it again', async () => {
    const { repo, backend, call, state } = await aEvictedByB();
    assert.equal(state().a, EVICTED);
    await repo.unload('a');
    assert.equal(state().a, 'UNAVAILABLE unloaded');
    assert.equal(repo.isEvicted('a', 1), false);
    const attempts = backend.attempts;
    await assert.rejects(call('a'), /'a' has no available versions/);
    await assert.rejects(call('a', '1'), /'a' version 1 is not at ready state/);
    assert.equal(backend.attempts, attempts);
    await repo.stop();
  });

  it('a failed load on demand answers its back-off window at once, then the next call retries', async () => {
    let now = 0;
    const clock: Clock = { now: () => now, wallMs: () => Date.now() };
    const { repo, backend, events, call, state } = await aEvictedByB(clock);
    await writeFile(join(root, 'a', '1', 'model.onnx'), sized(1000, { failLoad: true }));
    const failed = (e: unknown) =>
      e instanceof InferError &&
      e.code === 'IG_ERR_UNAVAILABLE' &&
      /^'a' could not be loaded on demand: /.test(e.message);
    const attempts = backend.attempts;
    await assert.rejects(call('a'), failed);
    assert.equal(backend.attempts - attempts, 1);
    assert.match(state().a ?? '', /^UNAVAILABLE evicted \(memory budget\); loading it on demand failed: /);
    assert.equal(repo.allReady(), true);
    now += 999;
    await assert.rejects(call('a'), failed);
    assert.equal(backend.attempts - attempts, 1, 'within the 1 s back-off: no new load');
    now += 1;
    await assert.rejects(call('a'), failed);
    assert.equal(backend.attempts - attempts, 2, 'after the window: tried again');
    await writeFile(join(root, 'a', '1', 'model.onnx'), sized(1000));
    now += 1999;
    await assert.rejects(call('a'), failed, 'the second window is 2 s');
    now += 1;
    assert.equal((await call('a')).version, 1);
    assert.deepEqual(
      events.filter((e) => e.type === 'on-demand').map((e) => e.reason === undefined),
      [false, false, true],
    );
    await repo.stop();
  });

  it('a call whose deadline passes while it waits gets the deadline error; the load finishes for the next call', async () => {
    const { repo, call, state, waitFor } = await aEvictedByB();
    await writeFile(join(root, 'a', '1', 'model.onnx'), sized(1000, { loadMs: 150 }));
    const ready = waitFor((e) => e.type === 'on-demand' && e.model === 'a');
    await assert.rejects(
      call('a', undefined, Date.now() + 30),
      (e) => e instanceof InferError && e.code === 'IG_ERR_DEADLINE_EXCEEDED',
    );
    await ready;
    assert.equal(state().a, 'READY');
    await repo.stop();
  });

  it('registry mode: a re-sync leaves evicted versions evicted, the pinned callback holds, and a sync that drops one ends it', async () => {
    for (const m of ['a', 'b', 'c']) await writeModel(root, m, { 1: sized(1000) }, ONE);
    const { repo, backend, call, state } = setup(
      { bytes: 2500, pinned: (m) => m === 'a', waitMs: 50 },
      systemClock,
      'registry',
    );
    await repo.sync('a', [1]);
    await repo.sync('b', [1]);
    await repo.sync('c', [1]);
    assert.deepEqual(state(), { a: 'READY', b: EVICTED, c: 'READY' }, 'a is pinned though least recently used');
    const attempts = backend.attempts;
    await repo.sync('b', [1]);
    assert.equal(backend.attempts, attempts, 'not reloaded by the sync: a call will');
    assert.equal(state().b, EVICTED);
    await repo.sync('b', []);
    assert.equal(repo.isEvicted('b', 1), false);
    await assert.rejects(call('b'), /unknown model: 'b'/);
    assert.equal(backend.attempts, attempts);
    await repo.stop();
  });
});
