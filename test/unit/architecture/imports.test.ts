// Enforces the import direction of docs/architecture.md: each module may import only the
// modules (or, for some, only the interface files) listed here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { importsOf, walk } from './scan.js';

const SRC = resolve('src');

/** module → allowed targets: a module name (anything in it) or a file path under src/. */
const ALLOWED: Record<string, string[]> = {
  core: [],
  gen: [],
  config: ['core', 'gen'],
  onnx: ['core', 'gen'],
  protowire: [],
  client: ['core', 'gen', 'protowire'],
  observability: ['core'],
  backend: ['core', 'redis'],
  scheduler: ['core', 'observability', 'backend/types.ts'],
  repository: ['core', 'config', 'gen', 'observability', 'backend/types.ts', 'scheduler/types.ts'],
  resilience: ['core'],
  ensemble: ['core', 'config/errors.ts', 'backend/types.ts'],
  redis: ['core'],
  cache: ['core', 'observability/metrics.ts', 'resilience', 'redis'],
  router: [
    'core',
    'observability',
    'resilience',
    'cache',
    'scheduler/types.ts',
    'repository/types.ts',
    'auth/types.ts',
  ],
  protocol: [
    'core',
    'gen',
    'protowire',
    'observability',
    'router/types.ts',
    'registry/api.ts',
    'rollout/api.ts',
    'auth',
  ],
  auth: ['core', 'redis'],
  rollout: [
    'core',
    'registry',
    'router/policy.ts',
    'router/hooks.ts',
    'router/pipeline.ts',
    'router/validate.ts',
    'repository/types.ts',
    'observability',
    'scheduler/types.ts',
  ],
  supply: ['core', 'gen'],
  audit: ['core', 'registry/audit-chain.ts', 'registry/types.ts'],
  privacy: ['core', 'observability', 'audit/types.ts', 'router/hooks.ts', 'router/pipeline.ts'],
  registry: ['core'],
  manager: [
    'core',
    'config',
    'gen',
    'observability',
    'registry',
    'repository/types.ts',
    'router/alias-policy.ts',
    'supply/policy.ts',
    'rollout/traffic.ts',
    'rollout/split-policy.ts',
  ],
  validation: [
    'core',
    'config',
    'gen',
    'backend',
    'scheduler',
    'observability',
    'repository',
    'router',
    'manager',
    'registry',
    'optimizer',
  ],
  optimizer: ['core', 'gen', 'onnx', 'backend'],
  loadgen: ['core', 'client', 'gen'],
  server: ['*'],
  cli: ['*'],
};

function moduleOf(rel: string): string {
  return rel.split('/')[0]!;
}

test('every src/ import follows the module import rules', () => {
  const violations: string[] = [];
  for (const file of walk(SRC)) {
    const from = relative(SRC, file);
    const mod = moduleOf(from);
    const allowed = ALLOWED[mod];
    if (!allowed) {
      violations.push(`${from}: module '${mod}' is not in the architecture table`);
      continue;
    }
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
      const tmod = moduleOf(target);
      if (tmod === mod || allowed.includes('*') || allowed.includes(tmod) || allowed.includes(target)) continue;
      violations.push(`${from} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('core imports nothing but what a browser also has', () => {
  for (const file of walk(join(SRC, 'core'))) {
    for (const spec of importsOf(file)) {
      assert.ok(spec.startsWith('./'), `${relative(SRC, file)} imports '${spec}'`);
    }
  }
});

test('in the optimizer only measure/ imports onnxruntime-node (the other passes run models through it)', () => {
  const offenders = walk(join(SRC, 'optimizer'))
    .filter((f) => !relative(SRC, f).startsWith('optimizer/measure/'))
    .filter((f) => importsOf(f).includes('onnxruntime-node'))
    .map((f) => relative(SRC, f));
  assert.deepEqual(offenders, []);
});

test('the optimizer library returns plain data: no tables, progress bars or console output (the CLI renders)', () => {
  const offenders = walk(join(SRC, 'optimizer')).flatMap((f) => {
    const rel = relative(SRC, f);
    const libs = importsOf(f).filter((s) => s === 'cli-table3' || s === 'cli-progress' || s.includes('/cli/'));
    const prints = /\bconsole\.|process\.std(out|err)/.test(readFileSync(f, 'utf8')) ? ['console'] : [];
    return [...libs, ...prints].map((what) => `${rel}: ${what}`);
  });
  assert.deepEqual(offenders, []);
});
