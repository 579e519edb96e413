// `infergate rollout …` and `infergate traffic …` as an operator uses them, on an embedded
// registry (no server: the commands write the store, a server's controller would drive it): manual
// splits checked and refused during a rollout, a rollout started with every flag, status with the
// decisions and the evidence of an analysis, pause/resume/promote/abort with reasons, blue-green,
// and one-line errors naming the flag for bad input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { openSqliteStore } from '../../src/registry/sqlite.js';
import type { RegistryStore } from '../../src/registry/types.js';
import { type ArmObservations, analyze } from '../../src/rollout/analysis.js';
import { RolloutService } from '../../src/rollout/service.js';
import { cliService, pushConstVersions } from './registry-helpers.js';

const run = promisify(execFile);
const BIN = resolve('bin/infergate.js');
const registry = join(mkdtempSync(join(tmpdir(), 'ig-cli-rollout-')), 'registry');

/** Runs the CLI against the test registry; never throws: answers exit code, stdout and stderr. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, INFERGATE_REGISTRY: registry, INFERGATE_ACTOR: 'cli:tester' };
  try {
    const r = await run(process.execPath, [BIN, ...args], { timeout: 60_000, env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Opens the store for a check or a set-up step, and closes it (the CLI opens it per command). */
async function withStore<T>(fn: (store: RegistryStore) => Promise<T>): Promise<T> {
  const store = await openSqliteStore(join(registry, 'registry.db'), {
    now: () => performance.now(),
    wallMs: Date.now,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function assertOneLineError(r: { code: number; stderr: string }, command: string, text: RegExp, what: string) {
  assert.equal(r.code, 1, `${what}: exit code`);
  assert.match(r.stderr, new RegExp(`^infergate ${command}: `), what);
  assert.match(r.stderr, text, what);
  assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line: ${r.stderr}`);
}

before(async () => {
  await withStore(async (store) => {
    await pushConstVersions(cliService(store, join(registry, 'artifacts')), 'm', 3);
    await store.setAlias({ model: 'm', alias: 'production', version: 1 }, 'test');
  });
});

test('bad flags: one line naming the flag, exit 1, nothing written', async () => {
  const cases: Array<[string[], string, RegExp]> = [
    [
      ['rollout', 'start', 'm', '--to', '2', '--interval', '2'],
      'rollout start',
      /--interval must be a positive duration .*got '2'/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--max-error-rate-delta', '150%'],
      'rollout start',
      /--max-error-rate-delta must be a percent below 100%/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--max-error-rate-delta', '2'],
      'rollout start',
      /--max-error-rate-delta .*got '2'/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--max-p99-ratio', '-1'],
      'rollout start',
      /--max-p99-ratio must be a positive number/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--min-samples', '0'],
      'rollout start',
      /--min-samples must be a positive integer/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--max-p99-ratio', 'off', '--max-error-rate-delta', 'off'],
      'rollout start',
      /a progressive rollout needs at least one gate on/,
    ],
    [['rollout', 'start', 'm', '--to', '2', '--steps', '5,x,100'], 'rollout start', /--steps must be rising percents/],
    [['rollout', 'start', 'm', '--to', '2', '--steps', '50,20,100'], 'rollout start', /steps must rise/],
    [
      ['rollout', 'start', 'm', '--to', '2', '--shadow', '120'],
      'rollout start',
      /--shadow must be a percent within \[0, 100\]/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--blue-green', '--steps', '50,100'],
      'rollout start',
      /--blue-green and --steps exclude each other/,
    ],
    [
      ['rollout', 'start', 'm', '--to', '2', '--sticky-header', 'a', '--sticky-parameter', 'b'],
      'rollout start',
      /exclude each other/,
    ],
    [['rollout', 'start', 'm', '--to', '9'], 'rollout start', /model 'm' has no version 9/],
    [['rollout', 'start', 'm', '--to', 'nope'], 'rollout start', /alias 'nope'|nope/],
    [['rollout', 'pause', 'm'], 'rollout pause', /model 'm' has no rollout/],
    [['rollout', 'status', 'm'], 'rollout status', /model 'm' has no rollout/],
    [['traffic', 'set', 'm'], 'traffic set', /give the arms: --arm VERSION=WEIGHT/],
    [['traffic', 'set', 'm', '--arm', '1:90'], 'traffic set', /--arm '1:90' must be VERSION=WEIGHT/],
    [['traffic', 'set', 'm', '--arm', '1=90', '--arm', '2=5'], 'traffic set', /arm weights sum to 95, not 100/],
    [['traffic', 'set', 'm', '--arm', '1=50', '--arm', '9=50'], 'traffic set', /model 'm' has no version 9/],
    [
      ['traffic', 'set', 'm', '--arm', '1=100', '--shadow', '2=0'],
      'traffic set',
      /shadow of version 2 needs a percent/,
    ],
  ];
  // A few processes at a time: each loads the CLI through tsx, and the test machine may have 2 cores.
  const results: Array<Awaited<ReturnType<typeof cli>>> = [];
  for (let i = 0; i < cases.length; i += 4)
    results.push(...(await Promise.all(cases.slice(i, i + 4).map(([args]) => cli(...args)))));
  for (const [i, [args, command, text]] of cases.entries())
    assertOneLineError(results[i]!, command, text, args.join(' '));
  const missing = await run(process.execPath, [BIN, 'rollout', 'status'], {
    env: { ...process.env, INFERGATE_REGISTRY: '' },
  }).catch((e) => e as { code: number; stderr: string });
  assertOneLineError(
    missing as { code: number; stderr: string },
    'rollout status',
    /say where the registry is/,
    'no registry',
  );
  await withStore(async (store) => {
    assert.deepEqual(await store.listTraffic(), []);
    assert.equal(await store.getRollout('m'), undefined);
  });
});

test('traffic set → show → clear, recorded with the actor and the reason', async () => {
  const set = await cli(
    'traffic',
    'set',
    'm',
    '--arm',
    '1=90',
    '--arm',
    '2=10',
    '--shadow',
    '3=5',
    '--sticky-header',
    'x-user',
    '--reason',
    'A/B',
    '--json',
  );
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(JSON.parse(set.stdout).policy, {
    arms: [
      { version: 1, weight: 90 },
      { version: 2, weight: 10 },
    ],
    shadows: [{ version: 3, percent: 5 }],
    sticky: { header: 'x-user' },
  });
  const shown = await cli('traffic', 'show');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /v1 90%, v2 10%/);
  assert.match(shown.stdout, /v3 5%/);
  assert.match(shown.stdout, /header x-user/);
  assert.match(shown.stdout, /manual/);
  assert.match(shown.stdout, /cli:tester/);
  const cleared = await cli('traffic', 'clear', 'm');
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, /traffic split of m removed/);
  assert.match((await cli('traffic', 'clear', 'm')).stdout, /m had no traffic split/);
  assert.equal(JSON.parse((await cli('traffic', 'show', 'm', '--json')).stdout), null);
  const audit = await withStore((store) => store.audit({ model: 'm' }));
  const set_ = audit.find((e) => e.action === 'traffic.set');
  assert.equal(set_?.actor, 'cli:tester');
  assert.equal(set_?.reason, 'A/B');
});

test('a rollout: start with every flag, refusals while it runs, status with evidence, operator decisions', async () => {
  const none = await cli('rollout', 'status');
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no rollouts/);

  const started = await cli(
    'rollout',
    'start',
    'm',
    '--to',
    '2',
    '--steps',
    '10,50,100',
    '--interval',
    '90s',
    '--max-error-rate-delta',
    '1%',
    '--max-p99-ratio',
    '1.5',
    '--max-divergence',
    '2%',
    '--min-samples',
    '200',
    '--shadow',
    '10',
    '--sticky-header',
    'x-user',
    '--json',
  );
  assert.equal(started.code, 0, started.stderr);
  const view = JSON.parse(started.stdout);
  assert.equal(view.state.status, 'pending');
  assert.deepEqual(view.state.steps, [10, 50, 100]);
  assert.equal(view.state.intervalMs, 90_000);
  assert.deepEqual(view.state.gates, {
    minSamples: 200,
    maxErrorRateDelta: 0.01,
    maxP99Ratio: 1.5,
    maxDivergence: 0.02,
  });
  assert.equal(view.state.shadowPercent, 10);
  assert.deepEqual(view.state.sticky, { header: 'x-user' });
  assert.equal(view.state.decisions[0].by, 'cli:tester');

  assertOneLineError(
    await cli('rollout', 'start', 'm', '--to', '3'),
    'rollout start',
    /already has a rollout in progress/,
    'second',
  );
  assertOneLineError(
    await cli('traffic', 'set', 'm', '--arm', '1=100'),
    'traffic set',
    /rollout ro-\w+ is pending and owns its split/,
    'set',
  );
  assertOneLineError(await cli('traffic', 'clear', 'm'), 'traffic clear', /owns its split/, 'clear');
  assert.match((await cli('traffic', 'show', 'm')).stdout, new RegExp(`rollout ${view.id}`));

  // What a server's controller would record: the canary warm at step 1, then an analysis that holds.
  await withStore(async (store) => {
    const rollouts = new RolloutService(store);
    const r = (await rollouts.get('m'))!;
    const warm = await rollouts.transition(
      'm',
      r.seq,
      { step: 0, action: 'promote', reason: 'the canary is warm: 10%', by: 'rollout-controller' },
      { status: 'running', step: 0 },
    );
    const arm = (requests: number, errors: number): ArmObservations => ({
      requests,
      errors,
      latency: { bounds: [5, 10, 50], counts: [requests - 10, 8, 2, 0] },
      compared: 0,
      disagreed: 0,
    });
    const d = analyze(arm(900, 3), { ...arm(300, 2), compared: 300, disagreed: 3 }, warm.state.gates);
    await rollouts.transition(
      'm',
      warm.seq,
      { step: 0, action: 'hold', reason: d.reason, by: 'rollout-controller', evidence: d.evidence },
      { holds: 1 },
    );
  });

  const status = await cli('rollout', 'status', 'm');
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /│ m\s+│ running\s+│ 1\/3 \(10%\)\s+│ v1 → v2/);
  assert.match(status.stdout, /│ hold: /);
  assert.match(status.stdout, /evidence of the last analysis \(hold at /);
  assert.match(status.stdout, /│ baseline │ 900\s+│ 3\s+│ 0\.33%/);
  assert.match(status.stdout, /│ canary\s+│ 300\s+│ 2\s+│ 0\.67%.*│ 3\/300/);
  assert.match(status.stdout, /errorRate\s+\w+\s+error rate/);
  assert.match(status.stdout, /latency\s+\w+\s+/);
  assert.match(status.stdout, /divergence\s+\w+\s+/);
  assert.match(status.stdout, /alpha 0\.05/);
  const all = await cli('rollout', 'status', '--json');
  assert.equal(JSON.parse(all.stdout)[0].state.decisions.at(-1).action, 'hold');

  const paused = await cli('rollout', 'pause', 'm', '--reason', 'checking dashboards');
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stdout, /is paused .*canary at 10%.*pause: checking dashboards/);
  assertOneLineError(await cli('rollout', 'pause', 'm'), 'rollout pause', /is paused, not running or pending/, 'twice');
  assert.match((await cli('rollout', 'resume', 'm')).stdout, /is running/);
  const promoted = await cli('rollout', 'promote', 'm', '--reason', 'looks good', '--json');
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.equal(JSON.parse(promoted.stdout).state.step, 1);
  const aborted = await cli('rollout', 'abort', 'm', '--reason', 'not today');
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.match(aborted.stdout, /is aborted .*canary at 0%.*abort: not today/);
  assertOneLineError(await cli('rollout', 'abort', 'm'), 'rollout abort', /is aborted, not/, 'over');
  await withStore(async (store) => {
    assert.deepEqual(await store.listTraffic(), [], 'the split is gone');
    assert.equal((await store.listAliases('m')).find((a) => a.alias === 'production')?.version, 1);
    const rows = (await store.audit({ model: 'm' })).filter((e) => e.action === 'rollout.update');
    assert.match(rows.at(-1)?.reason ?? '', /^abort: not today/);
    assert.equal(rows.at(-1)?.actor, 'cli:tester');
  });
});

test('blue-green: one step of 100 from an alias name; promote completes and moves the alias', async () => {
  await withStore((store) => store.setAlias({ model: 'm', alias: 'staging', version: 3 }, 'test'));
  const started = await cli('rollout', 'start', 'm', '--to', 'staging', '--blue-green');
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /v1 → v3 \(production\), blue-green/);
  const table = await cli('rollout', 'status');
  assert.match(table.stdout, /│ m\s+│ pending\s+│ warming \(0%\)/);
  // A server would switch once v3 is warm; here the operator stands in for it.
  await withStore(async (store) => {
    const rollouts = new RolloutService(store);
    const r = (await rollouts.get('m'))!;
    await rollouts.transition(
      'm',
      r.seq,
      { step: 0, action: 'promote', reason: 'warm', by: 'test' },
      { status: 'running', step: 0 },
    );
  });
  const done = await cli('rollout', 'promote', 'm');
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /is promoted .*canary at 100%/);
  assert.match((await cli('rollout', 'status')).stdout, /│ m\s+│ promoted\s+│ done \(100%\)/);
  await withStore(async (store) => {
    assert.equal((await store.listAliases('m')).find((a) => a.alias === 'production')?.version, 3);
  });
});
