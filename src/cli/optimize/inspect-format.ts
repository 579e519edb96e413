/** Human-readable text for an InspectReport (the `optimize inspect` output). */
import type { InspectReport } from '../../optimizer/model/inspect.js';

const kb = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const big = (n: number) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)} G`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(2)} M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)} k`
        : String(n);

/** Format an inspect report as indented text sections. */
export function formatInspect(r: InspectReport, file = ''): string {
  const L: string[] = [];
  L.push(
    `${file}  IR ${r.irVersion}, opsets ${r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}${r.producer ? `, producer ${r.producer}` : ''}`,
  );
  const io = (v: InspectReport['inputs'][number]) =>
    `  ${v.name}: ${v.dtype}[${v.dims.join(', ')}]${v.dynamic ? '  (dynamic)' : ''}`;
  L.push('inputs:', ...r.inputs.map(io), 'outputs:', ...r.outputs.map(io));
  L.push(
    `nodes: ${r.nodeCount}  ops: ${Object.entries(r.opHistogram)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  L.push(
    `parameters: ${big(r.params.count)} (${kb(r.params.bytes)}): ${Object.entries(r.params.byDtype)
      .map(([k, v]) => `${k} ${big(v.count)} / ${kb(v.bytes)}`)
      .join(', ')}`,
  );
  if (r.constantWeights.nodes)
    L.push(
      `weights held in Constant nodes: ${r.constantWeights.nodes} nodes, ${big(r.constantWeights.params)} params (${kb(r.constantWeights.bytes)}); passes lift them to initializers`,
    );
  if (r.externalData.tensors)
    L.push(
      `external data: ${r.externalData.tensors} tensors, ${kb(r.externalData.bytes)} in ${r.externalData.files.join(', ')}`,
    );
  if (r.subgraphs.length)
    L.push(
      `subgraphs: ${r.subgraphs.length}`,
      ...r.subgraphs.slice(0, 20).map((s) => `  ${s.path} (${s.owner}, ${s.nodes} nodes)`),
    );
  const shapes = Object.entries(r.flops.inputShapes)
    .map(([k, v]) => `${k}=[${v.join(',')}]`)
    .join(' ');
  L.push(
    `FLOPs for ${shapes}: ${big(r.flops.total)} (${
      Object.entries(r.flops.byOp)
        .map(([k, v]) => `${k} ${big(v)}`)
        .join(', ') || 'none counted'
    })`,
  );
  if (r.flops.unknown.length)
    L.push(
      `  shapes unknown for: ${r.flops.unknown.slice(0, 10).join(', ')}${r.flops.unknown.length > 10 ? ', ...' : ''}`,
    );
  const c = r.candidates;
  L.push('what each optimization would touch:');
  L.push(
    `  quantize --mode dynamic: ${c.dynamicInt8.matmul} MatMul + ${c.dynamicInt8.gemm} Gemm with constant weights (${big(c.dynamicInt8.weightParams)} params → int8)` +
      (c.dynamicInt8.skippedConv ? `; ${c.dynamicInt8.skippedConv} Conv left fp32 (use static QDQ for CNNs)` : '') +
      (c.dynamicInt8.needsOpset11 ? '; needs opset >= 11 (model is older)' : ''),
  );
  L.push(
    `  quantize --mode static (QDQ): ${c.staticQdq.conv} Conv, ${c.staticQdq.matmul} MatMul, ${c.staticQdq.gemm} Gemm`,
  );
  L.push(`  fp16: ${kb(c.fp16.floatBytes)} of float32 tensors → ${kb(c.fp16.savedBytes)} (size only on CPU)`);
  L.push(`  prune: ${c.prune.layers} weight layers, ${big(c.prune.params)} params`);
  if (c.liftConstants.nodes) L.push(`  lift constants: ${c.liftConstants.nodes} Constant weights → initializers`);
  for (const w of r.warnings) L.push(`warning: ${w}`);
  return L.join('\n');
}
