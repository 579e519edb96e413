/**
 * The load generator behind `infergate bench` and the comparison benchmark: KServe v2 over
 * HTTP-JSON, HTTP-binary and gRPC; closed loop or open loop (Poisson); warm-up; quantiles from a
 * log-bucket histogram; errors by kind; goodput; the generator's own CPU use.
 */
export * from './bodies.js';
export * from './histogram.js';
export * from './inputs.js';
export * from './result.js';
export * from './run.js';
export * from './schedule.js';
export * from './target.js';
export * from './threads.js';
export * from './report.js';
