// The rollout admin REST API (docs/rollout-openapi.yaml) on a registry-mode server with real
// onnxruntime: manual traffic splits (PUT/GET/DELETE, weights that do not sum to 100, unknown
// versions), starting a rollout (201, a second one 409, bad input 400/404), pause/resume/abort and
// promote, a manual split refused while a rollout owns the model, and calls to the model answered
// throughout. Without registry control mode every route answers 501 naming the flag.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteStore } from '../../src/registry/sqlite.js';
import type { RegistryStore } from '../../src/registry/types.js';
import {
  answer,
  api,
  cliService,
  loadLoop,
  pushConstVersions,
  startRegistryServer,
  until,
} from './registry-helpers.js';
import { startTestServer, type TestServer } from './server.js';

let s: TestServer;
let store: RegistryStore;
let base: string;
// Calls that name no version, all through the file: none may fail whatever the API does.
let load: ReturnType<typeof loadLoop>;

before(async () => {
  const registryDir = mkdtempSync(join(tmpdir(), 'ig-rollout-api-'));
  store = await openSqliteStore(join(registryDir, 'registry.db'), { now: () => performance.now(), wallMs: Date.now });
  await pushConstVersions(cliService(store, join(registryDir, 'artifacts')), 'm', 3); // version n answers x + n
  await store.setAlias({ model: 'm', alias: 'production', version: 1 }, 'test');
  s = await startRegistryServer(registryDir);
  base = `http://${s.httpAddress}`;
  await until(async () => (await answer(s.http, 'm').catch(() => 0)) === 1, 30_000, 'v1 serves');
  load = loadLoop([() => answer(s.http, 'm')], 2);
});
after(async () => {
  await load?.stop();
  await s?.close();
  await store?.close();
});

const status = async () => (await api(base, 'GET', '/v2/rollouts/m')).body?.state?.status as string | undefined;
/** Several calls in a row answered only by `version` (the split or the alias has taken effect). */
const onlyVersion = (version: number) => async () => {
  for (let i = 0; i < 5; i++) if ((await answer(s.http, 'm')) !== version) return false;
  return true;
};

describe('traffic splits', () => {
  test('PUT checks the weights and the versions; GET shows the split; DELETE removes it', async () => {
    assert.equal((await api(base, 'GET', '/v2/models/m/traffic')).status, 404);
    const sum = await api(base, 'PUT', '/v2/models/m/traffic', {
      arms: [
        { version: 1, weight: 90 },
        { version: 2, weight: 5 },
      ],
    });
    assert.equal(sum.status, 400);
    assert.match(sum.body.error, /sum to 95, not 100/);
    const unknown = await api(base, 'PUT', '/v2/models/m/traffic', {
      arms: [
        { version: 1, weight: 50 },
        { version: 9, weight: 50 },
      ],
    });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /no version 9/);
    const typo = await api(base, 'PUT', '/v2/models/m/traffic', { arms: [{ version: 1, wieght: 100 }] });
    assert.equal(typo.status, 400);
    assert.match(typo.body.error, /unknown field 'wieght' in 'arms\[0\]'/);

    const put = await api(base, 'PUT', '/v2/models/m/traffic', {
      arms: [
        { version: 1, weight: 0 },
        { version: 3, weight: 100 },
      ],
      sticky: { header: 'x-user' },
      reason: 'A/B test',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.updatedBy, 'admin-api:local');
    const got = await api(base, 'GET', '/v2/models/m/traffic');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.policy.arms, [
      { version: 1, weight: 0 },
      { version: 3, weight: 100 },
    ]);
    assert.equal(got.body.rollout, undefined, 'a manual split');
    await until(onlyVersion(3), 15_000, 'the split sends every call to v3');
    const audited = (await store.audit({ model: 'm' })).filter((e) => e.action === 'traffic.set');
    assert.equal(audited.at(-1)?.reason, 'A/B test');

    assert.equal((await api(base, 'DELETE', '/v2/models/m/traffic')).status, 204);
    assert.equal((await api(base, 'GET', '/v2/models/m/traffic')).status, 404);
    await until(onlyVersion(1), 15_000, 'production serves again');
    assert.equal((await api(base, 'DELETE', '/v2/models/m/traffic')).status, 204, 'idempotent');
  });
});

