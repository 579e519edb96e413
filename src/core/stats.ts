/** Statistics extension shapes (protocol.md §B.4). ns are bigint: cumulative nanoseconds pass 2^53 in days. */
export interface StatDuration {
  count: number;
  ns: bigint;
}

export interface InferStats {
  success: StatDuration;
  fail: StatDuration;
  queue: StatDuration;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
  cache_hit: StatDuration;
  cache_miss: StatDuration;
}

export interface BatchStats {
  batch_size: number;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
}

export interface ModelStatistics {
  name: string;
  version: string;
  /** ms since epoch, 0 if never. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferStats;
  batch_stats: BatchStats[];
  memory_usage: Array<{ type: string; id: number; byte_size: number }>;
}

/** A zeroed duration. */
export function zeroDuration(): StatDuration {
  return { count: 0, ns: 0n };
}
