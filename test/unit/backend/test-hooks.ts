// The worker test hooks' inputs (src/backend/ort/hooks.ts) and a wait for an instance event,
// shared by the ORT backend's tests.
import type { InstanceEvent } from '../../../src/backend/types.js';
import type { Tensor } from '../../../src/core/index.js';

export const sleepInput = (ms: number): Tensor => ({
  name: '__test_sleep_ms__',
  datatype: 'INT32',
  shape: [1],
  data: new Int32Array([ms]),
});
export const crashInput = (): Tensor => ({
  name: '__test_crash__',
  datatype: 'BOOL',
  shape: [1],
  data: new Uint8Array([1]),
});
export const hangInput = (): Tensor => ({
  name: '__test_hang__',
  datatype: 'BOOL',
  shape: [1],
  data: new Uint8Array([1]),
});

/** The first event of `type` the instance emitted, polled until `timeoutMs`. */
export function nextEvent(
  events: InstanceEvent[],
  type: InstanceEvent['type'],
  timeoutMs = 10_000,
): Promise<InstanceEvent> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      const e = events.find((ev) => ev.type === type);
      if (e) resolve(e);
      else if (Date.now() - start > timeoutMs) reject(new Error(`no ${type} event`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}