describe('rollouts', () => {
  test('nothing yet: an empty list, 404 for the model', async () => {
    assert.deepEqual((await api(base, 'GET', '/v2/rollouts')).body, { rollouts: [] });
    const none = await api(base, 'GET', '/v2/rollouts/m');
    assert.equal(none.status, 404);
    assert.match(none.body.error, /has no rollout/);
  });

  test('bad starts: unknown version 404, bad steps, fields or gates 400; nothing is written', async () => {
    const unknown = await api(base, 'POST', '/v2/rollouts/m', { to: 9 });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /no version 9/);
    const cases: Array<[unknown, RegExp]> = [
      [{}, /'to' is required/],
      [{ to: 2, steps: [50, 20, 100] }, /steps must rise/],
      [{ to: 2, steps: [10, 50] }, /last step must be 100/],
      [{ to: 2, interval: 1000 }, /unknown field 'interval'/],
      [{ to: 2, gates: { maxErrorRateDelta: 5 } }, /'gates.maxErrorRateDelta' must be a fraction/],
      [{ to: 2, gates: { minSamples: 0 } }, /'gates.minSamples' must be a positive integer/],
      [{ to: 2, gates: { maxP99Ratio: 'off' } }, /'gates.maxP99Ratio' must be a positive number or null \(off\)/],
      [
        { to: 2, gates: { maxErrorRateDelta: null, maxP99Ratio: null } },
        /a progressive rollout needs at least one gate on/,
      ],
      [{ to: 2, sticky: {} }, /'sticky' names a 'header' or a 'parameter'/],
      [{ to: 1 }, /already 'production'/],
    ];
    for (const [body, error] of cases) {
      const r = await api(base, 'POST', '/v2/rollouts/m', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, error);
    }
    assert.deepEqual((await api(base, 'GET', '/v2/rollouts')).body, { rollouts: [] });
  });

  test('start 201, a second start 409, traffic refused 409; pause, resume, abort back to the baseline', async () => {
    // A minimum sample nobody reaches: the autopilot holds, the operator decides.
    const start = {
      to: 2,
      steps: [50, 100],
      intervalMs: 600_000,
      // null: the default latency gate off (errors only).
      gates: { minSamples: 1_000_000, maxErrorRateDelta: 0.01, maxP99Ratio: null },
    };
    const started = await api(base, 'POST', '/v2/rollouts/m', start);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.deepEqual(started.body.state.gates, { minSamples: 1_000_000, maxErrorRateDelta: 0.01 });
    assert.equal(started.body.state.status, 'pending');
    assert.equal(started.body.state.baseline, 1);
    assert.equal(started.body.state.canary, 2);
    assert.match(started.body.id, /^ro-/);

    const again = await api(base, 'POST', '/v2/rollouts/m', { to: 3 });
    assert.equal(again.status, 409);
    assert.match(again.body.error, /already has a rollout in progress/);
    const split = await api(base, 'PUT', '/v2/models/m/traffic', { arms: [{ version: 1, weight: 100 }] });
    assert.equal(split.status, 409);
    assert.match(split.body.error, new RegExp(`rollout ${started.body.id} is \\w+ and owns its split`));
    assert.equal((await api(base, 'DELETE', '/v2/models/m/traffic')).status, 409);
    assert.equal((await api(base, 'GET', '/v2/models/m/traffic')).body.rollout, started.body.id);

    await until(async () => (await status()) === 'running', 30_000, 'the canary is warm');
    await until(async () => (await answer(s.http, 'm')) === 2, 15_000, 'the canary serves half');
    const paused = await api(base, 'POST', '/v2/rollouts/m/pause', { reason: 'checking dashboards' });
    assert.equal(paused.status, 200);
    assert.equal(paused.body.state.status, 'paused');
    assert.equal(paused.body.state.decisions.at(-1).reason, 'checking dashboards');
    assert.equal(paused.body.state.decisions.at(-1).by, 'admin-api:local');
    assert.equal((await api(base, 'POST', '/v2/rollouts/m/pause')).status, 409, 'already paused');
    assert.equal((await api(base, 'POST', '/v2/rollouts/m/pause', { why: 'x' })).status, 400);
    const resumed = await api(base, 'POST', '/v2/rollouts/m/resume');
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.state.status, 'running');

    const listed = await api(base, 'GET', '/v2/rollouts');
    assert.deepEqual(
      listed.body.rollouts.map((r: { model: string; id: string }) => [r.model, r.id]),
      [['m', started.body.id]],
    );
    const aborted = await api(base, 'POST', '/v2/rollouts/m/abort', { reason: 'not today' });
    assert.equal(aborted.status, 200);
    assert.equal(aborted.body.state.status, 'aborted');
    await until(onlyVersion(1), 15_000, 'the baseline serves alone');
    assert.equal((await api(base, 'GET', '/v2/models/m/traffic')).status, 404, 'the split is gone');
    assert.equal((await api(base, 'POST', '/v2/rollouts/m/abort')).status, 409, 'already over');
    const audited = (await store.audit({ model: 'm' })).filter((e) => e.action === 'rollout.update');
    assert.equal(audited.at(-1)?.actor, 'admin-api:local');
    assert.match(audited.at(-1)?.reason ?? '', /^abort: not today/);
  });

  test("an operator's promote walks the steps and moves the alias", async () => {
    const started = await api(base, 'POST', '/v2/rollouts/m', {
      to: 3,
      steps: [50, 100],
      intervalMs: 600_000,
      gates: { minSamples: 1_000_000 },
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    await until(async () => (await status()) === 'running', 30_000, 'the canary is warm');
    const step = await api(base, 'POST', '/v2/rollouts/m/promote', { reason: 'dashboards look fine' });
    assert.equal(step.status, 200);
    assert.equal(step.body.state.step, 1);
    const done = await api(base, 'POST', '/v2/rollouts/m/promote');
    assert.equal(done.status, 200);
    assert.equal(done.body.state.status, 'promoted');
    assert.equal((await store.listAliases('m')).find((a) => a.alias === 'production')?.version, 3);
    await until(onlyVersion(3), 15_000, 'v3 is production');
  });

  test('no call failed while the API was used', async () => {
    await load.stop();
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.total()} calls failed`);
    assert.ok(load.total() > 0);
  });
});

describe('without registry control mode', () => {
  test('every rollout route answers 501 naming the flag', async () => {
    const plain = await startTestServer({
      repository: mkdtempSync(join(tmpdir(), 'ig-plain-')),
      controlMode: 'explicit',
    });
    try {
      const at = `http://${plain.httpAddress}`;
      const calls: Array<[Parameters<typeof api>[1], string, unknown?]> = [
        ['GET', '/v2/rollouts'],
        ['GET', '/v2/rollouts/m'],
        ['POST', '/v2/rollouts/m', { to: 2 }],
        ['POST', '/v2/rollouts/m/pause'],
        ['POST', '/v2/rollouts/m/resume'],
        ['POST', '/v2/rollouts/m/abort'],
        ['POST', '/v2/rollouts/m/promote'],
        ['GET', '/v2/models/m/traffic'],
        ['PUT', '/v2/models/m/traffic', { arms: [{ version: 1, weight: 100 }] }],
        ['DELETE', '/v2/models/m/traffic'],
      ];
      for (const [method, path, body] of calls) {
        const r = await api(at, method, path, body);
        assert.equal(r.status, 501, `${method} ${path}`);
        assert.match(r.body.error, /--model-control-mode registry/);
      }
    } finally {
      await plain.close();
    }
  });
});
