/**
 * Pass: onnxruntime's own graph optimizations (constant folding, redundant node removal, fusions)
 * saved as a model through `optimizedModelFilePath`. Only 'basic' (plain ONNX ops, portable) and
 * 'extended' (adds com.microsoft fused ops: portable across machines, needs onnxruntime to run) are
 * offered; 'all' adds layout transforms (NCHWc) chosen for this machine's CPU and must not ship.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import { allGraphs } from '../model/graph.js';
import { loadModel } from '../model/io.js';
import { createSession } from '../measure/ort.js';

export type PortableLevel = 'basic' | 'extended';

export interface GraphOptResult {
  model: ModelProto;
  nodesBefore: number;
  nodesAfter: number;
  /** Op types onnxruntime introduced (fusions), with counts. */
  newOps: Record<string, number>;
}

const count = (m: ModelProto) => allGraphs(m).reduce((a, g) => a + g.graph.node.length, 0);

function histogram(m: ModelProto): Map<string, number> {
  const h = new Map<string, number>();
  for (const { graph } of allGraphs(m)) for (const n of graph.node) h.set(n.opType, (h.get(n.opType) ?? 0) + 1);
  return h;
}

/** Refuse levels that are not portable, with the reason. */
export function checkPortableLevel(level: string): PortableLevel {
  if (level === 'basic' || level === 'extended') return level;
  if (level === 'all')
    throw new Error(
      "level 'all' is refused: it adds layout transforms (NCHWc, reordered weights) chosen for this machine's CPU, so the saved model is only valid here; use 'extended' (onnxruntime sessions still apply 'all' at load time)",
    );
  throw new Error(`unknown optimization level "${level}" (basic or extended)`);
}

/** Run onnxruntime's optimizer at a portable level and return the graph it saved. */
export async function optimizeGraph(model: ModelProto, level: string): Promise<GraphOptResult> {
  const lvl = checkPortableLevel(level);
  const dir = mkdtempSync(join(tmpdir(), 'infergate-graphopt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const session = await createSession(model, { level: lvl, optimizedModelFilePath: path });
    await session.release();
    const out = loadModel(path).model;
    const before = histogram(model);
    const newOps: Record<string, number> = {};
    for (const [op, n] of histogram(out)) if (!before.has(op)) newOps[op] = n;
    return { model: out, nodesBefore: count(model), nodesAfter: count(out), newOps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
