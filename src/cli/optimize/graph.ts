/** `optimize graph`: onnxruntime's graph optimizations saved as a portable model. */
import type { Command } from 'commander';
import { checkPortableLevel, optimizeGraph } from '../../optimizer/convert/graph-opt.js';
import { loadModel } from '../../optimizer/model/io.js';
import { addOutputOptions, loadSet, type OutputOpts, requireOutput } from './options.js';
import { finish } from './output.js';

interface GraphOpts extends OutputOpts {
  level: string;
}

export function registerGraph(opt: Command): void {
  const cmd = opt
    .command('graph')
    .description("onnxruntime graph optimizations saved as a portable model (basic or extended; 'all' is refused)")
    .argument('<model>', 'path to an .onnx file')
    .option('--level <level>', 'basic | extended', 'extended');
  addOutputOptions(cmd).action(async (model: string, o: GraphOpts) => runGraph(model, o));
}

async function runGraph(path: string, o: GraphOpts): Promise<void> {
  checkPortableLevel(o.level);
  requireOutput(o);
  const src = loadModel(path);
  const res = await optimizeGraph(src.model, o.level);
  const fused = Object.entries(res.newOps).map(([k, n]) => `${n} ${k}`);
  console.log(
    `onnxruntime '${o.level}': ${res.nodesBefore} → ${res.nodesAfter} nodes${fused.length ? `; new ops: ${fused.join(', ')}` : ''}`,
  );
  const notes = [
    `saved at level '${o.level}' (${o.level === 'extended' ? 'com.microsoft ops: needs onnxruntime' : 'plain ONNX ops'})`,
  ];
  const spec = {
    name: `graph ${o.level}`,
    model: res.model,
    transform: 'graph',
    parameters: { level: o.level },
    notes,
  };
  await finish(src, spec, o, o.data ? await loadSet(src, o.data, o) : undefined);
}
