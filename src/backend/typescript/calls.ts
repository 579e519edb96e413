/**
 * The event-loop side of a TypeScript model's `ctx.client.infer`: the worker's call becomes an
 * InferRequest for the server's ModelCaller (the router minus `admit`), in the context of the run
 * that made it; the answer goes back as wire tensors whose buffers are transferred.
 */
import { type CallContext, type InferRequest, type ModelCaller, toInferError } from '../../core/index.js';
import { tensorToWire, transferList, wireToTensor } from '../ort/wire.js';
import type { FromTsWorker, ToTsWorker } from './messages.js';

type CallMessage = Extract<FromTsWorker, { type: 'call' }>;

/** The answer to post to the worker, with the buffers to transfer. */
export interface CallAnswer {
  message: Extract<ToTsWorker, { type: 'call-result' | 'call-error' }>;
  transfer: ArrayBuffer[];
}

/**
 * Runs one call. `parent`: the context the call runs in, or undefined when the run that made it
 * has ended (given up at its deadline): such a call is refused, it would outlive its caller.
 * Never rejects: a failure is a 'call-error' answer with the server's code and client-safe text.
 */
export async function answerCall(
  caller: ModelCaller | undefined,
  m: CallMessage,
  parent: CallContext | undefined,
): Promise<CallAnswer> {
  const refuse = (code: Extract<CallAnswer['message'], { type: 'call-error' }>['code'], message: string) => ({
    message: { type: 'call-error' as const, cid: m.cid, code, message },
    transfer: [],
  });
  if (caller === undefined)
    return refuse('IG_ERR_UNAVAILABLE', `model '${m.model}' cannot be called: this backend has no model caller`);
  if (parent === undefined)
    return refuse('IG_ERR_CANCELLED', `the execution that called model '${m.model}' has already been given up`);
  try {
    const request: InferRequest = { model: m.model, inputs: m.inputs.map(wireToTensor), parameters: {} };
    if (m.version !== undefined) request.version = String(m.version);
    if (m.outputs !== undefined) request.outputs = m.outputs.map((name) => ({ name }));
    const response = await caller.infer(request, parent);
    const outputs = response.outputs.map(tensorToWire);
    return { message: { type: 'call-result', cid: m.cid, outputs }, transfer: transferList(outputs) };
  } catch (err) {
    const e = toInferError(err);
    return refuse(e.code, e.message);
  }
}
