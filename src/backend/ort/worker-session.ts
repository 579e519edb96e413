/** Session creation inside a worker: file checks with clean reasons, execution-provider fallback. */
import { statSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { ModelIO } from '../../core/index.js';
import { fromOrtType } from '../../core/index.js';
import type { OrtSessionOptions } from './messages.js';
import { cleanReason, messageOf } from './reasons.js';

/** A load failure whose message is already client-safe. */
export class LoadFailure extends Error {}

/** The file's size; throws a LoadFailure when the path is not a readable, non-empty file. */
export function checkModelFile(path: string): number {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new LoadFailure('model path is not a file');
    size = st.size;
  } catch (err) {
    if (err instanceof LoadFailure) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new LoadFailure(code === 'ENOENT' ? 'model file not found' : `model file unreadable (${code ?? 'error'})`);
  }
  if (size === 0) throw new LoadFailure('model file is empty');
  return size;
}

/** Creates an ORT session from a path or from bytes; errors become LoadFailure with a path-free reason. */
async function create(
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  try {
    // Two calls, not one: the overloads take a path or a buffer, not the union.
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  } catch (err) {
    throw new LoadFailure(`onnxruntime could not load the model: ${cleanReason(messageOf(err))}`);
  }
}

/** A created session, the warnings its creation gave and the size of its model file. */
export interface CreatedSession {
  session: ort.InferenceSession;
  warnings: string[];
  fileBytes: number;
}

// onnxruntime resolves external data of a model loaded from bytes only inside this folder.
const EXTERNAL_DATA_FOLDER = 'session.model_external_initializers_file_folder_path';

/**
 * Creates the session with the requested execution providers; providers this build lacks, or that
 * fail to initialise, are dropped for 'cpu' with a warning (returned, for an instance event).
 * `model` is a path, or the bytes to load (`externalDataDir`: where their external data is).
 */
export async function createSession(
  model: string | Uint8Array,
  o: OrtSessionOptions,
  externalDataDir?: string,
): Promise<CreatedSession> {
  const fileBytes = typeof model === 'string' ? checkModelFile(model) : model.byteLength;
  if (fileBytes === 0) throw new LoadFailure('model file is empty');
  const warnings: string[] = [];
  const supported = new Set(ort.listSupportedBackends().map((b) => b.name));
  const usable = o.executionProviders.filter((ep) => supported.has(ep));
  const missing = o.executionProviders.filter((ep) => !supported.has(ep));
  if (missing.length > 0) warnings.push(`execution providers not available in this build: ${missing.join(', ')}`);
  if (usable.length === 0) usable.push('cpu');
  const extra: Record<string, unknown> = { ...o.extra };
  if (externalDataDir !== undefined) extra[EXTERNAL_DATA_FOLDER] = externalDataDir;
  const base = { ...o, extra };
  if (usable.length === 1 && usable[0] === 'cpu')
    return { session: await create(model, { ...base, executionProviders: usable }), warnings, fileBytes };
  try {
    return { session: await create(model, { ...base, executionProviders: usable }), warnings, fileBytes };
  } catch (err) {
    warnings.push(`execution providers ${usable.join(', ')} failed (${messageOf(err)}); falling back to cpu`);
    return { session: await create(model, { ...base, executionProviders: ['cpu'] }), warnings, fileBytes };
  }
}

/** The session's tensor signature; symbolic dims become -1. */
export function signatureOf(session: ort.InferenceSession): ModelIO {
  const io = (m: ort.InferenceSession.ValueMetadata) =>
    m.isTensor
      ? { name: m.name, datatype: fromOrtType(m.type), shape: m.shape.map((d) => (typeof d === 'number' ? d : -1)) }
      : { name: m.name, datatype: undefined, shape: [] };
  return { inputs: session.inputMetadata.map(io), outputs: session.outputMetadata.map(io) };
}
