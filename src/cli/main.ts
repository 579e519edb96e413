import { Command } from 'commander';
import { registerAuthCommand } from './auth.js';
import { registerBenchCommand } from './bench.js';
import { registerInferCommand } from './infer.js';
import { registerModelsCommand } from './models.js';
import { registerRegistryCommand } from './registry/index.js';
import { registerRolloutCommands } from './rollout/index.js';
import { registerServeCommand } from './serve.js';
import { registerSupplyCommands } from './sign.js';

/** Builds the `infergate` command tree; `argv` decides which heavy commands load their code. */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('infergate')
    .description('Production ML model server: Triton-compatible repository, KServe v2 REST and gRPC')
    .version(process.env.npm_package_version ?? '0.1.0');
  registerServeCommand(program);
  registerModelsCommand(program);
  registerInferCommand(program);
  await registerOptimize(program, argv[2]);
  registerBenchCommand(program);
  registerRegistryCommand(program);
  registerRolloutCommands(program);
  registerAuthCommand(program);
  registerSupplyCommands(program);
  return program;
}

/**
 * The optimizer pulls in onnxruntime and all its passes: load it only when `optimize` is the
 * command; otherwise list it with a pointer to its own help.
 */
async function registerOptimize(program: Command, command: string | undefined): Promise<void> {
  if (command === 'optimize') {
    const { registerOptimizeCommand } = await import('./optimize/index.js');
    registerOptimizeCommand(program);
    return;
  }
  program
    .command('optimize')
    .description('model optimization toolkit: inspect, quantize, fp16, prune, graph (see `infergate optimize --help`)')
    .allowUnknownOption()
    .helpOption(false)
    .action(() => {});
}

/** Runs the CLI with process.argv-style arguments. */
export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
  await program.parseAsync(argv);
}
