// No import cycles inside src/optimizer and src/cli: a depth-first search over every relative
// import line (type-only and dynamic imports included, since a cycle of types is still a knot a
// reader has to untie), failing with the cycle it found.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { importsOf, walk } from './scan.js';

const SRC = resolve('src');

/** The .ts files a file imports by relative path. */
function localImports(file: string): string[] {
  return importsOf(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'))
    .filter((t) => existsSync(t));
}

/** Every cycle the search meets, each as the list of files from its first file back to it. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const t of graph.get(f) ?? []) {
      if (!graph.has(t)) continue;
      if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t]);
      else if (!state.has(t)) visit(t);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

test('no import cycle inside src/optimizer and src/cli', () => {
  const files = [...walk(join(SRC, 'optimizer')), ...walk(join(SRC, 'cli'))];
  const cycles = findCycles(new Map(files.map((f) => [f, localImports(f)]))).map((c) =>
    c.map((f) => relative(SRC, f)).join(' → '),
  );
  assert.deepEqual(cycles, []);
});

test('the cycle search finds a cycle through several files, and none in a tree', () => {
  const graph = new Map([
    ['a', ['b', 'c']],
    ['b', ['c']],
    ['c', ['d']],
    ['d', ['b']],
  ]);
  assert.deepEqual(findCycles(graph), [['b', 'c', 'd', 'b']]);
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
});

test('the import scan sees type-only, multi-line and dynamic imports', () => {
  const file = join(SRC, 'optimizer', 'report', 'report.ts');
  assert.ok(localImports(file).includes(join(SRC, 'optimizer', 'measure', 'report-types.ts')));
  const main = localImports(join(SRC, 'cli', 'main.ts'));
  assert.ok(main.includes(join(SRC, 'cli', 'optimize', 'index.ts')), 'the dynamic import of optimize');
});

/** The optimizer's folders in docs/architecture.md order: each imports only folders before it. */
const OPTIMIZER_FOLDERS = [
  'model',
  'data',
  'measure',
  'calibrate',
  'quantize',
  'convert',
  'prune',
  'distill',
  'auto',
  'report',
];

test('an optimizer folder imports only the folders above it in docs/architecture.md', () => {
  const root = join(SRC, 'optimizer');
  const folderOf = (f: string) => relative(root, f).split('/')[0]!;
  const wrong: string[] = [];
  for (const file of walk(root)) {
    const from = OPTIMIZER_FOLDERS.indexOf(folderOf(file));
    if (from < 0) wrong.push(`${relative(SRC, file)}: not in a listed folder`);
    for (const t of localImports(file).filter((t) => t.startsWith(`${root}/`))) {
      const to = OPTIMIZER_FOLDERS.indexOf(folderOf(t));
      if (to > from) wrong.push(`${relative(SRC, file)} imports ${relative(SRC, t)}`);
    }
  }
  assert.deepEqual(wrong, []);
});
