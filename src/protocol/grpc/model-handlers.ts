/**
 * Health, metadata, config, statistics and unary inference rpcs (protocol.md C.1/C.2).
 * Each is a thin mapping onto InferenceService; errors propagate as InferErrors.
 */
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import type { Gatekeeper } from '../../auth/types.js';
import type { AdminService, InferenceService } from '../../router/types.js';
import { ModelConfigSchema } from '../../gen/model_config_pb.js';
import type { InferPath } from './infer-call.js';
import { encodeStatistics } from './statistics.js';
import type { InferenceImpl } from './types.js';

type ModelRpcs = Pick<
  InferenceImpl,
  | 'serverLive'
  | 'serverReady'
  | 'modelReady'
  | 'serverMetadata'
  | 'modelMetadata'
  | 'modelConfig'
  | 'modelStatistics'
  | 'modelInfer'
>;

// The protocol's empty string means "not given" (latest/policy version, all models).
function opt(s: string): string | undefined {
  return s === '' ? undefined : s;
}

function tensorMetadata(t: { name: string; datatype: string; shape: number[] }) {
  return { name: t.name, datatype: t.datatype, shape: t.shape.map((d) => BigInt(d)) };
}

/** Unary rpcs that only read the services (plus ModelInfer, through the shared inference path). */
export function modelHandlers(
  service: InferenceService,
  admin: AdminService,
  infer: InferPath,
  auth: Pick<Gatekeeper, 'visible'>,
): ModelRpcs {
  return {
    serverLive: () => ({ live: service.live() }),
    serverReady: () => ({ ready: service.ready() }),
    // Unknown model: the service throws NOT_FOUND (clients expect the rpc to fail, C.2).
    modelReady: (req) => ({ ready: service.modelReady(req.name, opt(req.version)) }),
    serverMetadata: () => service.serverMetadata(),
    modelMetadata: (req) => {
      const m = service.modelMetadata(req.name, opt(req.version));
      return {
        name: m.name,
        versions: m.versions,
        platform: m.platform,
        inputs: m.inputs.map(tensorMetadata),
        outputs: m.outputs.map(tensorMetadata),
      };
    },
    modelConfig: (req) => {
      const json = service.modelConfig(req.name, opt(req.version)) as JsonValue;
      // Unknown keys are tolerated: the service may add fields our proto does not carry.
      return { config: fromJson(ModelConfigSchema, json, { ignoreUnknownFields: true }) };
    },
    modelStatistics: (req, ctx) =>
      encodeStatistics(
        admin.modelStatistics(opt(req.name), opt(req.version)).filter((s) => auth.visible(ctx.principal, s.name)),
      ),
    modelInfer: async (req, call) => (await infer(req, call)).response,
  };
}
