/**
 * GPU readings from `nvidia-smi` (Triton's nv_gpu_* gauges). The query output is parsed by a pure
 * function (tested on recorded output); the poller runs the tool off the scrape path, on an
 * interval, and stops for good when the tool is absent.
 */
import { execFile } from 'node:child_process';

/** The fields asked for, in this order. */
export const NVIDIA_SMI_QUERY = 'uuid,utilization.gpu,memory.used,memory.total,power.draw,power.limit';

/** One GPU's reading; undefined where the tool answered "[N/A]" or "[Not Supported]". */
export interface GpuReading {
  uuid: string;
  /** 0..1. */
  utilization: number | undefined;
  memoryUsedBytes: number | undefined;
  memoryTotalBytes: number | undefined;
  /** Watts. */
  powerWatts: number | undefined;
  powerLimitWatts: number | undefined;
}

const MIB = 1024 * 1024;

function num(field: string | undefined, scale: number): number | undefined {
  if (field === undefined) return undefined;
  const n = Number(field.trim());
  return field.trim() === '' || !Number.isFinite(n) ? undefined : n * scale;
}

/** Parses `nvidia-smi --query-gpu=<NVIDIA_SMI_QUERY> --format=csv,noheader,nounits` output. */
export function parseNvidiaSmi(text: string): GpuReading[] {
  const out: GpuReading[] = [];
  for (const line of text.split(/\r?\n/)) {
    const f = line.split(',').map((s) => s.trim());
    const uuid = f[0];
    // A row that does not start with a GPU uuid is an error message, not a reading.
    if (f.length < 6 || !uuid || !/^GPU-[0-9a-fA-F-]+$/.test(uuid)) continue;
    out.push({
      uuid,
      utilization: num(f[1], 0.01),
      memoryUsedBytes: num(f[2], MIB),
      memoryTotalBytes: num(f[3], MIB),
      powerWatts: num(f[4], 1),
      powerLimitWatts: num(f[5], 1),
    });
  }
  return out;
}

/** Keeps the latest GPU readings, refreshed every `intervalMs` while nvidia-smi works. */
export class GpuPoller {
  private latest: GpuReading[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly command = 'nvidia-smi',
  ) {}

  /** Starts polling; a missing tool (ENOENT) ends polling for good. */
  start(): void {
    this.poll();
  }

  /** The most recent readings (empty without GPUs). */
  readings(): readonly GpuReading[] {
    return this.latest;
  }

  /** Stops polling. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private poll(): void {
    const args = [`--query-gpu=${NVIDIA_SMI_QUERY}`, '--format=csv,noheader,nounits'];
    execFile(this.command, args, { timeout: 5_000 }, (err, stdout) => {
      if (this.stopped) return;
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.latest = err ? [] : parseNvidiaSmi(stdout);
      this.timer = setTimeout(() => this.poll(), this.intervalMs);
      this.timer.unref();
    });
  }
}
