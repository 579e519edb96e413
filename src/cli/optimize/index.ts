/**
 * `infergate optimize`: one file per command (argument parsing and printing only; the work lives in
 * src/optimizer/), sharing options.ts (option parsers and checked numbers) and output.ts (measure,
 * write and print a variant).
 */
import type { Command } from 'commander';
import { registerAuto } from './auto.js';
import { registerDistill } from './distill.js';
import { registerFp16 } from './fp16.js';
import { registerGraph } from './graph.js';
import { registerInspect } from './inspect.js';
import { registerPrune } from './prune.js';
import { registerQuantize } from './quantize.js';

/** Register `optimize inspect|quantize|fp16|graph|prune|distill|auto` on the main program. */
export function registerOptimizeCommand(program: Command): void {
  const opt = program
    .command('optimize')
    .description('inspect and optimize ONNX models (int8, fp16, graph optimization) with reports and lineage');
  registerInspect(opt);
  registerQuantize(opt);
  registerFp16(opt);
  registerGraph(opt);
  registerPrune(opt);
  registerDistill(opt);
  registerAuto(opt);
}
