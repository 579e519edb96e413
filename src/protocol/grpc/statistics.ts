/**
 * core ModelStatistics → inference.ModelStatistics (protocol.md B.4). Counts become uint64;
 * durations are already bigint nanoseconds and stay exact.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ModelStatistics, StatDuration } from '../../core/index.js';
import type { ModelStatisticsResponseSchema, StatisticDurationSchema } from '../../gen/grpc_service_pb.js';

type DurationInit = MessageInitShape<typeof StatisticDurationSchema>;

// Counters are integers by contract; truncation only guards against a stray fraction.
function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.trunc(n)));
}

function duration(d: StatDuration): DurationInit {
  return { count: u64(d.count), ns: d.ns };
}

/** The ModelStatisticsResponse for the statistics the service returned. */
export function encodeStatistics(stats: ModelStatistics[]): MessageInitShape<typeof ModelStatisticsResponseSchema> {
  return {
    modelStats: stats.map((s) => ({
      name: s.name,
      version: s.version,
      lastInference: u64(s.last_inference),
      inferenceCount: u64(s.inference_count),
      executionCount: u64(s.execution_count),
      inferenceStats: {
        success: duration(s.inference_stats.success),
        fail: duration(s.inference_stats.fail),
        queue: duration(s.inference_stats.queue),
        computeInput: duration(s.inference_stats.compute_input),
        computeInfer: duration(s.inference_stats.compute_infer),
        computeOutput: duration(s.inference_stats.compute_output),
        cacheHit: duration(s.inference_stats.cache_hit),
        cacheMiss: duration(s.inference_stats.cache_miss),
      },
      batchStats: s.batch_stats.map((b) => ({
        batchSize: u64(b.batch_size),
        computeInput: duration(b.compute_input),
        computeInfer: duration(b.compute_infer),
        computeOutput: duration(b.compute_output),
      })),
      memoryUsage: s.memory_usage.map((m) => ({
        type: m.type,
        id: BigInt(Math.trunc(m.id)),
        byteSize: u64(m.byte_size),
      })),
    })),
  };
}
