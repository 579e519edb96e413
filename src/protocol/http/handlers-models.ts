/** Health, server/model metadata, model readiness, config and statistics endpoints (protocol.md §A.1–A.3, §B.4). */
import { stringifyJson } from './json.js';
import { type Handler, jsonResult } from './types.js';

/** GET /v2/health/live: empty 200, or empty 400 when not live (Triton). */
export const live: Handler = (deps) => ({ status: deps.service.live() ? 200 : 400 });

/** GET /v2/health/ready: empty 200, or empty 400 when not ready. */
export const ready: Handler = (deps) => ({ status: deps.service.ready() ? 200 : 400 });

/** GET /v2: server metadata. */
export const serverMetadata: Handler = (deps) => jsonResult(stringifyJson(deps.service.serverMetadata()));

/** GET /v2/models/{m}[/versions/{v}]/ready: empty 200, 400 when not ready, 404 (thrown) when unknown. */
export const modelReady: Handler = (deps, { params }) =>
  deps.service.modelReady(params.model as string, params.version)
    ? { status: 200 }
    : jsonResult('{"error":"Model version not ready"}', 400);

/** GET /v2/models/{m}[/versions/{v}]: model metadata. */
export const modelMetadata: Handler = (deps, { params }) =>
  jsonResult(stringifyJson(deps.service.modelMetadata(params.model as string, params.version)));

/** GET /v2/models/{m}[/versions/{v}]/config: the model configuration as JSON. */
export const modelConfig: Handler = (deps, { params }) =>
  jsonResult(stringifyJson(deps.service.modelConfig(params.model as string, params.version)));

/** GET /v2/models[/{m}[/versions/{v}]]/stats: `{"model_stats": [...]}` with bigint ns as integers. */
export const stats: Handler = (deps, { params }) =>
  jsonResult(stringifyJson({ model_stats: deps.service.modelStatistics(params.model, params.version) }));
