/**
 * The error measure of the sensitivity pass: mean absolute difference of the first output between
 * the float model and a quantized variant, relative to the mean |float output|, over calibration
 * rows. Unlike compareOnSet it feeds the model's other inputs from the calibration feeds, each
 * session carrying its own recurrent state, so stateful models (Silero VAD) can be ranked too.
 */
import type { InferenceSession } from '../measure/ort.js';
import { type CalibrationFeeds, FeedState } from '../calibrate/feeds.js';
import { rowsTensor } from '../measure/evaluate.js';
import type { ValidationSet } from '../data/validation-set.js';

/** Relative mean abs error of `variant` against `reference` on the rows, in batches of `batch`. */
export async function relativeOutputError(
  reference: InferenceSession,
  variant: InferenceSession,
  set: ValidationSet,
  feeds: CalibrationFeeds | undefined,
  batch = 8,
): Promise<number> {
  const [fa, fb] = [new FeedState(feeds), new FeedState(feeds)];
  const first = reference.outputNames[0]!;
  const fetchA = [...new Set([first, ...fa.carryOutputs])];
  const fetchB = [...new Set([variant.outputNames[0]!, ...fb.carryOutputs])];
  let diff = 0;
  let ref = 0;
  for (let start = 0; start < set.rows.length; start += batch) {
    const rows = set.rows.slice(start, start + batch);
    const x = { [set.input]: rowsTensor(set, rows) };
    const a = await reference.run({ ...fa.next(rows.length), ...x }, fetchA);
    const b = await variant.run({ ...fb.next(rows.length), ...x }, fetchB);
    fa.update(a);
    fb.update(b);
    const da = a[first]!.data as Float32Array;
    const db = b[variant.outputNames[0]!]!.data as Float32Array;
    for (let i = 0; i < da.length; i++) {
      diff += Math.abs(da[i]! - db[i]!);
      ref += Math.abs(da[i]!);
    }
  }
  return diff / Math.max(ref, 1e-12);
}
