/**
 * Counts, before protobuf-es decodes a ModelInferRequest, the repeated entries that would each
 * become an object: inputs, outputs, raw contents, parameters, `bytes_contents` elements and
 * unpacked numeric elements. Within the 64 MiB message limit, millions of 2-byte `bytes_contents`
 * entries would otherwise cost gigabytes and seconds before any of our checks ran. The walk reads
 * only tags and lengths (protowire/reader.ts) and allocates nothing.
 */
import { MAX_PARAMETERS } from '../common/index.js';
import { visitFields } from '../../protowire/reader.js';

/** Inputs, outputs or raw contents one request may list. No model has more. */
export const MAX_TENSORS = 1024;
/** Numeric elements sent unpacked (one tag each) per input; packed ones cost no object each. */
const MAX_UNPACKED = 1 << 20;

const BYTES_CONTENTS = 8;
const LEN = 2;

/** Why the message is refused, or undefined when its counts are within bounds. */
export function inferRequestOverLimits(buf: Uint8Array, maxBytesElements: number): string | undefined {
  const counts = { inputs: 0, outputs: 0, raw: 0, parameters: 0 };
  let reason: string | undefined;
  visitFields(buf, 0, buf.byteLength, (field, _wire, start, end) => {
    if (reason !== undefined) return;
    if (field === 4) counts.parameters++;
    else if (field === 6) counts.outputs++;
    else if (field === 7) counts.raw++;
    else if (field === 5) {
      counts.inputs++;
      reason = inputOverLimits(buf, start, end, counts.inputs, maxBytesElements);
    }
  });
  if (reason !== undefined) return reason;
  if (counts.parameters > MAX_PARAMETERS)
    return `the request has ${counts.parameters} parameters; at most ${MAX_PARAMETERS} are accepted`;
  for (const [what, n] of [
    ['inputs', counts.inputs],
    ['outputs', counts.outputs],
    ['raw_input_contents entries', counts.raw],
  ] as const)
    if (n > MAX_TENSORS) return `the request lists ${n} ${what}; at most ${MAX_TENSORS} are accepted`;
  return undefined;
}

function inputOverLimits(buf: Uint8Array, start: number, end: number, index: number, maxBytes: number) {
  let reason: string | undefined;
  let parameters = 0;
  visitFields(buf, start, end, (field, _wire, s, e) => {
    if (field === 4) parameters++;
    else if (field === 5) reason ??= contentsOverLimits(buf, s, e, index, maxBytes);
  });
  if (parameters > MAX_PARAMETERS)
    return `input #${index} has ${parameters} parameters; at most ${MAX_PARAMETERS} are accepted`;
  return reason;
}

function contentsOverLimits(buf: Uint8Array, start: number, end: number, index: number, maxBytes: number) {
  let bytes = 0;
  let unpacked = 0;
  visitFields(buf, start, end, (field, wire) => {
    if (field === BYTES_CONTENTS) bytes++;
    else if (wire !== LEN) unpacked++;
  });
  if (bytes > maxBytes)
    return `input #${index} has ${bytes} BYTES elements; at most ${maxBytes} are accepted per request (--max-bytes-elements)`;
  if (unpacked > MAX_UNPACKED)
    return `input #${index} sends ${unpacked} unpacked contents elements; at most ${MAX_UNPACKED} (send them packed or as raw_input_contents)`;
  return undefined;
}
