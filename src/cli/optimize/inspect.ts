/** `optimize inspect`: what a model holds and what each optimization would touch. */
import type { Command } from 'commander';
import { inspectModel } from '../../optimizer/model/inspect.js';
import { loadModel } from '../../optimizer/model/io.js';
import { formatInspect } from './inspect-format.js';
import { parseShape } from './options.js';

export function registerInspect(opt: Command): void {
  opt
    .command('inspect')
    .description(
      'opset, IO, op histogram, parameters, FLOPs, subgraphs, Constant-held weights, what each optimization would touch',
    )
    .argument('<model>', 'path to an .onnx file')
    .option(
      '--shape <name=DxD...>',
      'input shape for the FLOP estimate (repeatable); dynamic dims default to 1',
      parseShape,
      {},
    )
    .option('--json', 'print the report as JSON')
    .action((model: string, o: { shape: Record<string, number[]>; json?: boolean }) => {
      const { model: m } = loadModel(model);
      const r = inspectModel(m, o.shape);
      console.log(o.json ? JSON.stringify(r, null, 2) : formatInspect(r, model));
    });
}
