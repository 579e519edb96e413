/**
 * The two students `optimize distill` trains (distilled, and the hard-label baseline beside it):
 * which one scores higher on the validation rows, and the verdict a report gives between them.
 */
import type { ModelProto } from '../../gen/onnx-ml_pb.js';
import type { ValidationSet } from '../data/validation-set.js';
import { compareOnSet } from '../measure/evaluate.js';
import { createSession } from '../measure/ort.js';
import type { OptimizeReport } from '../measure/report-types.js';

/** The report row names of the two students. */
export const DISTILLED_STUDENT = 'student (distilled)';
export const BASELINE_STUDENT = 'student (hard labels only)';

/** Which student scores higher against the teacher on `val` (top-1, else agreement, else lower error); ties go to the distilled one. */
export async function betterStudent(
  teacher: ModelProto,
  distilled: ModelProto,
  baseline: ModelProto,
  val: ValidationSet,
  threads: number,
): Promise<'distilled' | 'baseline'> {
  const t = await createSession(teacher, { threads });
  const score = async (m: ModelProto) => {
    const s = await createSession(m, { threads });
    const a = await compareOnSet(t, s, val);
    await s.release();
    return a.top1 ?? a.agreement ?? -a.meanAbsErr;
  };
  const [sd, sb] = [await score(distilled), await score(baseline)];
  await t.release();
  return sb > sd ? 'baseline' : 'distilled';
}

/** The distilled student against the baseline in a measured report. */
export interface StudentVerdict {
  /** What was compared: top-1 against labels, or agreement with the teacher without labels. */
  metric: 'top-1' | 'agreement with the teacher';
  distilled: number;
  baseline: number;
  /** The distilled student scored at least as high as the baseline. */
  won: boolean;
}

/** The verdict from a report holding both students' rows; undefined when either has no score. */
export function studentVerdict(report: OptimizeReport | undefined): StudentVerdict | undefined {
  const [d, b] = [DISTILLED_STUDENT, BASELINE_STUDENT].map((n) => report?.variants.find((v) => v.name === n));
  const score = (v: typeof d) => v?.accuracy?.top1 ?? v?.accuracy?.agreement;
  const [sd, sb] = [score(d), score(b)];
  if (sd === undefined || sb === undefined) return undefined;
  const metric = d?.accuracy?.top1 !== undefined ? 'top-1' : 'agreement with the teacher';
  return { metric, distilled: sd, baseline: sb, won: sd >= sb };
}
