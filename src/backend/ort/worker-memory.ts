/**
 * How much memory one instance's session holds, measured inside its worker thread.
 *
 * onnxruntime-node reports no allocator statistics, and memory is not accounted per thread, so
 * the figure is built from what can be observed:
 * - the weights, taken as the model file's size: ORT keeps the initializers resident as stored.
 *   The RSS change across session creation is not used for them, because it also holds one-off
 *   costs (the native library's first use in the process, transient protobuf parse buffers);
 * - plus the process RSS growth across warm-up (after session creation → after the last warm-up
 *   run): the CPU arena and the memory-pattern buffers the first runs allocate.
 * RSS is process-wide, so other instances loading at the same moment can only add to the growth:
 * an over-estimate, the safe side for memory budgets.
 */
import { memoryUsage } from 'node:process';

/** The process's resident set size now, bytes. */
export function residentBytes(): number {
  return memoryUsage.rss();
}

/** Bytes one session holds: its model file plus the RSS growth its warm-up caused (never negative). */
export function sessionMemoryBytes(fileBytes: number, rssAfterCreate: number, rssAfterWarmup: number): number {
  return fileBytes + Math.max(0, rssAfterWarmup - rssAfterCreate);
}
