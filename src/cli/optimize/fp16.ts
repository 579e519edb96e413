/** `optimize fp16`: float32 → float16 weights and compute. */
import type { Command } from 'commander';
import { convertFp16, DEFAULT_FP16_BLOCK_OPS } from '../../optimizer/convert/fp16.js';
import { loadModel } from '../../optimizer/model/io.js';
import { addOutputOptions, list, loadSet, type OutputOpts, requireOutput } from './options.js';
import { finish } from './output.js';

interface Fp16Opts extends OutputOpts {
  keepIoTypes: boolean;
  autoBlockOverflow: boolean;
  blockOps?: string[];
  blockNodes?: string[];
}

const FP16_CPU_NOTE =
  'float16 halves the file but gives no speed on CPU: onnxruntime runs it as float32 there (it casts back for missing fp16 kernels). Use it for GPU serving and edge bundles.';

export function registerFp16(opt: Command): void {
  const cmd = opt
    .command('fp16')
    .description(`float32 → float16 weights and compute. ${FP16_CPU_NOTE}`)
    .argument('<model>', 'path to an .onnx file')
    .option('--no-keep-io-types', 'make graph inputs/outputs float16 too (default: float32 with Casts at the boundary)')
    .option(
      '--block-ops <ops>',
      `extra op types kept in float32 (default list: ${DEFAULT_FP16_BLOCK_OPS.join(',')})`,
      list,
    )
    .option('--block-nodes <names>', 'node names kept in float32', list)
    .option(
      '--no-auto-block-overflow',
      'clamp every weight into the fp16 range instead of keeping overflowing nodes float32',
    );
  addOutputOptions(cmd).action(async (model: string, o: Fp16Opts) => runFp16(model, o));
}

async function runFp16(path: string, o: Fp16Opts): Promise<void> {
  requireOutput(o);
  const src = loadModel(path);
  const params = {
    keepIoTypes: o.keepIoTypes,
    autoBlockOverflow: o.autoBlockOverflow,
    extraBlockOps: o.blockOps ?? [],
    blockNodes: o.blockNodes ?? [],
  };
  const res = convertFp16(src.model, { ...params, baseDir: src.baseDir });
  console.log(
    `converted ${res.convertedTensors} tensor(s) to float16; ${res.blockedNodes.length} node(s) kept in float32`,
  );
  for (const n of res.notes) console.log(`  ${n}`);
  console.log(FP16_CPU_NOTE);
  const notes = [...res.notes, FP16_CPU_NOTE];
  const spec = { name: 'fp16', model: res.model, transform: 'fp16', parameters: params, notes };
  await finish(src, spec, o, o.data ? await loadSet(src, o.data, o) : undefined);
}
