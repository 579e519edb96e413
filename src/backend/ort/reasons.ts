/** Client-safe error texts: onnxruntime messages carry absolute paths, which must not reach clients. */
import { basename } from 'node:path';

const ABS_PATH = /(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}/g;

/** The message with absolute paths replaced by their file names and ORT's "Load model from X failed:" prefix dropped. */
export function cleanReason(message: string): string {
  const trimmed = message.replace(/^Load model from .*? failed:\s*/s, '').trim();
  return trimmed.replace(ABS_PATH, (p) => basename(p)).replace(/\s+/g, ' ');
}

// What marks an onnxruntime message as carrying internals: its C++ source files and lines
// (tensorprotoutils.cc:434, safeint.h:17), namespaces, allocator names and graph node names.
const INTERNALS =
  /\.(?:cc|cpp|cxx|h|hpp)\b(?::\d+)?|onnxruntime::|\bbfc_arena|\bSafeInt|\bnode\b[^:]*\bName\s*:|Status Message:/i;

/**
 * What a client is told about an execution that onnxruntime refused: ORT's own text when it is a
 * plain statement about the request (e.g. invalid dimensions for an input), else a generic text;
 * the full message goes to the server log with the call's request id.
 */
export function clientExecutionMessage(message: string): string {
  const clean = cleanReason(message);
  if (INTERNALS.test(clean) || clean.length > 300)
    return 'onnxruntime failed to run the model on this request; the server log has the details under its request id';
  return `onnxruntime execution failed: ${clean}`;
}

/** Message text of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
