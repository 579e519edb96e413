// reliability.md S22's static gate: no code in src/ that runs or revives code from data. The
// request path parses JSON, protobuf and YAML (the `yaml` package's default schemas build plain
// data only, no !!js tags) and nothing else; this test fails on any new eval, Function
// constructor, vm context, v8/pickle-style deserializer, or a YAML parse given custom tags. A
// finding that is not request data (a fixed Lua script sent to Redis) is listed with its reason.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve('src');

const PATTERNS: Array<[string, RegExp]> = [
  ['eval', /(?<![\w.])eval\s*\(/],
  ['Function constructor', /\bnew\s+Function\s*\(|(?<![\w.])Function\s*\(\s*['"`]/],
  ['vm module', /['"]node:vm['"]|['"]vm['"]|\bvm\.runIn/],
  ['v8 deserializer', /['"]node:v8['"]|\bv8\.deserialize/],
  ['YAML custom tags', /customTags|!!js/],
  ['dynamic import of a computed path', /\bimport\s*\(\s*[^'"`\s)]/],
];

/** Findings that are not code from data, each with why. */
const ALLOWED: Record<string, string> = {
  'src/auth/redis-limiter.ts:eval': "Redis EVAL of the limiter's own fixed Lua script (a method call, not JS eval)",
  'src/backend/ort/spawn.ts:dynamic import of a computed path':
    "the worker's bootstrap: imports tsx's loader and the worker entry, both paths of this package",
  'src/backend/typescript/worker.ts:dynamic import of a computed path':
    "a TypeScript model's worker imports the model's own code (bundled from the model repository, as trusted as a model file), never request data",
  'src/loadgen/threads.ts:dynamic import of a computed path':
    "the generator thread's bootstrap: tsx's loader and the thread entry, both paths of this package",
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? (name === 'gen' ? [] : walk(p)) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no eval, Function constructor, vm, v8 deserializer or YAML custom tags in src/ (S22 grep gate)', () => {
  const findings: string[] = [];
  for (const file of walk(SRC)) {
    const rel = relative(resolve('.'), file);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments say what the code does not do
      for (const [name, re] of PATTERNS)
        if (re.test(line) && !ALLOWED[`${rel}:${name}`]) findings.push(`${rel}:${i + 1} ${name}: ${line.trim()}`);
    });
  }
  assert.deepEqual(findings, []);
});

test('the gate sees what it looks for', () => {
  const hit = (line: string) => PATTERNS.some(([, re]) => re.test(line));
  for (const bad of [
    "eval('1')",
    'new Function("return 1")',
    "import vm from 'node:vm'",
    'v8.deserialize(b)',
    'await import(name)',
  ])
    assert.ok(hit(bad), bad);
  for (const fine of ['this.client.evaluate(x)', "await import('./x.js')", 'JSON.parse(text)'])
    assert.ok(!hit(fine), fine);
});
