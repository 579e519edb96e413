import { Command } from 'commander';
import { registerInferCommand } from './infer.js';
import { registerModelsCommand } from './models.js';
import { registerOptimizeCommand } from './optimize.js';
import { registerServeCommand } from './serve.js';

/** Builds the `infergate` command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('infergate')
    .description('Production ML model server: Triton-compatible repository, KServe v2 REST and gRPC')
    .version(process.env.npm_package_version ?? '0.1.0');
  registerServeCommand(program);
  registerModelsCommand(program);
  registerInferCommand(program);
  registerOptimizeCommand(program);
  return program;
}

/** Runs the CLI with process.argv-style arguments. */
export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
