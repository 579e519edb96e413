// Two `infergate serve` processes in registry control mode share one real PostgreSQL and one
// artifact directory. An alias moved through one replica's admin API is served by both within
// 2 s, with a steady load through both seeing zero failed calls. Then replica B loses the
// database (a TCP proxy between it and PostgreSQL is cut): it keeps serving what it served, its
// admin API answers 503 naming the store, and once the proxy is back it catches up on a move
// made meanwhile.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { HttpClient } from '../../src/client/http-client.js';
import { openPostgresStore } from '../../src/registry/postgres.js';
import type { RegistryService } from '../../src/registry/service.js';
import type { RegistryStore } from '../../src/registry/types.js';
import { RolloutService } from '../../src/rollout/service.js';
import type { RolloutState } from '../../src/rollout/state.js';
import { MISSING_POSTGRES, freshDatabase, type TestDatabase } from '../services/postgres.js';
import { type ServerProcess, spawnServer } from './process.js';
import { answer, api, cliService, loadLoop, pushConstVersions, stopLoads, until } from './registry-helpers.js';

/** A TCP proxy that can be cut (every connection destroyed, listener closed) and restored on the same port. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server!.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

let db: TestDatabase | undefined;
let store: RegistryStore;
let service: RegistryService;
let proxy: CuttableProxy;
const replicas: ServerProcess[] = [];
const clients: HttpClient[] = [];

before(async () => {
  db = await freshDatabase();
  if (!db) return;
  const artifacts = mkdtempSync(join(tmpdir(), 'ig-shared-artifacts-'));
  store = await openPostgresStore(db.url, { now: () => performance.now(), wallMs: Date.now });
  service = cliService(store, artifacts);
  await pushConstVersions(service, 'm', 3);
  await service.setAlias({ model: 'm', alias: 'production', version: 1 }, 'test');
  // The version about to be promoted is warm (staging), as in a real rollout: the move is a table swap.
  await service.setAlias({ model: 'm', alias: 'staging', version: 2 }, 'test');
  proxy = new CuttableProxy(Number(new URL(db.url).port));
  await proxy.start();
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  for (const url of [db.url, viaProxy.toString()]) {
    const p = await spawnServer(mkdtempSync(join(tmpdir(), 'ig-replica-')), [
      '--model-control-mode',
      'registry',
      '--registry',
      url,
      '--registry-artifacts',
      artifacts,
      '--registry-poll-secs',
      '1',
      '--grpc-port',
      '0',
    ]);
    replicas.push(p);
    clients.push(new HttpClient(`http://127.0.0.1:${p.httpPort}`));
  }
  for (const c of clients)
    await until(async () => (await c.status('/v2/health/ready').catch(() => 0)) === 200, 60_000, 'replica ready');
});

afterEach(stopLoads);
after(async () => {
  for (const c of clients) await c.close();
  for (const p of replicas) {
    p.child.kill('SIGINT');
    await p.exited;
  }
  await proxy?.cut();
  await store?.close();
  await db?.drop();
});

test('an alias move on one replica is served by both within 2 s, with zero failed calls', async (t) => {
  if (!db) return t.skip(MISSING_POSTGRES);
  const [a, b] = clients as [HttpClient, HttpClient];
  assert.equal(await answer(a, 'm'), 1);
  assert.equal(await answer(b, 'm'), 1);
  const load = loadLoop(
    [
      () => answer(a, 'm'),
      () => answer(b, 'm'),
      () => answer(a, 'm', 'production'),
      () => answer(b, 'm', 'production'),
    ],
    4,
  );
  await new Promise((r) => setTimeout(r, 500));
  const moved = await api(
    `http://127.0.0.1:${replicas[0]!.httpPort}`,
    'PUT',
    '/v2/registry/models/m/aliases/production',
    {
      version: 2,
      expected: 1,
    },
  );
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const t0 = Date.now();
  const seen = await Promise.all(
    [a, b].map(async (c) => {
      await until(async () => (await answer(c, 'm')) === 2, 5000, 'replica switched');
      return Date.now() - t0;
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  await load.stop();
  assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.total()} calls failed`);
  assert.ok(load.total() > 50, `only ${load.total()} calls`);
  for (const ms of seen) assert.ok(ms < 2000, `a replica switched after ${ms} ms`);
  t.diagnostic(`switch seen after ${seen.join(' / ')} ms; ${load.total()} calls, 0 failed`);
});

test('database unreachable: serving continues, admin 503 naming the store, catch-up after recovery', async (t) => {
  if (!db) return t.skip(MISSING_POSTGRES);
  const b = clients[1]!;
  const bBase = `http://127.0.0.1:${replicas[1]!.httpPort}`;
  await proxy.cut();
  const load = loadLoop([() => answer(b, 'm'), () => answer(b, 'm', 'production')], 2);
  const down = await api(bBase, 'GET', '/v2/registry/models');
  assert.equal(down.status, 503);
  assert.match(down.body.error, /registry store postgres:\/\/postgres@127\.0\.0\.1:\d+\/ig_\w+ is unavailable/);
  // Meanwhile the registry moves on (through a replica that still reaches it).
  await service.setAlias({ model: 'm', alias: 'production', version: 3, expected: 2 }, 'test');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await answer(b, 'm'), 2, 'B still serves the last state it knew');
  await load.stop();
  assert.deepEqual(load.failures, [], 'serving was not affected by the outage');
  await proxy.start();
  const ms = await until(async () => (await answer(b, 'm')) === 3, 15_000, 'B caught up');
  t.diagnostic(`B caught up ${ms} ms after the database came back`);
  const up = await api(bBase, 'GET', '/v2/registry/models');
  assert.equal(up.status, 200);
});

test('a rollout across both replicas: one leader, the same weights everywhere, promoted with 0 failed calls', async (t) => {
  if (!db) return t.skip(MISSING_POSTGRES);
  const [a, b] = clients as [HttpClient, HttpClient];
  // production is v3 after the outage test; roll v2 back in as the canary.
  const rollouts = new RolloutService(store);
  const load = loadLoop([() => answer(a, 'm'), () => answer(b, 'm')], 4);
  await rollouts.start(
    {
      model: 'm',
      to: 2,
      steps: [50, 100],
      intervalMs: 1500,
      gates: { minSamples: 60, maxErrorRateDelta: 0.1, maxP99Ratio: 10 },
    },
    'test',
  );
  await until(
    async () => ((await rollouts.get('m'))?.state as RolloutState | undefined)?.status === 'promoted',
    40_000,
    'promoted',
  );
  await until(async () => (await answer(a, 'm')) === 2 && (await answer(b, 'm')) === 2, 5000, 'both serve v2');
  await load.stop();
  assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.total()} calls failed`);
  const rows = await store.listObservations('m');
  assert.equal(rows.length, 2, 'both replicas published observations');
  for (const r of rows) {
    const arms = (r.data as { arms: Record<string, { requests: number }> }).arms;
    assert.ok(
      (arms['2']?.requests ?? 0) > 0 && (arms['3']?.requests ?? 0) > 0,
      `replica ${r.replica} served both arms`,
    );
  }
  const decisions = ((await rollouts.get('m'))?.state as RolloutState | undefined)?.decisions ?? [];
  assert.equal(new Set(decisions.filter((d) => d.by === 'rollout-controller').map((d) => d.by)).size, 1);
});
