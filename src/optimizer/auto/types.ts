/** What `optimize auto` builds and measures: a candidate with its lineage, and the options every builder reads. */
import type { ValidationSet } from '../data/validation-set.js';
import type { Candidate } from '../measure/compare.js';

/** A candidate plus what made it (for lineage). */
export interface AutoCandidate extends Candidate {
  transform: string;
  parameters: Record<string, unknown>;
}

export interface CandidateOptions {
  calib?: ValidationSet;
  val: ValidationSet;
  budget: number;
  reduceRange: boolean;
  baseDir?: string;
  threads?: number;
  /** Most nodes the mixed-precision int8 candidate may keep float (default 3; 0 = no such candidate). */
  mixedMaxFloat?: number;
  /** Include unstructured pruning (only worth it for size, i.e. the edge target). */
  unstructured?: boolean;
  sparsities?: number[];
  onProgress?: (stage: string, done: number, total: number) => void;
}
