/** Health, server/model metadata, model readiness, config and readiness and config endpoints (protocol.md §A.1–A.3). */
import { stringifyJson } from './json.js';
import { type Handler, jsonResult } from './types.js';

/** GET /v2/health/live: empty 200, or empty 400 when not live (Triton). */
export const live: Handler = (deps) => ({ status: deps.inference.live() ? 200 : 400 });

/**
 * GET /v2/health/ready: empty 200, or empty 503 when not ready (starting, a startup model not READY,
 * draining). Triton answers 400; load balancers and Kubernetes read 503 as "not now, retry" and
 * Triton's clients only compare with 200.
 */
export const ready: Handler = (deps) => ({ status: deps.inference.ready() ? 200 : 503 });

/** GET /v2: server metadata. */
export const serverMetadata: Handler = (deps) => jsonResult(stringifyJson(deps.inference.serverMetadata()));

/** GET /v2/models/{m}[/versions/{v}]/ready: empty 200, 400 when not ready, 404 (thrown) when unknown. */
export const modelReady: Handler = (deps, { params }) =>
  deps.inference.modelReady(params.model as string, params.version)
    ? { status: 200 }
    : jsonResult('{"error":"Model version not ready"}', 400);

/** GET /v2/models/{m}[/versions/{v}]: model metadata. */
export const modelMetadata: Handler = (deps, { params }) =>
  jsonResult(stringifyJson(deps.inference.modelMetadata(params.model as string, params.version)));

/** GET /v2/models/{m}[/versions/{v}]/config: the model configuration as JSON. */
export const modelConfig: Handler = (deps, { params }) =>
  jsonResult(stringifyJson(deps.inference.modelConfig(params.model as string, params.version)));
