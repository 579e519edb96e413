/** Client-safe error texts: onnxruntime messages carry absolute paths, which must not reach clients. */
import { basename } from 'node:path';

const ABS_PATH = /(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}/g;

/** The message with absolute paths replaced by their file names and ORT's "Load model from X failed:" prefix dropped. */
export function cleanReason(message: string): string {
  const trimmed = message.replace(/^Load model from .*? failed:\s*/s, '').trim();
  return trimmed.replace(ABS_PATH, (p) => basename(p)).replace(/\s+/g, ' ');
}

/** Message text of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
