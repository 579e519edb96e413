/**
 * The pipeline's end: hands the validated job to the target version's scheduler and shapes the
 * answer. The call's deadline goes along in the scheduler's clock (the scheduler refuses a job
 * still queued when it passes, the backend a batch that would start after it).
 */
import { type Clock, copyTensor, type InferRequest, type InferResponse } from '../../core/index.js';
import type { SequenceFlags } from '../../scheduler/types.js';
import type { Hooks } from '../hooks.js';
import { shapeOutputs } from '../outputs.js';
import { type Dispatch, need } from '../pipeline.js';

export function schedule(hooks: Hooks, clock: Clock): Dispatch {
  return async (x) => {
    const { primary } = need(x.target, 'target', 'schedule');
    const { inputs, batchSize } = need(x.validated, 'validated', 'schedule');
    const { request, ctx } = x;
    // Inputs are transferred to the worker on submit: a hook that reads them gets a copy taken now.
    if (hooks.wantsTensors && hooks.tensorsFor(x)) x.inputsCopy = inputs.map(copyTensor);
    const now = clock.now();
    x.submittedAt = now;
    const d = x.deadline ?? ctx.deadline;
    const result = await primary.scheduler.submit({
      inputs,
      outputs: request.outputs?.map((o) => o.name),
      batchSize,
      priority: request.priority,
      timeoutUs: request.timeoutUs,
      deadline: d === Number.POSITIVE_INFINITY ? undefined : now + (d - clock.wallMs()),
      signal: ctx.signal,
      trace: ctx.trace,
      sequence: primary.spec.sequence ? sequenceFlags(request) : undefined,
      ctx,
    });
    x.result = result;
    hooks.run('queued', x);
    hooks.run('executed', x);
    const res: InferResponse = {
      model: primary.model,
      version: String(primary.version),
      outputs: shapeOutputs(primary.spec, request, result.outputs, batchSize),
    };
    if (request.id) res.id = request.id;
    return res;
  };
}

/**
 * The request's sequence_* parameters (the protocol layer checked their types); undefined without
 * a sequence_id, which the sequence scheduler refuses with Triton's text.
 */
function sequenceFlags(request: InferRequest): SequenceFlags | undefined {
  const p = request.parameters;
  const id = p['sequence_id'];
  if (id === undefined || typeof id === 'boolean') return undefined;
  return { id, start: p['sequence_start'] === true, end: p['sequence_end'] === true };
}
