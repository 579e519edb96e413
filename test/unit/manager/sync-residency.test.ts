// The registry sync and the memory budget: the default alias's version (served, and the registry's
// target from its load on) is pinned, and an evicted version still counts as servable for aliases.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RegistrySync } from '../../../src/manager/sync.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import type { RegistrySnapshot, RegistryStore, VersionRecord } from '../../../src/registry/types.js';
import type { VersionHandle } from '../../../src/repository/types.js';

const alias = (name: string, version: number) => ({
  model: 'm',
  alias: name,
  version,
  protected: false,
  updatedAt: '',
  updatedBy: '',
});
const version = (v: number) => ({ model: 'm', version: v, files: [], pinned: false }) as unknown as VersionRecord;

test('the default alias pins its versions; an evicted version keeps its alias', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ig-sync-residency-'));
  let snapshot: RegistrySnapshot = {
    revision: 1,
    aliases: [alias('production', 1), alias('canary', 2)],
    versions: [version(1), version(2), version(3)],
    traffic: [],
    rollouts: [],
  };
  const store = {
    location: 'test',
    snapshot: async () => snapshot,
    revision: async () => snapshot.revision,
    watch: () => () => undefined,
  } as unknown as RegistryStore;
  let ready = [1];
  const evicted = new Set([2]);
  const sync = new RegistrySync({
    store,
    artifacts: new ArtifactStore(join(root, 'artifacts')),
    repository: {
      sync: async () => undefined,
      readyVersions: () => ready.map((v) => ({ model: 'm', version: v }) as VersionHandle),
      isEvicted: (_m, v) => evicted.has(v),
    },
    root: join(root, 'serving'),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  try {
    await sync.start();
    assert.equal(sync.lookup('m', 'canary'), 2, 'an evicted version is servable: calls load it');
    assert.equal(sync.isPinned('m', 1), true);
    assert.equal(sync.isPinned('m', 2), false, 'other aliases are not pinned');
    // production moves to 3, which is still loading: both the served 1 and the target 3 are pinned.
    snapshot = { ...snapshot, revision: 2, aliases: [alias('production', 3), alias('canary', 2)] };
    await sync.trigger();
    assert.equal(sync.defaultVersion('m'), 1);
    assert.deepEqual(
      [1, 2, 3].map((v) => sync.isPinned('m', v)),
      [true, false, true],
    );
    ready = [1, 3];
    snapshot = { ...snapshot, revision: 3 };
    await sync.trigger();
    assert.equal(sync.defaultVersion('m'), 3);
    assert.deepEqual(
      [1, 2, 3].map((v) => sync.isPinned('m', v)),
      [false, false, true],
    );
  } finally {
    await sync.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
