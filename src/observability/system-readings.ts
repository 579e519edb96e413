/**
 * Host readings for Triton's nv_cpu_* gauges and the event-loop delay gauge. CPU utilisation is
 * the busy share of all cores between two scrapes; the event-loop delay percentiles cover the
 * window since the previous scrape (the histogram is reset after each read).
 */
import { cpus, freemem, totalmem } from 'node:os';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Busy share of all cores (0..1) since the previous call. */
export class CpuUtilization {
  private last = cpuTimes();

  /** Utilisation since the previous read (0 when no time passed). */
  read(): number {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const idle = now.idle - this.last.idle;
    this.last = now;
    return total > 0 ? Math.min(1, Math.max(0, 1 - idle / total)) : 0;
  }
}

/** Host memory in bytes (free = what the kernel reports as available). */
export function hostMemory(): { total: number; used: number } {
  const total = totalmem();
  return { total, used: total - freemem() };
}

/** Sampling interval of the event-loop delay histogram, ms. */
const LOOP_RESOLUTION_MS = 10;

/**
 * The delay (s) in one histogram value (ns): monitorEventLoopDelay records the whole interval
 * between its timer's runs, resolution included, so an idle loop would otherwise read ~10 ms.
 */
export function loopDelaySeconds(intervalNs: number, resolutionMs = LOOP_RESOLUTION_MS): number {
  return Math.max(0, intervalNs / 1e9 - resolutionMs / 1e3);
}

/** Event-loop delay percentiles in seconds, per scrape window. */
export class EventLoopDelay {
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });

  constructor() {
    this.h.enable();
  }

  /** p50, p99 and max of the window since the previous read, then starts a new window. */
  read(): { p50: number; p99: number; max: number } {
    const h = this.h;
    const d = loopDelaySeconds;
    const r = h.count > 0 ? { p50: d(h.percentile(50)), p99: d(h.percentile(99)), max: d(h.max) } : undefined;
    h.reset();
    return r ?? { p50: 0, p99: 0, max: 0 };
  }

  /** Stops sampling. */
  stop(): void {
    this.h.disable();
  }
}
