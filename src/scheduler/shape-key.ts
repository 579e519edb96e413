import type { Job } from './types.js';

/**
 * The key under which requests may share a batch: every input's name, datatype and dims after the
 * batch dim, plus the set of requested outputs. Equal keys concatenate cleanly along dim 0; the
 * model then runs once for all of them and each request gets back exactly the outputs it asked for.
 */
export function shapeKeyOf(job: Pick<Job, 'inputs' | 'outputs'>): string {
  const inputs = job.inputs
    .map((t) => `${t.name}\u0001${t.datatype}\u0001${t.shape.slice(1).join(',')}`)
    .sort()
    .join('\u0002');
  const outputs = job.outputs === undefined ? '*' : [...new Set(job.outputs)].sort().join('\u0001');
  return `${inputs}\u0003${outputs}`;
}
