// The admin API's OpenAPI documents and the route table describe the same API: every documented
// path and method is routed to a handler of that document's family, and every route of the family
// is documented. docs/registry-openapi.yaml: the registry routes; docs/rollout-openapi.yaml: the
// rollout and traffic-split routes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { routeScope } from '../../../../src/protocol/http/route-scopes.js';
import { matchRoute, ROUTE_PATTERNS } from '../../../../src/protocol/http/routes.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const concrete = (path: string) =>
  path.replace('{model}', 'digits').replace('{version}', 'production').replace('{alias}', 'staging');

const DOCUMENTS = [
  { file: 'docs/registry-openapi.yaml', prefix: 'registry' },
  { file: 'docs/rollout-openapi.yaml', prefix: 'rollout' },
];

for (const { file, prefix } of DOCUMENTS) {
  const spec = parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, unknown>> };

  test(`every operation of ${file} is routed to a ${prefix} handler`, () => {
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of METHODS.filter((m) => m in item)) {
        const match = matchRoute(method.toUpperCase(), concrete(path), true);
        assert.ok(match.name.startsWith(prefix), `${method} ${path} → ${match.name}`);
      }
    }
  });

  test(`every ${prefix} route is documented with its methods in ${file}`, () => {
    for (const [name, methods, pattern] of ROUTE_PATTERNS) {
      if (!name.startsWith(prefix)) continue;
      const path = pattern.replace(/:(\w+)/g, '{$1}');
      const item = spec.paths[path];
      assert.ok(item, `${pattern} (${name}) is not in ${file}`);
      for (const m of methods) assert.ok(m.toLowerCase() in item, `${m} ${pattern} is not documented`);
    }
  });
}

test('rollout routes: reads need the read scope, every change admin', () => {
  for (const [name, methods] of ROUTE_PATTERNS) {
    if (!name.startsWith('rollout')) continue;
    for (const m of methods) assert.equal(routeScope(name, m), m === 'GET' ? 'read' : 'admin', `${m} ${name}`);
  }
});
