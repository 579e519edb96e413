/**
 * `optimize auto … --register NAME`: the chosen variant goes into the model registry in the same
 * step, with its measurements as metrics (speedup, accuracy loss, gzip size) and its lineage
 * (transform, parameters, and the parent: the registered version whose file is the optimized
 * original, found by sha256, or `--parent NAME:VERSION`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InferError } from '../../core/index.js';
import { checkVersionNumber } from '../../registry/names.js';
import type { Lineage } from '../../registry/types.js';
import { runWithRegistryAt } from '../registry/context.js';
import { onnxSignature } from '../registry/signature.js';

export interface RegisterVariant {
  /** Registry model name. */
  name: string;
  registry?: string;
  registryArtifacts?: string;
  /** `NAME:VERSION` of the parent, when not found by checksum. */
  parent?: string;
  /** The written variant: a model file, or the model file inside a new version directory. */
  written: string;
  /** It was written as a version directory (lineage.json and report.json beside it). */
  versionDir: boolean;
  /** The original the variant was made from. */
  originalPath: string;
  metrics: Record<string, number>;
  transform: string;
  parameters: Record<string, unknown>;
}

export async function registerVariant(v: RegisterVariant): Promise<void> {
  await runWithRegistryAt(
    { registry: v.registry, registryArtifacts: v.registryArtifacts },
    'optimize auto --register',
    async (r) => {
      const parentSha = createHash('sha256').update(readFileSync(v.originalPath)).digest('hex');
      const lineage: Lineage = { transform: v.transform, parameters: v.parameters };
      const parent = v.parent ? parseParent(v.parent) : await findBySha(r.service, v.name, parentSha);
      lineage.parent = parent ?? { uri: `file://${v.originalPath}`, sha256: parentSha };
      const record = await r.service.push(
        v.versionDir ? dirname(v.written) : v.written,
        { model: v.name, metrics: v.metrics, lineage, signatureOf: onnxSignature },
        r.actor,
      );
      const from = 'model' in lineage.parent ? ` (parent: version ${lineage.parent.version})` : '';
      console.log(
        `registered ${record.model} version ${record.version}${from}; validate it before promotion: infergate registry validate ${record.model} ${record.version} --data …`,
      );
    },
  );
}

function parseParent(text: string): { model: string; version: number } {
  const m = /^(.+):([0-9]+)$/.exec(text);
  if (!m) throw new InferError('IG_ERR_INVALID_ARG', `--parent '${text}' must be NAME:VERSION`);
  return { model: m[1] as string, version: checkVersionNumber(m[2] as string) };
}

async function findBySha(
  service: {
    showModel(m: string): Promise<{ versions: Array<{ version: number; files: Array<{ sha256: string }> }> }>;
  },
  model: string,
  sha256: string,
): Promise<{ model: string; version: number } | undefined> {
  try {
    const { versions } = await service.showModel(model);
    const hit = versions.find((ver) => ver.files.some((f) => f.sha256 === sha256));
    return hit && { model, version: hit.version };
  } catch (err) {
    if (err instanceof InferError && err.code === 'IG_ERR_NOT_FOUND') return undefined;
    throw err;
  }
}
