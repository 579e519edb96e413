import type { ModelVersionPolicy } from '../gen/model_config_pb.js';

/**
 * The versions a policy selects from those on disk, highest first (protocol.md D.3):
 * latest N (default 1), all, or specific (only those present on disk).
 */
export function selectVersions(policy: ModelVersionPolicy | undefined, available: readonly number[]): number[] {
  const sorted = [...new Set(available)].sort((a, b) => b - a);
  const choice = policy?.policyChoice;
  switch (choice?.case) {
    case 'all':
      return sorted;
    case 'specific': {
      const wanted = new Set(choice.value.versions.map((v) => Number(v)));
      return sorted.filter((v) => wanted.has(v));
    }
    case 'latest':
      return sorted.slice(0, Math.max(1, choice.value.numVersions));
    default:
      return sorted.slice(0, 1);
  }
}
