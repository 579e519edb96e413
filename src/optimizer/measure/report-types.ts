/** The variant report's shape: what `optimize` measures for each variant and saves as JSON and HTML. */
import type { CpuInfo } from './cpu.js';
import type { AccuracyStats } from './evaluate.js';
import type { LatencyStats } from './latency.js';
import type { FusionReport } from './ort.js';

export interface VariantReport {
  name: string;
  path?: string;
  sizeBytes: number;
  latency: LatencyStats[];
  accuracy?: AccuracyStats;
  fusion?: FusionReport;
  notes?: string[];
}

export interface OptimizeReport {
  model: string;
  created: string;
  machine: CpuInfo & { threads: number; onnxruntime: string };
  variants: VariantReport[];
}
