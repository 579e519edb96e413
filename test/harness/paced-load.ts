// Paced load with bounded concurrency: requests start on a fixed schedule (`rate` per second) over
// `concurrency` workers; when every worker is busy the schedule slips and the load turns closed-loop,
// so a slow system is measured rather than buried under an unbounded backlog. Each request is tagged
// with the phase it started in (what the test was doing), so a failure says when it happened.
import { ServerError } from '../../src/client/http-client.js';

export interface LoadSample {
  /** ms since the load started. */
  at: number;
  phase: string;
  ms: number;
}

export interface LoadFailure {
  at: number;
  phase: string;
  /** The HTTP status when one came back. */
  status?: number;
  error: string;
}

export interface PacedLoad {
  readonly samples: LoadSample[];
  readonly failures: LoadFailure[];
  /** Requests started so far. */
  started(): number;
  /** Requests that got an outcome (a sample or a failure): equal to started() once stopped. */
  answered(): number;
  /** Stops scheduling and resolves once every request in flight is answered. */
  stop(): Promise<void>;
}

/** `send` performs one request and throws on any failure (status or wrong answer). */
export function startPacedLoad(o: {
  rate: number;
  concurrency: number;
  phase: () => string;
  send: () => Promise<void>;
}): PacedLoad {
  const samples: LoadSample[] = [];
  const failures: LoadFailure[] = [];
  const t0 = performance.now();
  let slot = 0;
  let running = true;
  let started = 0;
  const worker = async () => {
    while (running) {
      const wait = t0 + (slot++ * 1000) / o.rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!running) return;
      const phase = o.phase();
      const start = performance.now();
      started++;
      try {
        await o.send();
        samples.push({ at: start - t0, phase, ms: performance.now() - start });
      } catch (err) {
        const status = err instanceof ServerError ? err.status : undefined;
        failures.push({ at: start - t0, phase, ...(status ? { status } : {}), error: String((err as Error).message) });
      }
    }
  };
  const workers = Array.from({ length: o.concurrency }, worker);
  return {
    samples,
    failures,
    started: () => started,
    answered: () => samples.length + failures.length,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}
