/**
 * Test-only hooks, documented here and enabled only when the environment has INFERGATE_TEST_HOOKS=1
 * (read once, when the backend creates a worker; the disabled path costs one boolean check).
 *
 * - `OrtInstance.crashForTest()` posts a `__crash__` message: the worker exits at once.
 * - An input named `__test_crash__` makes the worker exit while executing that request.
 * - An input named `__test_sleep_ms__` (any numeric datatype, first element) makes the worker
 *   block that long before running the request; the input is removed before ORT sees it.
 * - An input named `__test_hang__` (any numeric datatype, first element non-zero) makes the worker
 *   block forever inside a native blocking call (Atomics.wait without a timeout), as a wedged model
 *   would: only the watchdog (watchdog.ts) gets the instance back. The blocked thread never handles
 *   the 'stop' it is sent; it ends with the process (Node terminates it then, which is safe outside
 *   onnxruntime's calls). With a zero it is an ordinary feed: a model may declare it as a real
 *   input, so that requests through the router (which refuses undeclared inputs) can carry it.
 * - INFERGATE_TEST_SLEEP_MS: `<ms>` (every model) or `<model>=<ms>,<model>=<ms>` makes every
 *   execution of those models block that long in the worker: a "slow" model for other tests (its
 *   watchdog floor grows by as much, as a real slow model's configured floor would allow for it).
 * Without INFERGATE_TEST_HOOKS=1 none of this exists: `__crash__` is ignored, and such inputs reach
 * onnxruntime, which ignores feeds that are not model inputs.
 */
import type { WorkerHooks } from './messages.js';

/** True when test hooks are enabled in this process's environment. */
export function testHooksEnabled(): boolean {
  return process.env['INFERGATE_TEST_HOOKS'] === '1';
}

/** Hooks for a model's workers, or undefined when hooks are disabled. */
export function workerHooks(model: string): WorkerHooks | undefined {
  if (!testHooksEnabled()) return undefined;
  return { sleepMs: sleepMsFor(model, process.env['INFERGATE_TEST_SLEEP_MS'] ?? '') };
}

/** Parses INFERGATE_TEST_SLEEP_MS for one model (0 when it does not apply). */
export function sleepMsFor(model: string, setting: string): number {
  const s = setting.trim();
  if (s === '') return 0;
  if (/^\d+$/.test(s)) return Number(s);
  for (const part of s.split(',')) {
    const [name, ms] = part.split('=');
    if (name?.trim() === model && ms !== undefined && /^\s*\d+\s*$/.test(ms)) return Number(ms);
  }
  return 0;
}

export const CRASH_INPUT = '__test_crash__';
export const SLEEP_INPUT = '__test_sleep_ms__';
export const HANG_INPUT = '__test_hang__';
