// `infergate serve --model-memory-budget <bytes>`: a plain integer, checked like --cache-memory-bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { registerServeCommand } from '../../../src/cli/serve.js';
import { parseServerOptions } from '../../../src/server/options.js';

function serve(...args: string[]): void {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
  registerServeCommand(program);
  // Only refusals are parsed here: a valid command line would start a server.
  program.commands[0]?.exitOverride().configureOutput({ writeErr: () => undefined });
  program.parse(['node', 'infergate', 'serve', ...args]);
}

test('a bad --model-memory-budget is refused naming the flag', () => {
  for (const bad of ['lots', '1.5', '-1', '2GiB'])
    assert.throws(
      () => serve('--model-memory-budget', bad),
      /--model-memory-budget must be a non-negative integer/,
      bad,
    );
});

test('the budget defaults to 0 (unlimited) and takes bytes', () => {
  assert.equal(parseServerOptions({ repository: 'r' }).modelMemoryBudget, 0);
  assert.equal(parseServerOptions({ repository: 'r', modelMemoryBudget: 2 ** 31 }).modelMemoryBudget, 2 ** 31);
  assert.throws(() => parseServerOptions({ repository: 'r', modelMemoryBudget: -1 }));
});
