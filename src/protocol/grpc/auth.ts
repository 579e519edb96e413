/**
 * Authentication and authorization of gRPC calls (auth/), the same decisions as HTTP's: the
 * principal comes from call metadata (`authorization: Bearer …`, `x-api-key`), the peer address
 * and, over mTLS, the client certificate; each rpc needs a scope (inference is authorized by the
 * router's admit stage). A stream is authenticated once, when it opens.
 */
import type { DescMethod } from '@bufbuild/protobuf';
import type { Metadata } from '@grpc/grpc-js';
import type { AuthContext } from '@grpc/grpc-js/build/src/auth-context.js';
import type { Gatekeeper, PeerCertificate } from '../../auth/types.js';
import { ANONYMOUS, type Principal, type Scope } from '../../core/index.js';

/** What the guard reads of a call (unary or stream). */
export interface GuardedCall {
  readonly metadata: Metadata;
  getPeer(): string;
  getAuthContext?(): AuthContext;
}

/** Decides a call's principal before its implementation runs; throws an InferError to refuse. */
export type CallGuard = (method: DescMethod, call: GuardedCall, request?: unknown) => Principal | Promise<Principal>;

type Rule = { scope: Scope | 'open'; model?: (req: Record<string, unknown>) => unknown };

const byName = (r: Record<string, unknown>) => r.name;
const byModelName = (r: Record<string, unknown>) => r.modelName;

const RULES: Record<string, Rule> = {
  'grpc.health.v1.Health.Check': { scope: 'open' },
  'grpc.health.v1.Health.Watch': { scope: 'open' },
  ServerLive: { scope: 'open' },
  ServerReady: { scope: 'open' },
  ServerMetadata: { scope: 'read' },
  ModelReady: { scope: 'read', model: byName },
  ModelMetadata: { scope: 'read', model: byName },
  ModelConfig: { scope: 'read', model: byName },
  ModelStatistics: { scope: 'read', model: byName },
  ModelInfer: { scope: 'infer' },
  ModelStreamInfer: { scope: 'infer' },
  RepositoryIndex: { scope: 'read' },
  RepositoryModelLoad: { scope: 'admin', model: byModelName },
  RepositoryModelUnload: { scope: 'admin', model: byModelName },
  SystemSharedMemoryStatus: { scope: 'read' },
  CudaSharedMemoryStatus: { scope: 'read' },
  SystemSharedMemoryRegister: { scope: 'admin' },
  SystemSharedMemoryUnregister: { scope: 'admin' },
  CudaSharedMemoryRegister: { scope: 'admin' },
  CudaSharedMemoryUnregister: { scope: 'admin' },
  TraceSetting: { scope: 'admin', model: byModelName },
  LogSettings: { scope: 'admin' },
};

function metaValue(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The address of grpc-js's `getPeer()`: `127.0.0.1:5000`, `::1:5000`, `::ffff:127.0.0.1:5000`
 * (remoteAddress:remotePort, unbracketed), or `ipv4:…` / `ipv6:[…]:port` in other versions.
 */
export function peerAddress(peer: string): string | undefined {
  const p = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(p);
  if (bracketed) return bracketed[1];
  const m = /^(.+):(\d+)$/.exec(p);
  return m ? m[1] : undefined;
}

function ruleOf(method: DescMethod): Rule | undefined {
  return RULES[`${method.parent.typeName}.${method.name}`] ?? RULES[method.name];
}

/** The scope an rpc needs (an rpc nobody classified is administration: safer than open). */
export function methodScope(method: DescMethod): Scope | 'open' {
  return ruleOf(method)?.scope ?? 'admin';
}

/** The model an rpc's request names, when its rule says where. */
export function methodModel(method: DescMethod, request: unknown): string | undefined {
  const rule = ruleOf(method);
  const m = request && rule?.model ? rule.model(request as Record<string, unknown>) : undefined;
  return typeof m === 'string' && m !== '' ? m : undefined;
}

export function callGuard(auth: Gatekeeper): CallGuard {
  return (method, call, request) => {
    const scope = methodScope(method);
    if (scope === 'open') return ANONYMOUS;
    const cert = call.getAuthContext?.()?.sslPeerCertificate as PeerCertificate | undefined;
    const headers = {
      authorization: metaValue(call.metadata, 'authorization'),
      'x-api-key': metaValue(call.metadata, 'x-api-key'),
    };
    const decide = (principal: Principal): Principal => {
      if (scope !== 'infer') auth.authorize(principal, scope, methodModel(method, request));
      return principal;
    };
    const p = auth.authenticate({ headers, remoteAddress: peerAddress(call.getPeer()), peerCertificate: cert });
    return p instanceof Promise ? p.then(decide) : decide(p);
  };
}
