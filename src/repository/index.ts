// Model repository: discovery, control modes, per-version lifecycle.
export { isSafeModelName, parseRequestedVersion, parseVersionDir } from './names.js';
export { ModelRepository } from './repository.js';
export type * from './types.js';
