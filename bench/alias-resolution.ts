// What naming a version by alias costs per request (#12: ≤ 5 µs over a number): the router's
// resolve step for `versions/2`, for `versions/production` and for no version (the default
// alias), with the alias table of a real RegistrySync that synced a registry snapshot.
// Rounds alternate the three cases so machine noise hits each alike; medians of the rounds.
//   npm run bench:alias [-- --rounds 15 --calls 500000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callContext } from '../src/core/index.js';
import { RegistrySync } from '../src/manager/sync.js';
import { ArtifactStore } from '../src/registry/artifacts.js';
import type { RegistrySnapshot, RegistryStore, VersionRecord } from '../src/registry/types.js';
import type { VersionHandle } from '../src/repository/types.js';
import { AliasPolicy } from '../src/router/alias-policy.js';
import { LatestReadyPolicy } from '../src/router/policy.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const rounds = Number(args.get('rounds') ?? 15);
const calls = Number(args.get('calls') ?? 500_000);

const handle = (version: number) => ({ model: 'digits', version }) as VersionHandle;
const ready = [handle(3), handle(2), handle(1)];
const source = {
  readyVersions: () => ready,
  modelVersions: () => [],
};
const version = (v: number): VersionRecord =>
  ({
    model: 'digits',
    version: v,
    files: [],
    pinned: false,
    lineage: {},
    tags: {},
    metrics: {},
  }) as unknown as VersionRecord;
const snapshot: RegistrySnapshot = {
  revision: 1,
  aliases: ['production', 'staging', 'canary'].map((alias, i) => ({
    model: 'digits',
    alias,
    version: i + 1,
    protected: false,
    updatedAt: '',
    updatedBy: '',
  })),
  versions: [version(1), version(2), version(3)],
  traffic: [],
  rollouts: [],
};
const store = {
  location: 'bench',
  snapshot: async () => snapshot,
  revision: async () => 1,
  watch: () => () => undefined,
} as unknown as RegistryStore;

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ig-alias-bench-'));
  const sync = new RegistrySync({
    store,
    artifacts: new ArtifactStore(join(root, 'artifacts')),
    repository: { sync: async () => undefined, readyVersions: () => ready },
    root: join(root, 'serving'),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  await sync.start();
  await sync.stop();
  const plain = new LatestReadyPolicy(source);
  const aliased = new AliasPolicy(sync, plain);
  const ctx = callContext({ protocol: 'http' });
  const cases: Array<[string, () => unknown]> = [
    ['number (versions/2), no alias table', () => plain.resolve('digits', '2')],
    ['number (versions/2), through the alias policy', () => aliased.resolve('digits', '2', ctx)],
    ['alias (versions/production)', () => aliased.resolve('digits', 'production', ctx)],
    ['no version (default alias)', () => aliased.resolve('digits', undefined, ctx)],
  ];
  const ns = new Map<string, number[]>(cases.map(([n]) => [n, []]));
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of r % 2 === 0 ? cases : [...cases].reverse()) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) sink += (fn() as { primary: VersionHandle }).primary.version;
      ns.get(name)!.push(Number(process.hrtime.bigint() - t0) / calls);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(ns.get(cases[0]![0])!);
  console.log(`per call, median of ${rounds} rounds × ${calls} calls (sink ${sink % 7}):`);
  for (const [name] of cases) {
    const m = median(ns.get(name)!);
    console.log(
      `  ${name.padEnd(48)} ${m.toFixed(1).padStart(7)} ns  (${(m - base >= 0 ? '+' : '') + (m - base).toFixed(1)} ns)`,
    );
  }
  rmSync(root, { recursive: true, force: true });
}

await main();
