/**
 * Model repository extension over gRPC (protocol.md B.3, C.2): index, load, unload.
 * Load parameters: `config` is a string_param (ModelConfig JSON), `file:<v>/<f>` a bytes_param
 * holding raw file bytes (not base64, unlike HTTP).
 */
import { InferError, invalidArg } from '../../core/index.js';
import type { ModelRepositoryParameter } from '../../gen/grpc_service_pb.js';
import type { Gatekeeper } from '../../auth/types.js';
import type { AdminService, LoadParams } from '../../router/types.js';
import type { InferenceImpl } from './types.js';

type RepositoryRpcs = Pick<InferenceImpl, 'repositoryIndex' | 'repositoryModelLoad' | 'repositoryModelUnload'>;

// Triton serves one logical repository and refuses to address others by name.
function rejectRepositoryName(name: string): void {
  if (name !== '') throw new InferError('IG_ERR_UNSUPPORTED', "'repository_name' specification is not supported");
}

/** LoadParams from the request's parameter map; unknown keys are ignored as Triton does. */
export function loadParams(map: Record<string, ModelRepositoryParameter>): LoadParams {
  const out: LoadParams = {};
  for (const [key, p] of Object.entries(map)) {
    const c = p.parameterChoice;
    if (key === 'config') {
      if (c.case !== 'stringParam')
        throw invalidArg("invalid value type for 'config' parameter, expected string_param");
      out.config = c.value;
    } else if (key.startsWith('file:')) {
      if (c.case !== 'bytesParam') throw invalidArg(`invalid value type for '${key}' parameter, expected bytes_param`);
      out.files ??= {};
      // A copy (the value is a Buffer view, whose slice() would not copy): the service may keep
      // the bytes, and they must not pin the whole received message.
      out.files[key.slice('file:'.length)] = new Uint8Array(c.value);
    }
  }
  return out;
}

/** The `unload_dependents` flag (bool_param, default false). */
export function unloadDependents(map: Record<string, ModelRepositoryParameter>): boolean {
  const p = map['unload_dependents'];
  if (p === undefined) return false;
  if (p.parameterChoice.case !== 'boolParam')
    throw invalidArg("invalid value type for 'unload_dependents' parameter, expected bool_param");
  return p.parameterChoice.value;
}

/** RepositoryIndex / RepositoryModelLoad / RepositoryModelUnload. */
export function repositoryHandlers(admin: AdminService, auth: Pick<Gatekeeper, 'visible'>): RepositoryRpcs {
  return {
    repositoryIndex: (req, ctx) => {
      rejectRepositoryName(req.repositoryName);
      const rows = admin.repositoryIndex(req.ready).filter((e) => auth.visible(ctx.principal, e.name));
      const models = rows.map((e) => ({
        name: e.name,
        version: e.version ?? '',
        state: e.state ?? '',
        reason: e.reason ?? '',
      }));
      return { models };
    },
    repositoryModelLoad: async (req) => {
      rejectRepositoryName(req.repositoryName);
      await admin.loadModel(req.modelName, loadParams(req.parameters));
      return {};
    },
    repositoryModelUnload: async (req) => {
      rejectRepositoryName(req.repositoryName);
      await admin.unloadModel(req.modelName, unloadDependents(req.parameters));
      return {};
    },
  };
}
