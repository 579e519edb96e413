/**
 * Push: a resolved source → staged, verified blobs → one registered version. The version row is
 * written only after every file is hashed, checked against what the source declared and committed
 * to the artifact store; any failure before that removes the staged files and registers nothing,
 * so no partial artifact ever becomes a version.
 */
import type { ArtifactStore, StagedFile } from './artifacts.js';
import type { ResolvedSource } from './sources/types.js';
import type { Actor, Lineage, RegistryStore, Signature, VersionRecord } from './types.js';

export interface PushOptions {
  model: string;
  version?: number;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  /** Merged over the source's lineage (the caller knows the parent version, say). */
  lineage?: Lineage;
  signature?: Signature;
  /**
   * Reads the IO signature from the staged model file (before anything is registered). The CLI
   * passes an ONNX reader; the server passes none (decoding a large model is not event-loop work).
   */
  signatureOf?: (modelFile: string) => Promise<Signature | undefined>;
  /** Largest single file accepted (default 8 GiB). */
  maxFileBytes?: number;
  /** Progress: bytes read so far of `total` (total 0 when the source does not declare sizes). */
  onProgress?: (done: number, total: number) => void;
}

const DEFAULT_MAX_FILE = 8 * 1024 ** 3;

export async function pushVersion(
  store: RegistryStore,
  artifacts: ArtifactStore,
  source: ResolvedSource,
  opts: PushOptions,
  actor: Actor,
): Promise<VersionRecord> {
  const total = source.files.reduce((n, f) => n + (f.size ?? 0), 0);
  let done = 0;
  const staged: StagedFile[] = [];
  try {
    for (const f of source.files) {
      staged.push(
        await artifacts.stage(f.path, await f.open(), {
          maxBytes: opts.maxFileBytes ?? DEFAULT_MAX_FILE,
          expected: { sha256: f.sha256, size: f.size },
          onBytes: (n) => {
            done += n;
            opts.onProgress?.(done, total);
          },
        }),
      );
    }
  } catch (err) {
    await artifacts.discard(staged);
    throw err;
  }
  let signature = opts.signature;
  const main = staged.find((f) => f.path.endsWith('.onnx'));
  if (signature === undefined && main && opts.signatureOf) {
    try {
      signature = await opts.signatureOf(main.temp);
    } catch (err) {
      await artifacts.discard(staged);
      throw err;
    }
  }
  const files = await artifacts.commit(staged);
  return store.registerVersion(
    {
      model: opts.model,
      version: opts.version,
      sourceUri: source.uri,
      format: source.format,
      signature,
      files,
      config: source.config,
      tags: { ...source.tags, ...opts.tags },
      metrics: { ...source.metrics, ...opts.metrics },
      lineage: { ...source.lineage, ...opts.lineage },
    },
    actor,
  );
}
