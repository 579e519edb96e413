/**
 * BYTES inputs of a runtime that holds them as text (onnxruntime string tensors: each element is
 * handed over as a C string, so it ends at its first NUL, and held as a JS string, so bytes that
 * are not UTF-8 would change). Such an element is refused here, per request, before the call can
 * be batched with others: one client's bad element must fail that client's call only, not every
 * call batched with it. Two native scans per element (indexOf, isUtf8); at most
 * --max-bytes-elements (64 Ki by default) elements per input.
 */
import { isUtf8 } from 'node:buffer';
import { invalidArg } from '../core/index.js';

export function checkTextElements(model: string, input: string, elements: readonly Uint8Array[]): void {
  for (let i = 0; i < elements.length; i++) {
    const e = elements[i] as Uint8Array;
    if (e.indexOf(0) !== -1)
      throw invalidArg(
        `input '${input}' element ${i} contains a NUL byte, which model '${model}' cannot take: its runtime holds BYTES as text (onnxruntime string tensors end each string at its first NUL)`,
      );
    if (!isUtf8(e))
      throw invalidArg(
        `input '${input}' element ${i} is not valid UTF-8, which model '${model}' cannot take unchanged: its runtime holds BYTES as text (onnxruntime string tensors)`,
      );
  }
}
