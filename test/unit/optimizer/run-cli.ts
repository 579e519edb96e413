// Runs `infergate optimize …` in-process and returns what it printed to stdout (stderr progress is muted).
import { Command } from 'commander';
import { registerOptimizeCommand } from '../../../src/cli/optimize/index.js';

/** Parses and runs one optimize command line; rejects like the command would. */
export async function cli(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerOptimizeCommand(program);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(' '));
  const write = process.stderr.write;
  process.stderr.write = () => true;
  try {
    await program.parseAsync(['node', 'infergate', 'optimize', ...args]);
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
  return lines.join('\n');
}
