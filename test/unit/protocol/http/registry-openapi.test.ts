// docs/registry-openapi.yaml and the route table describe the same registry API: every documented
// path and method is routed to a registry handler, and every registry route is documented.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { matchRoute, ROUTE_PATTERNS } from '../../../../src/protocol/http/routes.js';

const spec = parse(readFileSync('docs/registry-openapi.yaml', 'utf8')) as {
  paths: Record<string, Record<string, unknown>>;
};
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const concrete = (path: string) =>
  path.replace('{model}', 'digits').replace('{version}', 'production').replace('{alias}', 'staging');

test('every documented registry operation is routed to a registry handler', () => {
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS.filter((m) => m in item)) {
      const match = matchRoute(method.toUpperCase(), concrete(path), true);
      assert.ok(match.name.startsWith('registry'), `${method} ${path} → ${match.name}`);
    }
  }
});

test('every registry route is documented with its methods', () => {
  for (const [name, methods, pattern] of ROUTE_PATTERNS) {
    if (!name.startsWith('registry')) continue;
    const path = pattern.replace(/:(\w+)/g, '{$1}');
    const item = spec.paths[path];
    assert.ok(item, `${pattern} (${name}) is not in docs/registry-openapi.yaml`);
    for (const m of methods) assert.ok(m.toLowerCase() in item, `${m} ${pattern} is not documented`);
  }
});
